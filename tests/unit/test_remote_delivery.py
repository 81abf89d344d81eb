"""Remote delivery on the fake adapter: exactly one posting per call whatever fails, orders in
sequence, several orders at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bridge.adapter.sink import DocumentRef
from bridge.errors import PermanentError
from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage

from ..contract.sink import RemoteSinkContract, delivery_of
from ..fake.target import FakeSink, FakeTarget


def report(report_id: str, order_id: str = "1001", *, produced: bool = True) -> dict[str, Any]:
    return {
        "schema": "bridge.canonical/v1",
        "message_id": f"mes:report:{report_id}",
        "entity": "report",
        "event": "created",
        "source": {"system": "mes", "document_type": "canonical", "document_id": report_id},
        "version": "1",
        "occurred_at": "2026-12-02T08:00:00+08:00",
        "correlation_id": f"mes:{report_id}",
        "payload": {
            "report_id": report_id,
            "order_id": order_id,
            "yield_quantity": {"value": "5", "unit": "EA"},
            "produced": [{"material_id": "FG", "lot_id": "L1", "quantity": {"value": "5", "unit": "EA"}}]
            if produced
            else [],
        },
    }


class TestFakeSinkContract(RemoteSinkContract):
    def make_sink(self) -> FakeSink:
        return FakeSink(FakeTarget())

    def event(self, report_id: str, order_id: str = "1001") -> dict[str, Any]:
        return report(report_id, order_id)

    def effects(self, sink: FakeSink, envelope: dict[str, Any]) -> int:
        return sink.target.count(envelope["payload"]["report_id"] + ":")

    def lose_next_reply(self, sink: FakeSink) -> None:
        sink.target.lose_next = 1

    def fail_next_call(self, sink: FakeSink) -> None:
        sink.target.fail_next = 1


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield ledger
    ledger.close()


def test_a_half_delivered_report_is_completed_never_posted_whole_again(ledger):
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    target.lose_next = 0
    # the confirmation posts, then the receipt's reply is lost: the confirmation is settled
    original = target.post

    def post(operation, *args, **kwargs):
        if operation == "receipt":
            target.lose_next = 1
        return original(operation, *args, **kwargs)

    target.post = post  # type: ignore[method-assign]
    first = stage.process([delivery_of(report("R-9"))])
    assert first[0].kind is OutcomeKind.RETRY
    target.post = original  # type: ignore[method-assign]
    assert stage.process([delivery_of(report("R-9"), 2)])[0].note["decision"] == "applied"
    assert [p["operation"] for p in target.postings] == ["confirmation", "receipt"]
    assert target.lookups == 1  # only the call in doubt was looked up
    recorded = ledger.remote.calls("erp")
    assert [(c["call_key"], c["state"]) for c in recorded] == [("R-9/confirmation", "done"), ("R-9/receipt", "done")]
    assert recorded[1]["acknowledgement"]["found_by_lookup"] is True
    stage.close()


def test_a_refusal_is_a_dead_letter_and_blocks_only_its_own_orders_later_reports(ledger):
    target = FakeTarget(refuse_orders={"BAD"})
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    batch = [delivery_of(report("A", "BAD"), 1), delivery_of(report("B", "BAD"), 2), delivery_of(report("C", "OK"), 3)]
    outcomes = stage.process(batch)
    assert [o.kind for o in outcomes] == [OutcomeKind.DEAD_LETTER, OutcomeKind.RETRY, OutcomeKind.FORWARD]
    assert isinstance(outcomes[0].error, PermanentError)
    assert "not released" in str(outcomes[0].error)
    assert "earlier event of the same order" in str(outcomes[1].error)
    states = {c["call_key"]: c["state"] for c in ledger.remote.calls("erp")}
    assert states == {"A/confirmation": "failed", "C/confirmation": "done", "C/receipt": "done"}
    stage.close()


def test_orders_run_in_parallel_but_one_order_never_has_two_calls_at_once(ledger):
    target = FakeTarget()
    original = target.post

    def slow_post(*args, **kwargs):
        time.sleep(0.02)
        return original(*args, **kwargs)

    target.post = slow_post  # type: ignore[method-assign]
    sink = FakeSink(target, in_flight=8)
    stage = RemoteDeliverStage("erp", "q", sink, ledger)
    threads_seen: set[str] = set()
    original_send = sink.send

    def send(call, earlier):
        threads_seen.add(threading.current_thread().name)
        return original_send(call, earlier)

    sink.send = send  # type: ignore[method-assign]
    batch = [delivery_of(report(f"R{n}", f"O{n % 8}", produced=False), n + 1) for n in range(32)]
    outcomes = stage.process(batch)
    assert all(o.kind is OutcomeKind.FORWARD for o in outcomes)
    assert target.most_in_flight_per_order == 1
    assert len(threads_seen) > 1
    for order in {f"O{n}" for n in range(8)}:
        numbers = [p["ident"] for p in target.postings if p["order"] == order]
        assert numbers == sorted(numbers, key=lambda ident: int(ident[1:].split(":")[0]))  # arrival order
    stage.close()


def test_the_plant_comes_from_the_order_the_bridge_delivered(ledger):
    ledger.remote.remember_orders({"1001": ("sap:order:1001", {"site": "1000", "components": {}})})
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    stage.process([delivery_of(report("P-1", produced=False))])
    assert target.postings[0]["plant"] == "1000"
    stage.close()


def test_acknowledgements_are_kept_per_call(ledger):
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    stage.process([delivery_of(report("K-1"))])
    ack = ledger.remote.acknowledgement("erp", "K-1/receipt")
    assert ack is not None
    assert ack.documents == (DocumentRef("receipt", "0000000002"),)
    stage.close()


def test_a_route_with_sites_takes_only_its_plants_reports(ledger):
    ledger.remote.remember_orders(
        {"A": ("m1", {"site": "1000", "components": {}}), "B": ("m2", {"site": "2000", "components": {}})}
    )
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger, sites=("1000",))
    outcomes = stage.process(
        [delivery_of(report("S1", "A"), 1), delivery_of(report("S2", "B"), 2), delivery_of(report("S3", "C"), 3)]
    )
    assert [o.note["decision"] for o in outcomes] == ["applied", "other_site", "other_site"]
    assert [p["order"] for p in target.postings] == ["A", "A"]
    stage.close()


def test_a_call_the_target_answered_as_not_sent_is_sent_again_without_a_lookup(ledger):
    from bridge.errors import NotSentError

    target = FakeTarget()
    sink = FakeSink(target)
    stage = RemoteDeliverStage("erp", "q", sink, ledger)
    real_send = sink.send
    calls = {"n": 0}

    def locked_once(call, earlier):
        calls["n"] += 1
        if calls["n"] == 1:
            raise NotSentError("fake target: E order 1001 is locked by user BATCH01")
        return real_send(call, earlier)

    sink.send = locked_once  # type: ignore[method-assign]
    assert stage.process([delivery_of(report("R-NS"))])[0].kind is OutcomeKind.RETRY
    assert [c["state"] for c in ledger.remote.calls("erp")] == ["unsent"]
    assert stage.process([delivery_of(report("R-NS"), 2)])[0].note["decision"] == "applied"
    assert target.lookups == 0
    assert target.count("R-NS:") == 2
    stage.close()


def test_a_lookup_the_target_did_not_answer_leaves_the_call_in_doubt(ledger):
    from bridge.errors import NotSentError

    target = FakeTarget(lose_next=1)
    sink = FakeSink(target)
    stage = RemoteDeliverStage("erp", "q", sink, ledger)
    assert stage.process([delivery_of(report("R-LK"))])[0].kind is OutcomeKind.RETRY  # posted, reply lost
    real_lookup = sink.lookup

    def unavailable(call):
        raise NotSentError("fake target: 503 on the read")

    sink.lookup = unavailable  # type: ignore[method-assign]
    assert stage.process([delivery_of(report("R-LK"), 2)])[0].kind is OutcomeKind.RETRY
    assert ledger.remote.calls("erp")[0]["state"] == "in_doubt"  # not "unsent": it may have posted
    sink.lookup = real_lookup  # type: ignore[method-assign]
    assert stage.process([delivery_of(report("R-LK"), 3)])[0].note["decision"] == "applied"
    assert target.count("R-LK:C") == 1
    stage.close()


def _count_write_transactions(ledger: Ledger, monkeypatch: Any) -> list[str]:
    writes: list[str] = []
    real = ledger._transaction

    def counting(action: str, *, write: bool = False) -> Any:
        if write:
            writes.append(action)
        return real(action, write=write)

    monkeypatch.setattr(ledger, "_transaction", counting)
    return writes


def test_each_call_costs_one_ledger_transaction_the_next_attempt_recorded_with_the_settlement(ledger, monkeypatch):
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target, in_flight=4), ledger)
    writes = _count_write_transactions(ledger, monkeypatch)
    # 3 orders, 4 reports each, one call per report (nothing produced: no receipt)
    batch = [delivery_of(report(f"T{n}", f"O{n % 3}", produced=False), n + 1) for n in range(12)]
    outcomes = stage.process(batch)
    assert all(o.note["decision"] == "applied" for o in outcomes)
    # the groups' first attempts together, then one settlement per call (with the next
    # report's attempt in it), then the batch's journal
    assert len([w for w in writes if w.startswith("start ")]) == 1
    assert len([w for w in writes if w.startswith("settle ")]) == 12
    assert len(writes) == 1 + 12 + 1
    assert {c["state"] for c in ledger.remote.calls("erp")} == {"done"}
    stage.close()


def test_an_attempt_recorded_ahead_and_never_made_is_looked_up_and_then_made_once(ledger, monkeypatch):
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    first, second = report("AH-1", produced=False), report("AH-2", produced=False)
    real_send = stage.sink.send

    def killed_after_the_first(call, earlier):
        if call.key.startswith("AH-2"):
            raise SystemExit("killed")  # the process dies: nothing else is recorded
        return real_send(call, earlier)

    monkeypatch.setattr(stage.sink, "send", killed_after_the_first)
    monkeypatch.setattr(stage.maker, "unanswered", lambda *_args: None)  # a killed process records nothing
    with pytest.raises(SystemExit):
        stage.process([delivery_of(first, 1), delivery_of(second, 2)])
    states = {c["call_key"]: c["state"] for c in ledger.remote.calls("erp")}
    assert states == {"AH-1/confirmation": "done", "AH-2/confirmation": "in_flight"}  # recorded with AH-1's settlement
    monkeypatch.setattr(stage.sink, "send", real_send)
    stage.lease_s = 0  # the killed process's lease ran out
    outcomes = stage.process([delivery_of(first, 3), delivery_of(second, 4)])
    assert [o.kind for o in outcomes] == [OutcomeKind.FORWARD, OutcomeKind.FORWARD]
    assert target.lookups == 1  # the attempt in doubt was looked up, found nothing, then made
    assert target.count("AH-1:") == 1
    assert target.count("AH-2:") == 1
    stage.close()


def test_a_redelivered_event_delivered_before_is_not_held_up_by_a_later_event_s_hold(ledger):
    # a crash before the acks: the whole batch comes again, the delivered report ahead of the
    # report that holds the order; neither may wait for the other
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    first, second, third = (report(f"HD-{n}", produced=False) for n in (1, 2, 3))
    assert stage.process([delivery_of(first, 1)])[0].note["decision"] == "applied"
    target.fail_next = 1
    held = stage.process([delivery_of(second, 2), delivery_of(third, 3)])
    assert [o.kind for o in held] == [OutcomeKind.RETRY, OutcomeKind.RETRY]  # HD-2 holds the order
    again = stage.process([delivery_of(first, 4), delivery_of(second, 5), delivery_of(third, 6)])
    assert [o.kind for o in again] == [OutcomeKind.FORWARD] * 3
    assert [o.note["decision"] for o in again] == ["duplicate", "applied", "applied"]
    assert [target.count(f"HD-{n}:") for n in (1, 2, 3)] == [1, 1, 1]
    stage.close()


def test_the_event_holding_its_order_goes_first_when_the_retries_bring_it_back_behind_the_others(ledger):
    target = FakeTarget()
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    second, third = report("HF-2", produced=False), report("HF-3", produced=False)
    target.fail_next = 1
    held = stage.process([delivery_of(second, 1), delivery_of(third, 2)])
    assert [o.kind for o in held] == [OutcomeKind.RETRY, OutcomeKind.RETRY]  # HF-2 holds the order
    # the retry tiers return the waiting HF-3 before HF-2: without reordering, HF-3 would wait
    # for HF-2 and HF-2 behind it, batch after batch
    again = stage.process([delivery_of(third, 3), delivery_of(second, 4)])
    assert [o.kind for o in again] == [OutcomeKind.FORWARD, OutcomeKind.FORWARD]
    assert [p["ident"].split(":")[0] for p in target.postings] == ["HF-2", "HF-3"]  # the order's sequence
    stage.close()
