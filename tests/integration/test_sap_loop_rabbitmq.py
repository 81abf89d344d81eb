"""The closed loop with SAP end to end on the real RabbitMQ, against the SAP simulator.

SAP pushes a LOIPRO05 IDoc to the bridge's receiver -> an order on the MES exchange; the MES
publishes reports on mes.feedback -> confirmations and goods movements in SAP, read back with
zeep through the read BAPIs; with SAP failing 30 % of its calls, losing replies after posting
and the bridge SIGKILLed midway, every report is still posted exactly once; a business error is
a dead letter carrying SAP's message; the file port takes good, duplicate and corrupt files.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.simulator import SapSimulator
from adapters.sap.soap_client import SapSoapClient
from adapters.sap.target import SapTargetSettings
from bridge.config import Settings
from bridge.runtime import Runtime, names_for
from bridge.simulation.faults import FaultSettings
from tests.polling import free_port

from .harness import (
    AMQP_URL,
    CASES,
    MAPPINGS,
    MesTap,
    bridge_topology,
    browse,
    publish_as_the_mes,
    unique_prefix,
    wait_for,
    write_config,
)
from .test_fault_tolerance import make_documents, start_bridge, stop_bridge

pytestmark = pytest.mark.integration

SEED = CASES / "LOIPRO05_DMC_nonSAP_ERP.xml"  # order 208277437, plant DM01, operations 0009-0020
SAP_ENV = {"SAP_USER": "BRIDGE", "SAP_PASSWORD": "sap-secret", "SAP_INBOUND_USER": "SAPPORT", "SAP_INBOUND_PASSWORD": "port-secret", "MES_FEEDBACK_TOKEN": "mes-token"}



def loop_settings(
    tmp_path: Path, sap_url: str, *, file_port: Path | None = None, tiers: tuple[str, ...] = ("1s", "2s"),
    attempts: int = 2, **route: Any,
) -> Settings:
    prefix = unique_prefix()
    sources: dict[str, Any] = {
        "sap": {"timezone": "Asia/Shanghai", "receiver": {"enabled": True}},
        "mes": {"timezone": "Asia/Shanghai"},
    }
    if file_port is not None:
        sources["sap"]["file_port"] = {"directory": str(file_port), "poll_s": 0.2, "min_age_s": 0}
    return Settings.model_validate({
        "amqp_url": AMQP_URL,
        "database_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "http_port": free_port(),
        "mappings_dir": str(MAPPINGS),
        "http_host": "127.0.0.1",
        "log_format": "text",
        "broker": {
            "prefix": prefix, "mes_exchange": f"{prefix}.mes.events", "feedback_exchange": f"{prefix}.mes.feedback",
            "retry_tiers": list(tiers), "delivery_limit": 50, "batch_wait_ms": 5, "in_process_attempts": attempts,
            "confirm_timeout_s": 10, "reconnect_max_wait_s": 2, "heartbeat_s": 10,
        },
        "sources": sources,
        "routes": [
            {"name": "mes", "sink": "mes", "events": ["order.*", "material.*", "lot.created"]},
            {"name": "sap", "sink": "sap", "events": ["report.*"], "url": sap_url, "timeout_s": 5, **route},
        ],
    })


@contextmanager
def bridge(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(settings, roles=("ingest", "translate", "deliver"))
    runtime.start(serve_http=True, connect_wait=10)
    try:
        yield runtime
    finally:
        runtime.stop(timeout=20)


def report(report_id: str, order: str = "208277437", **changes: Any) -> dict[str, Any]:
    payload = {
        "report_id": report_id, "order_id": order, "operation_id": "10", "work_center": "WC01",
        "yield_quantity": {"value": "2", "unit": "ST"}, "scrap_quantity": {"value": "0", "unit": "ST"},
        "final": False, "posting_date": time.strftime("%Y-%m-%d"),
        "produced": [{"material_id": "S1SP02677", "lot_id": f"L{report_id[-8:]}", "quantity": {"value": "2", "unit": "ST"}, "site": "DM01"}],
        "consumed": [{"material_id": "R1CH01007", "lot_id": "B-4711", "quantity": {"value": "1.5", "unit": "ST"}, "site": "DM01"}],
        **changes,
    }
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:LINE1:{report_id}:report", "entity": "report",
        "event": "created", "source": {"system": "mes", "instance": "LINE1", "document_type": "report", "document_id": report_id},
        "correlation_id": f"mes:LINE1:{report_id}", "version": "1", "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"), "payload": payload,
    }


def publish_reports(settings: Settings, reports: list[dict[str, Any]]) -> None:
    publish_as_the_mes(
        names_for(settings).feedback_exchange,
        [("report." + r["event"], json.dumps(r).encode()) for r in reports],
    )


@pytest.fixture
def sap_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SAP_ENV.items():
        monkeypatch.setenv(name, value)
    return SAP_ENV


def test_an_order_pushed_by_sap_reaches_the_mes_and_a_report_reaches_sap(rabbitmq, tmp_path, sap_env):
    sim = SapSimulator(user="BRIDGE", password="sap-secret", seeds=[SEED], stock=["R1CH01007:DM01:B-4711=100"])
    sim.start()
    try:
        settings = loop_settings(tmp_path, sim.url)
        with bridge_topology(settings):
            tap = MesTap(settings)
            tap.declare()
            try:
                with bridge(settings) as runtime:
                    assert runtime.health is not None
                    receiver = f"http://127.0.0.1:{runtime.health.port}/api/v1/sap/idoc"
                    pusher = SapSimulator(seeds=[SEED], push_to=receiver, push_user="SAPPORT", push_password="port-secret")
                    pusher.start()
                    try:
                        orders = wait_for(lambda: [e for _, e, key in tap.drain() if key == "order.released"], timeout=30)
                    finally:
                        pusher.stop()
                    assert [o["payload"]["order_id"] for o in orders] == ["208277437"]
                    assert orders[0]["payload"]["site"] == "DM01"

                    publish_reports(settings, [report("RPT-E2E-1")])
                    wait_for(lambda: len(sim.state.material_documents()) >= 2, timeout=30)
            finally:
                tap.delete()
        read = SapSoapClient(SapTargetSettings(url=sim.url), "BRIDGE", "sap-secret")  # plain zeep calls
        listed = read.call("BAPI_PRODORDCONF_GETLIST", {"ORDER_RANGE": [{"SIGN": "I", "OPTION": "EQ", "LOW": "000208277437"}]})
        assert [r["EX_IDENT"] for r in listed["CONFIRMATIONS"]] == ["RPT-E2E-1"]
        items = read.call("BAPI_GOODSMVT_GETITEMS", {"MOVE_TYPE_RA": [{"SIGN": "I", "OPTION": "BT", "LOW": "101", "HIGH": "261"}]})
        moved = sorted((i["MOVE_TYPE"], i["MATERIAL"], i["BATCH"]) for i in items["GOODSMVT_ITEMS"])
        assert moved == [("101", "S1SP02677", "LPT-E2E-1"), ("261", "R1CH01007", "B-4711")]
        assert {h["HEADER_TXT"] for h in items["GOODSMVT_HEADER"]} == {"RPT-E2E-1/R", "RPT-E2E-1/I"}
    finally:
        sim.stop()


@pytest.mark.parametrize("processes", [1, 2], ids=["one-deliver-process", "two-shard-processes"])
def test_with_failures_lost_replies_and_a_sigkill_every_report_posts_exactly_once(rabbitmq, tmp_path, sap_env, processes):
    orders = make_documents(tmp_path / "seeds", 10)  # orders 700000001 ... 700000010
    faults = FaultSettings(fail_rate=0.3, lose_reply_rate=0.3, seed=7)
    sim = SapSimulator(user="BRIDGE", password="sap-secret", seeds=orders, stock=["R1CH01007:DM01:B-4711=100000"], faults=faults)
    sim.start()
    try:
        # a SAP failing a third of its calls: a report takes several attempts, each settling what it can
        # with two shard processes, SIGKILL of the bridge leaves them to notice it and stop
        settings = loop_settings(tmp_path, sim.url, in_flight=8, tiers=tuple(f"{n}s" for n in range(1, 16)), attempts=6,
                                 processes=processes)
        config = write_config(settings, tmp_path / "bridge.yaml")
        reports = [report(f"RPT-K-{n:03d}", order=str(700000001 + n % 10)) for n in range(40)]
        with bridge_topology(settings):
            publish_reports(settings, reports)
            first = start_bridge(config, tmp_path / "bridge-1.log", "--no-http")
            try:
                wait_for(lambda: len(sim.state.confirmations()) >= 8, timeout=90, interval=0.05)
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            finally:
                if first.poll() is None:
                    first.kill()
            posted_at_kill = len(sim.state.confirmations())
            assert posted_at_kill < len(reports), "everything posted before the kill: publish more reports"
            second = start_bridge(config, tmp_path / "bridge-2.log", "--no-http")
            try:
                wait_for(lambda: len({c.ex_ident for c in sim.state.confirmations()}) >= len(reports), timeout=180, interval=0.2)
                wait_for(lambda: len(sim.state.material_documents()) >= 2 * len(reports), timeout=120, interval=0.2)
                time.sleep(2)  # anything still in flight would post now
            finally:
                assert stop_bridge(second) == 0, (tmp_path / "bridge-2.log").read_text()[-3000:]
    finally:
        sim.stop()
    confirmations = Counter(c.ex_ident for c in sim.state.confirmations())
    documents = Counter(d.header_text for d in sim.state.material_documents())
    expected = {r["payload"]["report_id"] for r in reports}
    assert set(confirmations) == expected
    assert set(confirmations.values()) == {1}, [k for k, v in confirmations.items() if v > 1]
    assert set(documents) == {f"{i}/{s}" for i in expected for s in "RI"}
    assert set(documents.values()) == {1}, [k for k, v in documents.items() if v > 1]
    log = (tmp_path / "bridge-1.log").read_text() + (tmp_path / "bridge-2.log").read_text()
    assert "sap-secret" not in log
    assert "dead-lettered" not in log


def test_a_business_error_is_a_dead_letter_carrying_sap_s_message(rabbitmq, tmp_path, sap_env):
    with SapSimulator(user="BRIDGE", password="sap-secret", seeds=[SEED]) as sim:
        settings = loop_settings(tmp_path, sim.url)
        names = names_for(settings)
        with bridge_topology(settings), bridge(settings):
            publish_reports(settings, [report("RPT-BAD-1", order="999999")])
            dead = wait_for(lambda: browse(names.dead_letter_queue(names.deliver_queue("sap"))), timeout=30)
        assert sim.state.confirmations() == []
    [(props, body)] = dead
    message = props.headers["x-bridge-error-message"]
    assert "E ZSIM 001" in message
    assert "000000999999" in message
    assert json.loads(body)["payload"]["report_id"] == "RPT-BAD-1"


def test_the_file_port_publishes_each_good_document_once_and_sets_the_corrupt_one_aside(rabbitmq, tmp_path, sap_env):
    port = tmp_path / "idoc-in"
    port.mkdir()
    with SapSimulator(user="BRIDGE", password="sap-secret", seeds=[SEED]) as sim:
        settings = loop_settings(tmp_path, sim.url, file_port=port)
        with bridge_topology(settings):
            tap = MesTap(settings)
            tap.declare()
            try:
                (port / "a-order.xml").write_bytes(SEED.read_bytes())
                (port / "b-material.xml").write_bytes((CASES / "MATMAS05_DMC_S1SP02677_finished.xml").read_bytes())
                (port / "c-same-order-again.xml").write_bytes(SEED.read_bytes())
                (port / "d-corrupt.xml").write_bytes(b"<LOIPRO05><IDOC BEGIN='1'><EDI_DC40>")
                with bridge(settings):
                    wait_for(lambda: len(list((port / "processed").glob("*"))) == 3, timeout=30)
                    wait_for(lambda: list((port / "error").glob("d-corrupt.xml")), timeout=30)
                    time.sleep(1)
                    events = tap.drain()
            finally:
                tap.delete()
    keys = sorted(key for _, _, key in events)
    assert keys == ["material.upserted", "order.released"], keys
    reason = (port / "error" / "d-corrupt.xml.reason.txt").read_text()
    assert "d-corrupt.xml" in reason or "XML" in reason
    assert not list((port / "processing").glob("*"))
