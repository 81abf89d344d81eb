"""The ready-made configurations in examples/ run as shipped: examples/sap-loop.yaml on the
in-memory broker against the SAP simulator closes the loop (SAP order in, MES report out)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from adapters.sap.simulator import SapSimulator
from bridge.broker.connector import StubConnector
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.runtime import Runtime
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
