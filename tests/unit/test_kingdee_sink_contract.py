"""The Kingdee sink passes the remote-sink contract against the K/3 Cloud simulator, and what it
posts reads back as K/3 Cloud keeps it: bills audited, linked to their order, the order's
reported, stocked-in and picked quantities moved; reversed exactly once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bridge.errors import PermanentError
from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from tests.contract.sink import RemoteSinkContract, delivery_of

from .feedback_support import OneShot
from .kingdee_support import kingdee_sink, report, simulator

FORMS = ("PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl")


def bills_of(sim: Any, report_id: str) -> dict[str, list[dict[str, Any]]]:
    return {form: [b for b in sim.bills(form) if b.get("FDescription") == f"MES:{report_id}"] for form in FORMS}


def mo_row(sim: Any, seq: int = 1) -> dict[str, Any]:
    [mo] = [b for b in sim.bills("PRD_MO") if b["FBillNo"] == "MO001001"]
    return next(r for r in mo["FTreeEntity"] if int(r["FSeq"]) == seq)


def picked(sim: Any) -> Decimal:
    [ppbom] = [b for b in sim.bills("PRD_PPBOM") if b.get("FMOEntrySeq") in (1, "1")]
    return Decimal(str(ppbom["FEntity"][0].get("FPickedQty") or 0))


class TestKingdeeSinkContract(RemoteSinkContract):
    @pytest.fixture(autouse=True)
    def _simulator(self) -> Any:
        self.sim = simulator().start()
        self.lose = OneShot()
        self.fail = OneShot()
        self.sim.faults.should_lose_reply = self.lose  # type: ignore[method-assign]
        self.sim.faults.should_fail = self.fail  # type: ignore[method-assign]
        yield
        self.sim.stop()

    def make_sink(self) -> Any:
        return kingdee_sink(self.sim)

    def event(self, report_id: str, order_id: str = "MO001001-1") -> dict[str, Any]:
        return report(report_id, order=order_id)

    def effects(self, sink: Any, envelope: dict[str, Any]) -> int:
        return sum(len(found) for found in bills_of(self.sim, envelope["payload"]["report_id"]).values())

    def lose_next_reply(self, sink: Any) -> None:
        self.lose.armed = True

    def fail_next_call(self, sink: Any) -> None:
        self.fail.armed = sink.client.not_sent_attempts  # an outage outlasting the client's own retries


@pytest.fixture
def sim() -> Any:
    with simulator() as simulated:
        yield simulated


@pytest.fixture
def stage(sim: Any, tmp_path: Any) -> Any:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    stage = RemoteDeliverStage("kingdee", "q.kingdee", kingdee_sink(sim), ledger)
    yield stage
    stage.close()
    ledger.close()


def test_a_report_makes_three_audited_bills_linked_to_its_order_row(sim: Any, stage: Any) -> None:
    assert stage.process([delivery_of(report("R-10"))])[0].note["decision"] == "applied"
    found = bills_of(sim, "R-10")
    assert [len(found[f]) for f in FORMS] == [1, 1, 1]
    assert {found[f][0]["FDocumentStatus"] for f in FORMS} == {"C"}
    [entry] = found["PRD_INSTOCK"][0]["FEntity"]
    assert entry["FMoBillNo"] == "MO001001"
    assert int(entry["FMoEntrySeq"]) == 1
    assert entry["FEntity_Link"][0]["FEntity_Link_FRuleId"] == "PRD_MO2INSTOCK"
    row = mo_row(sim)
    assert Decimal(str(row["FStockInQuaQty"])) == Decimal("30")
    assert Decimal(str(row["FRepQuaQty"])) == Decimal("30")
    assert picked(sim) == Decimal("75.25")  # exact, not 75.25000000000001
    assert Decimal(str(mo_row(sim, 2).get("FStockInQuaQty") or 0)) == 0  # the other row is untouched


def test_a_lost_audit_reply_resumes_from_the_bills_status(sim: Any, stage: Any) -> None:
    lose = OneShot()
    sim.faults.should_lose_reply = lose
    original_form = stage.sink.client.form

    def arm_before_audit(operation: str, form: str, data: Any, **kw: Any) -> Any:
        if operation == "Audit" and form == "PRD_MORPT":
            lose.armed = True
        return original_form(operation, form, data, **kw)

    stage.sink.client.form = arm_before_audit
    assert stage.process([delivery_of(report("R-11"))])[0].kind is OutcomeKind.RETRY
    stage.sink.client.form = original_form
    assert stage.process([delivery_of(report("R-11"), 2)])[0].kind is OutcomeKind.FORWARD
    found = bills_of(sim, "R-11")
    assert [len(found[f]) for f in FORMS] == [1, 1, 1]
    assert found["PRD_MORPT"][0]["FDocumentStatus"] == "C"
    assert Decimal(str(mo_row(sim)["FRepQuaQty"])) == Decimal("30")  # audited once


def test_an_audit_answered_msgcode_11_already_audited_counts_as_done(sim: Any, stage: Any) -> None:
    sink = stage.sink
    original_form = sink.client.form

    def audit_twice(operation: str, form: str, data: Any, **kw: Any) -> Any:
        if operation == "Audit":
            original_form(operation, form, data, **kw)  # audited behind the bridge's back
        return original_form(operation, form, data, **kw)

    sink.client.form = audit_twice
    assert stage.process([delivery_of(report("R-12"))])[0].note["decision"] == "applied"
    assert {b[0]["FDocumentStatus"] for b in bills_of(sim, "R-12").values()} == {"C"}


def test_a_reversed_report_unaudits_and_deletes_what_its_original_made_exactly_once(sim: Any, stage: Any) -> None:
    stage.process([delivery_of(report("R-13"))])
    assert Decimal(str(mo_row(sim)["FStockInQuaQty"])) == Decimal("30")
    reversal = report("R-13-X", event="reversed", reversal_of="R-13")
    assert stage.process([delivery_of(reversal, 2)])[0].note["decision"] == "applied"
    assert [len(v) for v in bills_of(sim, "R-13").values()] == [0, 0, 0]
    assert Decimal(str(mo_row(sim).get("FStockInQuaQty") or 0)) == 0
    assert picked(sim) == 0
    again = report("R-13-Y", event="reversed", reversal_of="R-13")  # a second reversal of the same report
    assert stage.process([delivery_of(again, 3)])[0].kind is OutcomeKind.FORWARD
    stage.process([delivery_of(report("R-14"), 4)])
    assert Decimal(str(mo_row(sim)["FStockInQuaQty"])) == Decimal("30")


def test_the_erps_refusal_is_permanent_and_carries_its_text(sim: Any, stage: Any) -> None:
    bad = report("R-15", produced=[{"material_id": "NO-SUCH", "lot_id": "L1", "quantity": {"value": "1", "unit": "Pcs"}}])
    [outcome] = stage.process([delivery_of(bad)])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert isinstance(outcome.error, PermanentError)
    assert "NO-SUCH" in str(outcome.error)


def test_an_order_id_that_is_not_a_kingdee_order_row_is_refused_by_name(sim: Any, stage: Any) -> None:
    [outcome] = stage.process([delivery_of(report("R-16", order="1000042"))])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert "<FBillNo>-<FSeq>" in str(outcome.error)
    [missing] = stage.process([delivery_of(report("R-17", order="MO999999-1"), 2)])
    assert missing.kind is OutcomeKind.DEAD_LETTER
    assert "no PRD_MO MO999999 with entry row 1" in str(missing.error)


def test_a_blocked_lot_is_forbidden_in_the_lot_master_and_released_enables_it(sim: Any, stage: Any) -> None:
    def lot_event(status: str, n: int) -> dict[str, Any]:
        return {"schema": "bridge.canonical/v1", "message_id": f"mes:LINE1:lot-{n}", "entity": "lot",
                "event": "status_changed", "version": f"2026120310000{n}", "occurred_at": "2026-12-03T10:00:00+08:00",
                "source": {"system": "mes", "document_type": "lot", "document_id": "B-4711"},
                "payload": {"lot_id": "B-4711", "material_id": "RM-200", "status": status}}

    assert stage.process([delivery_of(lot_event("blocked", 1))])[0].note["decision"] == "applied"
    assert [b["FForbidStatus"] for b in sim.bills("BD_BatchMainFile") if b["FNumber"] == "B-4711"] == ["B"]
    assert stage.process([delivery_of(lot_event("released", 2), 2)])[0].note["decision"] == "applied"
    assert [b["FForbidStatus"] for b in sim.bills("BD_BatchMainFile") if b["FNumber"] == "B-4711"] == ["A"]
    [restricted] = stage.process([delivery_of(lot_event("restricted", 3), 3)])
    assert restricted.kind is OutcomeKind.DEAD_LETTER
    assert "Forbid and Enable" in str(restricted.error)


def test_a_503_before_anything_ran_is_asked_again_at_once_not_posted_twice(sim: Any, stage: Any) -> None:
    fail = OneShot()
    sim.faults.should_fail = fail
    fail.armed = stage.sink.client.not_sent_attempts - 1  # the client's own retries ride it out
    assert stage.process([delivery_of(report("R-18"))])[0].note["decision"] == "applied"
    assert [len(v) for v in bills_of(sim, "R-18").values()] == [1, 1, 1]


def test_a_save_never_drops_lines_of_a_bill_it_did_not_send(sim: Any, stage: Any) -> None:
    sent: list[dict[str, Any]] = []
    original = stage.sink.client.form

    def spy(operation: str, form: str, data: Any, **kw: Any) -> Any:
        if operation == "Save":
            sent.append(data)
        return original(operation, form, data, **kw)

    stage.sink.client.form = spy
    stage.process([delivery_of(report("R-19"))])
    assert sent
    assert {d["IsDeleteEntry"] for d in sent} == {"false"}  # a Save never deletes entry rows it omits
    assert all("FID" not in d["Model"] for d in sent)  # and only ever creates: no bill is updated
