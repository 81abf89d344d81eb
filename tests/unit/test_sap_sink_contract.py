"""The SAP sink passes the remote-sink contract against the SAP simulator, over SOAP with zeep,
and what it posts reads back through SAP's own read BAPIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.simulator import SapSimulator
from adapters.sap.sink import SapSink, make_sap_sink
from adapters.sap.soap_client import SapSoapClient
from adapters.sap.target import SapTargetSettings
from bridge.adapter.sink import SinkContext
from bridge.ledger import Ledger
from bridge.mapping.catalog import MappingCatalog
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.sinks.base import SinkEvent
from tests.contract.sink import RemoteSinkContract, delivery_of

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml"  # order 208277437, plant DM01
CATALOG = MappingCatalog.load(ROOT / "mappings")
ENV = {"SAP_USER": "BRIDGE", "SAP_PASSWORD": "s3cret"}


def report(report_id: str, *, order: str = "208277437", consumed_qty: str = "10", **changes: Any) -> dict[str, Any]:
    payload = {
        "report_id": report_id,
        "order_id": order,
        "operation_id": "10",
        "work_center": "WC01",
        "yield_quantity": {"value": "3", "unit": "ST"},
        "scrap_quantity": {"value": "0.5", "unit": "ST"},
        "final": False,
        "posting_date": "2026-12-03",
        "personnel_id": "00001234",
        "produced": [{"material_id": "S1SP02677", "lot_id": f"L-{report_id}"[:10], "quantity": {"value": "3", "unit": "ST"}, "site": "DM01"}],
        "consumed": [{"material_id": "R1CH01007", "lot_id": "B-4711", "quantity": {"value": consumed_qty, "unit": "ST"}, "site": "DM01"}],
        **changes,
    }
    return {
        "schema": "bridge.canonical/v1",
        "message_id": f"mes:LINE1:{report_id}:report",
        "entity": "report",
        "event": "created",
        "source": {"system": "mes", "instance": "LINE1", "document_type": "report", "document_id": report_id},
        "version": "20261203100000",
        "occurred_at": "2026-12-03T10:00:00+08:00",
        "payload": payload,
    }


def simulator(**options: Any) -> SapSimulator:
    return SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED], stock=["R1CH01007:DM01:B-4711=100000"], **options)


def sap_sink(sim: SapSimulator, **settings: Any) -> SapSink:
    target = SapTargetSettings(url=sim.url, **settings)
    return make_sap_sink(SinkContext("sap", target, catalog=CATALOG, extra={"env": ENV}))


class OneShot:
    """Makes a fault draw come out true once."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self) -> bool:
        hit, self.armed = self.armed, False
        return hit


class TestSapSinkContract(RemoteSinkContract):
    @pytest.fixture(autouse=True)
    def _simulator(self) -> Any:
        self.sim = simulator().start()
        self.lose, self.fail = OneShot(), OneShot()
        self.sim.faults.should_lose_reply = self.lose  # type: ignore[method-assign]
        self.sim.faults.should_fail = self.fail  # type: ignore[method-assign]
        yield
        self.sim.stop()

    def make_sink(self) -> SapSink:
        return sap_sink(self.sim)

    def event(self, report_id: str, order_id: str = "1001") -> dict[str, Any]:
        return report(report_id)

    def effects(self, sink: Any, envelope: dict[str, Any]) -> int:
        report_id = envelope["payload"]["report_id"]
        confirmations = [c for c in self.sim.state.confirmations() if c.ex_ident == report_id]
        documents = [d for d in self.sim.state.material_documents() if d.header_text.startswith(f"{report_id}/")]
        return len(confirmations) + len(documents)

    def lose_next_reply(self, sink: Any) -> None:
        self.lose.armed = True

    def fail_next_call(self, sink: Any) -> None:
        self.fail.armed = True


@pytest.fixture
def sim() -> Any:
    with simulator() as running:
        yield running


@pytest.fixture
def stage(tmp_path: Path, sim: SapSimulator) -> Any:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim), ledger)
    yield stage
    stage.close()
    ledger.close()


def reader(sim: SapSimulator) -> SapSoapClient:
    """Plain zeep calls, as reconciliation reads SAP."""
    return SapSoapClient(SapTargetSettings(url=sim.url), "BRIDGE", "s3cret")


def test_a_report_reads_back_through_the_read_bapis(stage: Any, sim: SapSimulator) -> None:
    assert stage.process([delivery_of(report("RPT-100"))])[0].note["decision"] == "applied"
    read = reader(sim)
    listed = read.call("BAPI_PRODORDCONF_GETLIST", {"ORDER_RANGE": [{"SIGN": "I", "OPTION": "EQ", "LOW": "000208277437"}]})
    [row] = [r for r in listed["CONFIRMATIONS"] if r["EX_IDENT"] == "RPT-100"]
    detail = read.call("BAPI_PRODORDCONF_GETDETAIL", {"CONFIRMATION": row["CONF_NO"], "CONFIRMATIONCOUNTER": row["CONF_CNT"]})
    assert str(detail["CONF_DETAIL"]["YIELD"]).startswith("3.0")
    assert str(detail["CONF_DETAIL"]["SCRAP"]).startswith("0.5")
    items = read.call("BAPI_GOODSMVT_GETITEMS", {
        "MATERIAL_RA": [{"SIGN": "I", "OPTION": "EQ", "LOW": "R1CH01007"}, {"SIGN": "I", "OPTION": "EQ", "LOW": "S1SP02677"}],
        "PSTNG_DATE_RA": [{"SIGN": "I", "OPTION": "EQ", "LOW": "2026-12-03"}],
    })
    texts = {h["MAT_DOC"]: h["HEADER_TXT"] for h in items["GOODSMVT_HEADER"]}
    moved = sorted((i["MOVE_TYPE"], i["MATERIAL"], i["BATCH"], texts[i["MAT_DOC"]]) for i in items["GOODSMVT_ITEMS"])
    assert moved == [("101", "S1SP02677", "L-RPT-100", "RPT-100/R"), ("261", "R1CH01007", "B-4711", "RPT-100/I")]
    acks = {c["operation"]: c["acknowledgement"]["documents"] for c in stage.calls.calls("sap")}
    assert acks["confirmation"] == [{"kind": "confirmation", "number": row["CONF_NO"], "counter": row["CONF_CNT"]}]
    assert {d["number"] for d in acks["receipt"] + acks["issue"]} == set(texts)


def test_backflush_is_suppressed_so_nothing_is_posted_twice(stage: Any, sim: SapSimulator) -> None:
    stage.process([delivery_of(report("RPT-101"))])
    assert [sorted(i.move_type for i in d.items) for d in sim.state.material_documents()] == [["101"], ["261"]]


def test_with_standard_backflush_sap_posts_the_order_s_own_movements(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim, backflush="standard"), ledger)
    try:
        stage.process([delivery_of(report("RPT-102", operation_id="20", produced=[], consumed=[]))])
    finally:
        stage.close()
        ledger.close()
    automatic = [d for d in sim.state.material_documents() if d.confirmation is not None]
    assert automatic, "the simulator models backflush: a confirmation without the link posts the order's movements"


def test_confirmation_mode_posts_one_call_and_records_its_material_documents(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim, goods_movements="confirmation"), ledger)
    try:
        stage.process([delivery_of(report("RPT-103"))])
        [call] = stage.calls.calls("sap")
    finally:
        stage.close()
        ledger.close()
    kinds = [d["kind"] for d in call["acknowledgement"]["documents"]]
    assert kinds == ["confirmation", "material_document"]
    [document] = sim.state.material_documents()
    assert sorted(i.move_type for i in document.items) == ["101", "261"]


def test_an_unknown_order_is_a_dead_letter_carrying_sap_s_message(stage: Any, sim: SapSimulator) -> None:
    [outcome] = stage.process([delivery_of(report("RPT-104", order="999999"))])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert "E ZSIM 001" in str(outcome.error)
    assert "000000999999" in str(outcome.error)
    assert sim.state.confirmations() == []


def test_a_stock_deficit_is_retried_then_dead_lettered(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim, deficit_retry_s=0.2), ledger)
    try:
        envelope = report("RPT-105", consumed_qty="999999")
        first = stage.process([delivery_of(envelope)])
        assert first[0].kind is OutcomeKind.RETRY
        assert "M7 021" in str(first[0].error)
        import time

        time.sleep(0.3)
        again = stage.process([delivery_of(envelope, 2)])
        assert again[0].kind is OutcomeKind.DEAD_LETTER
        assert "still failing after" in str(again[0].error)
    finally:
        stage.close()
        ledger.close()
    assert [d.header_text for d in sim.state.material_documents()] == ["RPT-105/R"]  # the receipt posted once


def test_a_lock_is_retried_and_posts_once_when_free(stage: Any, sim: SapSimulator) -> None:
    envelope = report("RPT-106")
    with sim.state.hold_order_lock("208277437"):
        first = stage.process([delivery_of(envelope)])
    assert first[0].kind is OutcomeKind.RETRY
    assert "lock" in str(first[0].error).lower()
    assert stage.process([delivery_of(envelope, 2)])[0].note["decision"] == "applied"
    assert len([c for c in sim.state.confirmations() if c.ex_ident == "RPT-106"]) == 1


def test_a_reversal_cancels_the_confirmation_and_its_movements_once(stage: Any, sim: SapSimulator) -> None:
    stage.process([delivery_of(report("RPT-107"))])
    reversal = report("RPT-108", reversal_of="RPT-107")
    reversal["event"] = "reversed"
    for tag in (2, 3):
        assert stage.process([delivery_of(reversal, tag)])[0].kind is OutcomeKind.FORWARD
    cancelled = [c for c in sim.state.confirmations() if c.reversed]
    assert len(cancelled) == 1
    reversals = [d for d in sim.state.material_documents() if d.reversal_of is not None]
    assert sorted(i.move_type for d in reversals for i in d.items) == ["102", "262"]


def test_wrong_credentials_are_a_configuration_error_and_the_report_waits(tmp_path: Path, sim: SapSimulator) -> None:
    target = SapTargetSettings(url=sim.url)
    sink = make_sap_sink(SinkContext("sap", target, catalog=CATALOG, extra={"env": {"SAP_USER": "BRIDGE", "SAP_PASSWORD": "wrong"}}))
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sink, ledger)
    try:
        [outcome] = stage.process([delivery_of(report("RPT-109"))])
    finally:
        stage.close()
        ledger.close()
    assert outcome.kind is OutcomeKind.RETRY  # nothing is lost while an operator fixes the password
    assert "HTTP 401 (configuration: SAP refused the credentials" in str(outcome.error)
    assert "wrong" not in str(outcome.error)


def test_a_value_sap_would_refuse_is_not_sent(stage: Any, sim: SapSimulator) -> None:
    [outcome] = stage.process([delivery_of(report("RPT-110", work_center="WORKCENTER-TOO-LONG"))])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert "TIMETICKETS[0].WORK_CNTR" in str(outcome.error)
    assert sim.state.confirmations() == []



def lot_event(status: str, version: str, **payload: Any) -> dict[str, Any]:
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:QC:B-4711:{version}:lot", "entity": "lot",
        "event": "status_changed", "source": {"system": "mes", "document_type": "quality_result", "document_id": version},
        "version": version, "occurred_at": "2026-12-03T10:00:00+08:00", "correlation_id": f"mes:QC:{version}",
        "payload": {"lot_id": "B-4711", "material_id": "R1CH01007", "site": "DM01", "status": status, **payload},
    }


def test_mes_quality_decisions_reach_sap_by_the_configured_mechanism(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    statuses = {"blocked": {"mechanism": "transfer", "move_type": "344"},
                "restricted": {"mechanism": "batch_status", "restricted": True}}
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim, lot_status=statuses), ledger)
    try:
        blocked = lot_event("blocked", "1", quantity={"value": "40", "unit": "ST"})
        for tag in (1, 2):  # delivered twice: posted once
            assert stage.process([delivery_of(blocked, tag)])[0].kind is OutcomeKind.FORWARD
        restricted = lot_event("restricted", "2")
        assert stage.process([delivery_of(restricted, 3)])[0].note["decision"] == "applied"
        unknown = stage.process([delivery_of(lot_event("scrapped", "3"), 4)])[0]
    finally:
        stage.close()
        ledger.close()
    transfers = [d for d in sim.state.material_documents() if any(i.move_type == "344" for i in d.items)]
    assert len(transfers) == 1
    assert [(i.batch, str(i.quantity)) for i in transfers[0].items if i.move_type == "344"] == [("B-4711", "40")]
    assert sim.state.stock_of("R1CH01007", "DM01", "B-4711", "B") == 40  # blocked stock
    assert sim.state.batches[("R1CH01007", "DM01", "B-4711")].get("RESTRICTED") == "X"
    assert unknown.kind is OutcomeKind.DEAD_LETTER
    assert "status 'scrapped' has no SAP mechanism configured" in str(unknown.error)


def test_idoc_mode_posts_the_movements_as_mbgmcr_idocs_once_per_arckey(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'l.sqlite'}")
    sink = sap_sink(sim, goods_movements="idoc", idoc={"receiver_partner": "S4HCLNT100"})
    stage = RemoteDeliverStage("sap", "q.sap", sink, ledger)
    try:
        envelope = report("RPT-120")
        assert stage.process([delivery_of(envelope)])[0].note["decision"] == "applied"
        # the issue's IDoc sent again with the same ARCKEY (a re-send after a lost reply): SAP drops it
        event = SinkEvent(json.dumps(envelope).encode(), "report", "created", envelope["message_id"])
        [issue] = [c for c in sink.plan(event, stage.context) if c.operation == "issue"]
        sink.send(issue, {})
    finally:
        stage.close()
        ledger.close()
    idocs = [r for r in sim.state.inbound_idocs if r["message_type"] == "MBGMCR"]
    assert len(idocs) == 2
    assert {r["status"] for r in idocs} == {"53"}
    assert all(r["arckey"].startswith("urn:sap.com:msgid=") for r in idocs)
    assert sorted(d.header_text for d in sim.state.material_documents()) == ["RPT-120/I", "RPT-120/R"]
    assert [c.ex_ident for c in sim.state.confirmations()] == ["RPT-120"]


def test_a_reversal_whose_reply_was_lost_is_found_not_cancelled_twice(stage: Any, sim: SapSimulator) -> None:
    stage.process([delivery_of(report("RPT-130"))])
    reversal = report("RPT-131", reversal_of="RPT-130")
    reversal["event"] = "reversed"
    for kind in ("issue", "receipt", "confirmation"):  # each cancellation's reply lost once
        lose = OneShot()
        lose.armed = True
        sim.faults.should_lose_reply = lose  # type: ignore[method-assign]
        assert stage.process([delivery_of(reversal, 2)])[0].kind is OutcomeKind.RETRY, kind
    sim.faults.should_lose_reply = lambda: False  # type: ignore[method-assign]
    assert stage.process([delivery_of(reversal, 3)])[0].kind is OutcomeKind.FORWARD
    reversals = [d for d in sim.state.material_documents() if d.reversal_of is not None]
    assert sorted(i.move_type for d in reversals for i in d.items) == ["102", "262"]
    assert len([c for c in sim.state.confirmations() if c.reversal_of]) == 1  # one cancellation record
    found = [c for c in stage.calls.calls("sap") if c["call_key"].startswith("RPT-130/cancel")]
    assert all(c["acknowledgement"]["found_by_lookup"] for c in found), found
