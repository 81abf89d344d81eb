"""What the Yonyou sink and loop tests share: the simulator with the test seed, canonical
reports, a sink on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.yonyou.simulator import YonyouSimulator
from adapters.yonyou.simulator.seeds import load_seed
from adapters.yonyou.sink import YonyouSink, make_yonyou_sink
from adapters.yonyou.target import YonyouTargetSettings
from bridge.adapter.sink import SinkContext
from bridge.mapping.catalog import MappingCatalog

from .feedback_support import report_envelope

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests/data/yonyou/seed.json"
CATALOG = MappingCatalog.load(ROOT / "mappings")
APP_KEY, APP_SECRET, TENANT = "41832a3d2df94989b500da6a22268747", "yonyou-test-secret", "tnt0001"
ENV = {"YONYOU_APP_KEY": APP_KEY, "YONYOU_APP_SECRET": APP_SECRET}
ORDER = "SCDD20261201000001"


def simulator(**options: Any) -> YonyouSimulator:
    sim = YonyouSimulator(app_key=APP_KEY, app_secret=APP_SECRET, tenant_id=TENANT, **options)
    load_seed(sim, SEED)
    return sim


def yonyou_sink(sim: YonyouSimulator, **settings: Any) -> YonyouSink:
    target = YonyouTargetSettings(url=sim.url, tenant_id=TENANT, **{"warehouse": "WH-FG", **settings})
    return make_yonyou_sink(SinkContext("yonyou", target, catalog=CATALOG, extra={"env": ENV}))


def report(report_id: str, *, order: str = f"{ORDER}-10", event: str = "created", **changes: Any) -> dict[str, Any]:
    payload = {
        "report_id": report_id,
        "order_id": order,
        "yield_quantity": {"value": "30", "unit": "PCE"},
        "scrap_quantity": {"value": "0.5", "unit": "PCE"},
        "final": False,
        "posting_date": "2026-12-03",
        "finished_at": "2026-12-03T10:00:00+08:00",
        "produced": [{"material_id": "FG-100", "lot_id": f"L-{report_id}"[:20], "quantity": {"value": "30", "unit": "PCE"},
                      "site": "PLANT1", "storage_location": "WH-FG"}],
        "consumed": [{"material_id": "RM-200", "lot_id": "B-4711", "quantity": {"value": "75.25", "unit": "KGM"},
                      "site": "PLANT1", "storage_location": "WH-RM"}],
        **changes,
    }
    return report_envelope(report_id, payload, event)
