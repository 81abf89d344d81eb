"""The Yonyou sink passes the remote-sink contract against the YonBIP simulator, and what it
posts reads back as YonBIP keeps it: documents audited, linked to their order line, the line's
completed and stocked-in and the component's received quantities moved; success judged per row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from tests.contract.sink import RemoteSinkContract, delivery_of

from .feedback_support import OneShot
from .yonyou_support import ORDER, report, simulator, yonyou_sink

KINDS = ("finishedreport", "storeprorecord", "materialout")


def documents_of(sim: Any, report_id: str) -> dict[str, list[dict[str, Any]]]:
    return {kind: [d for d in sim.documents(kind) if d.get("out_sys_id") == f"MES:{report_id}"] for kind in KINDS}


def order_line(sim: Any, line_no: int = 10) -> dict[str, Any]:
    [order] = [o for o in sim.documents("productionorder") if o["code"] == ORDER]
    return next(line for line in order["orderProduct"] if int(line["lineNo"]) == line_no)


class TestYonyouSinkContract(RemoteSinkContract):
    @pytest.fixture(autouse=True)
    def _simulator(self) -> Any:
        self.sim = simulator().start()
        self.lose, self.fail = OneShot(), OneShot()
        self.sim.faults.should_lose_reply = self.lose  # type: ignore[method-assign]
        self.sim.faults.should_fail = self.fail  # type: ignore[method-assign]
        yield
        self.sim.stop()

    def make_sink(self) -> Any:
        return yonyou_sink(self.sim)

    def event(self, report_id: str, order_id: str = f"{ORDER}-10") -> dict[str, Any]:
        return report(report_id, order=order_id)

    def effects(self, sink: Any, envelope: dict[str, Any]) -> int:
        return sum(len(found) for found in documents_of(self.sim, envelope["payload"]["report_id"]).values())

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
    stage = RemoteDeliverStage("yonyou", "q.yonyou", yonyou_sink(sim), ledger)
    yield stage
    stage.close()
    ledger.close()


def test_a_report_makes_three_audited_documents_linked_to_its_order_line(sim: Any, stage: Any) -> None:
    [outcome] = stage.process([delivery_of(report("R-10"))])
    assert outcome.note.get("decision") == "applied", outcome.error
    found = documents_of(sim, "R-10")
    assert [len(found[k]) for k in KINDS] == [1, 1, 1]
    assert {str(found[k][0]["status"]) for k in KINDS} == {"1"}
    line = order_line(sim)
    assert Decimal(str(line["completedQuantity"])) == Decimal("30.5")
    assert Decimal(str(line["incomingQuantity"])) == Decimal("30")
    assert Decimal(str(line["orderMaterial"][0]["receivedQuantity"])) == Decimal("75.25")
    assert Decimal(str(order_line(sim, 20)["completedQuantity"])) == 0


def test_counts_that_contradict_the_rows_are_read_back_before_deciding(sim: Any, stage: Any) -> None:
    sim.contradict_counts = True  # the official sample: infos code 200, sucessCount 0, failCount 1
    assert stage.process([delivery_of(report("R-11"))])[0].note.get("decision") == "applied"
    assert [len(v) for v in documents_of(sim, "R-11").values()] == [1, 1, 1]


def test_a_row_that_truly_failed_is_permanent_and_names_the_row(sim: Any, stage: Any) -> None:
    bad = report("R-12", produced=[{"material_id": "NO-SUCH", "lot_id": "L1", "quantity": {"value": "1", "unit": "PCE"},
                                    "site": "PLANT1", "storage_location": "WH-FG"}])
    [outcome] = stage.process([delivery_of(bad)])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert "NO-SUCH" in str(outcome.error)


def test_a_lot_blocked_in_the_mes_stops_the_batch_number(sim: Any, stage: Any) -> None:
    def lot_event(status: str, n: int) -> dict[str, Any]:
        return {"schema": "bridge.canonical/v1", "message_id": f"mes:LINE1:lot-{n}", "entity": "lot",
                "event": "status_changed", "version": f"2026120310000{n}", "occurred_at": "2026-12-03T10:00:00+08:00",
                "source": {"system": "mes", "document_type": "lot", "document_id": "B-4711"},
                "payload": {"lot_id": "B-4711", "material_id": "RM-200", "status": status}}

    assert stage.process([delivery_of(lot_event("blocked", 1))])[0].note.get("decision") == "applied"
    assert [b["stopstatus"] for b in sim.documents("batchno") if b["batchno"] == "B-4711"] == [True]
    assert stage.process([delivery_of(lot_event("released", 2), 2)])[0].note.get("decision") == "applied"
    assert [b["stopstatus"] for b in sim.documents("batchno") if b["batchno"] == "B-4711"] == [False]


def test_a_reversal_is_refused_with_the_reason(sim: Any, stage: Any) -> None:
    [outcome] = stage.process([delivery_of(report("R-13", event="reversed", reversal_of="R-12"))])
    assert outcome.kind is OutcomeKind.DEAD_LETTER
    assert "no delete" in str(outcome.error)
