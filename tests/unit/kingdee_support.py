"""What the Kingdee sink and loop tests share: the simulator with the test seed, canonical
reports, a sink on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.kingdee.simulator import KingdeeSimulator
from adapters.kingdee.sink import KingdeeSink, make_kingdee_sink
from adapters.kingdee.target import KingdeeTargetSettings
from bridge.adapter.sink import SinkContext
from bridge.mapping.catalog import MappingCatalog

from .feedback_support import report_envelope

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests/data/kingdee/seed.json"
CATALOG = MappingCatalog.load(ROOT / "mappings")
ACCT, USER = "65f0a1b2c3d4e5", "mes_bridge"
APP_ID, APP_SECRET = "300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u", "0123456789abcdef0123456789abcdef"
ENV = {"KINGDEE_APP_SECRET": APP_SECRET}


def simulator(**options: Any) -> KingdeeSimulator:
    from adapters.kingdee.simulator.seeding import load_seed_file

    sim = KingdeeSimulator(acct_id=ACCT, user=USER, app_id=APP_ID, app_secret=APP_SECRET, **options)
    load_seed_file(sim, SEED)
    return sim


def kingdee_sink(sim: KingdeeSimulator, **settings: Any) -> KingdeeSink:
    target = KingdeeTargetSettings(url=sim.url, acct_id=ACCT, user=USER, app_id=APP_ID, **settings)
    return make_kingdee_sink(SinkContext("kingdee", target, catalog=CATALOG, extra={"env": ENV}))


def report(report_id: str, *, order: str = "MO001001-1", event: str = "created", **changes: Any) -> dict[str, Any]:
    payload = {
        "report_id": report_id,
        "order_id": order,
        "yield_quantity": {"value": "30", "unit": "Pcs"},
        "scrap_quantity": {"value": "0.5", "unit": "Pcs"},
        "final": False,
        "posting_date": "2026-12-03",
        "finished_at": "2026-12-03T10:00:00+08:00",
        "produced": [{"material_id": "FG-100", "lot_id": f"L-{report_id}"[:20], "quantity": {"value": "30", "unit": "Pcs"},
                      "site": "100", "storage_location": "FG01"}],
        "consumed": [{"material_id": "RM-200", "lot_id": "B-4711", "quantity": {"value": "75.25", "unit": "kg"},
                      "site": "100", "storage_location": "RM01"}],
        **changes,
    }
    return report_envelope(report_id, payload, event)

