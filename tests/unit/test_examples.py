"""The ready-made configurations in examples/ run as shipped: examples/sap-loop.yaml on the
in-memory broker against the SAP simulator closes the loop (SAP order in, MES report out)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.sap.simulator import SapSimulator
from bridge.broker.connector import StubConnector
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.runtime import Runtime, topology_for
from tests.polling import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml"




@pytest.fixture
def loop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    port = free_port()
    env = {
        "SAP_USER": "BRIDGE", "SAP_PASSWORD": "sap-secret", "SAP_INBOUND_USER": "SAPPORT",
        "SAP_INBOUND_PASSWORD": "port-secret", "MES_FEEDBACK_TOKEN": "mes-token",
        "SAP_FILE_PORT_DIR": str(tmp_path / "file-port"), "BRIDGE_HTTP_PORT": str(port),
        "BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    }
    (tmp_path / "file-port").mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    return env


def test_sap_loop_yaml_closes_the_loop_as_shipped(loop_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with SapSimulator(user="BRIDGE", password="sap-secret", seeds=[SEED], stock=["R1CH01007:DM01:B-4711=100"]) as sim:
        monkeypatch.setenv("SAP_URL", sim.url)
        settings = load_settings(ROOT / "examples/sap-loop.yaml", env=dict(os.environ))
        assert [r.name for r in settings.routes] == ["mes", "sap"]
        broker = StubBroker()
        runtime = Runtime(settings, broker=StubConnector(broker))
        runtime.start(serve_http=True)
        try:
            broker.bind("mes-inbox", settings.broker.mes_exchange, "order.*")  # the MES's own queue
            bridge = f"http://127.0.0.1:{loop_env['BRIDGE_HTTP_PORT']}"
            idoc = httpx.post(f"{bridge}/api/v1/sap/idoc", content=SEED.read_bytes(), auth=("SAPPORT", "port-secret"),
                              headers={"Content-Type": "application/xml"}, timeout=10)
            assert idoc.status_code == 200, idoc.text
            [order] = wait_for(lambda: broker.messages("mes-inbox"))
            assert order.routing_key == "order.released"
            report = {
                "report_id": "WR-EX-1", "reported_at": "2026-12-03T14:31:07+08:00", "sender": "MES-EX",
                "order": "208277437", "operation": "0010", "operator": "1024", "machine": "CNC-07",
                "good": 3, "scrap": 0, "unit": "ST", "final": False,
                "start_time": f"{time.strftime('%Y-%m-%d')}T08:00:00+08:00",
                "end_time": f"{time.strftime('%Y-%m-%d')}T09:00:00+08:00",
                "produced_lot": {"material": "S1SP02677", "lot": "L-EX-1", "quantity": 3},
                "consumed_lots": [{"material": "R1CH01007", "lot": "B-4711", "quantity": "1.5", "unit": "CM"}],
            }
            refused = httpx.post(f"{bridge}/api/v1/feedback", json=report, timeout=10)
            assert refused.status_code == 401
            accepted = httpx.post(f"{bridge}/api/v1/feedback", json=report, timeout=10,
                                  headers={"Authorization": "Bearer mes-token"})
            assert accepted.status_code == 202, accepted.text
            wait_for(lambda: len(sim.state.material_documents()) >= 2)
        finally:
            runtime.stop(timeout=20)
    assert [c.ex_ident for c in sim.state.confirmations()] == ["WR-EX-1"]
    assert sorted(d.header_text for d in sim.state.material_documents()) == ["WR-EX-1/I", "WR-EX-1/R"]


def _loop(config: str, port: str, mes_report: dict, wait_until: Any) -> list[Any]:
    """Run an example on the in-memory broker: the orders the MES got, after posting ``mes_report``."""
    settings = load_settings(ROOT / config, env=dict(os.environ))
    broker = StubBroker()
    runtime = Runtime(settings, broker=StubConnector(broker))
    broker.declare(topology_for(settings))  # the MES's queue is bound before the poller runs
    broker.bind("mes-inbox", settings.broker.mes_exchange, "order.*")
    runtime.start(serve_http=True)
    try:
        orders = wait_for(lambda: len(broker.messages("mes-inbox")) >= 2 and broker.messages("mes-inbox"), timeout=30)
        accepted = httpx.post(f"http://127.0.0.1:{port}/api/v1/feedback", json=mes_report, timeout=10,
                              headers={"Authorization": "Bearer mes-token"})
        assert accepted.status_code == 202, accepted.text
        wait_for(wait_until, timeout=30)
    finally:
        runtime.stop(timeout=20)
    return orders


def _mes_report(report_id: str, order: str, produced: str, consumed: str) -> dict:
    today = time.strftime("%Y-%m-%d")
    return {
        "report_id": report_id, "reported_at": f"{today}T14:31:07+08:00", "sender": "MES-EX", "order": order,
        "operator": "1024", "good": 30, "scrap": 1, "unit": "Pcs", "final": False,
        "start_time": f"{today}T08:00:00+08:00", "end_time": f"{today}T09:00:00+08:00",
        "produced_lot": {"material": produced, "lot": f"L-{report_id}", "quantity": 30},
        "consumed_lots": [{"material": consumed, "lot": "B-4711", "quantity": "75.25", "unit": "kg"}],
    }


def test_kingdee_loop_yaml_closes_the_loop_as_shipped(loop_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.kingdee_support import ACCT, APP_ID, APP_SECRET, USER, simulator

    with simulator() as sim:
        for name, value in {"KINGDEE_URL": sim.url, "KINGDEE_ACCT_ID": ACCT, "KINGDEE_USER": USER,
                            "KINGDEE_APP_ID": APP_ID, "KINGDEE_APP_SECRET": APP_SECRET}.items():
            monkeypatch.setenv(name, value)

        def posted() -> bool:
            return all(any(b.get("FDescription") == "MES:WR-KD-1" and b["FDocumentStatus"] == "C" for b in sim.bills(f))
                       for f in ("PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl"))

        orders = _loop("examples/kingdee-loop.yaml", loop_env["BRIDGE_HTTP_PORT"],
                       _mes_report("WR-KD-1", "MO001001-1", "FG-100", "RM-200"), posted)
    assert sorted(json.loads(o.body)["payload"]["order_id"] for o in orders) == ["MO001001-1", "MO001001-2"]


def test_yonyou_loop_yaml_closes_the_loop_as_shipped(loop_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.yonyou_support import APP_KEY, APP_SECRET, ORDER, TENANT, simulator

    with simulator() as sim:
        for name, value in {"YONYOU_URL": sim.url, "YONYOU_TENANT_ID": TENANT, "YONYOU_APP_KEY": APP_KEY,
                            "YONYOU_APP_SECRET": APP_SECRET}.items():
            monkeypatch.setenv(name, value)

        def posted() -> bool:
            return all(any(d.get("out_sys_id") == "MES:WR-YY-1" and str(d["status"]) == "1" for d in sim.documents(k))
                       for k in ("finishedreport", "storeprorecord", "materialout"))

        orders = _loop("examples/yonyou-loop.yaml", loop_env["BRIDGE_HTTP_PORT"],
                       _mes_report("WR-YY-1", f"{ORDER}-10", "FG-100", "RM-200"), posted)
    assert sorted(json.loads(o.body)["payload"]["order_id"] for o in orders) == [f"{ORDER}-10", f"{ORDER}-20"]
