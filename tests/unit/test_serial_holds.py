"""An order's events reach the target in the order they were sent, retries included: a failed
event holds its order, later ones wait for it without using up their own retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bridge.broker.messages import Delivery, Headers
from bridge.broker.topology import Names
from bridge.errors import TransientError, WaitingError
from bridge.ledger import Ledger
from bridge.ledger.models import SerialHoldRow, table_of
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.pipeline.retry import RetryPolicy

from ..contract.sink import delivery_of
from ..fake.target import FakeSink, FakeTarget
from .test_remote_delivery import report


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield ledger
    ledger.close()


def test_a_later_report_waits_for_a_failed_earlier_one_of_its_order(ledger):
    target = FakeTarget(fail_next=1)
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    first = stage.process([delivery_of(report("R-1", "1001"))])
    assert first[0].kind is OutcomeKind.RETRY
    assert ledger.holds.holds("erp") == {"1001": "mes:report:R-1"}
    # R-2 comes back from nowhere sooner than R-1 from its retry queue: it waits, posting nothing
    [waiting, other] = stage.process([delivery_of(report("R-2", "1001"), 2), delivery_of(report("R-9", "2002"), 3)])
    assert waiting.kind is OutcomeKind.RETRY
    assert isinstance(waiting.error, WaitingError)
    assert "waiting for mes:report:R-1" in str(waiting.error)
    assert other.kind is OutcomeKind.FORWARD  # another order is not held up
    assert stage.process([delivery_of(report("R-1", "1001"), 4)])[0].kind is OutcomeKind.FORWARD
    assert ledger.holds.holds("erp") == {}
    assert stage.process([delivery_of(report("R-2", "1001"), 5)])[0].kind is OutcomeKind.FORWARD
    orders_1001 = [p["ident"] for p in target.postings if p["order"] == "1001"]
    assert orders_1001 == ["R-1:C", "R-1:R", "R-2:C", "R-2:R"]
    stage.close()


def test_a_dead_lettered_holder_lets_its_order_go(ledger):
    target = FakeTarget(fail_next=1)
    stage = RemoteDeliverStage("erp", "q", FakeSink(target), ledger)
    delivery = delivery_of(report("R-1", "1001"))
    stage.process([delivery])
    stage.settled([delivery], [Outcome.dead_letter(TransientError("retries exhausted"))])
    assert ledger.holds.holds("erp") == {}
    assert stage.process([delivery_of(report("R-2", "1001"), 2)])[0].kind is OutcomeKind.FORWARD
    stage.close()


def test_a_hold_older_than_every_retry_is_a_leftover_and_released(ledger):
    stage = RemoteDeliverStage("erp", "q", FakeSink(FakeTarget()), ledger, hold_expiry_s=60)
    ledger.holds.hold("erp", "1001", "mes:report:LOST")
    with ledger.engine.begin() as conn:
        conn.execute(update(table_of(SerialHoldRow)).values(since=datetime.now(UTC) - timedelta(minutes=5)))
    assert stage.process([delivery_of(report("R-2", "1001"))])[0].kind is OutcomeKind.FORWARD
    assert ledger.holds.holds("erp") == {}
    stage.close()


def test_waiting_uses_up_no_retry_and_comes_back_at_the_shortest_delay():
    policy = RetryPolicy(Names(prefix="t"), tiers=(5, 30))
    delivery = Delivery("t.deliver.erp", 1, "", "t.deliver.erp", b"{}", "m1", None, None, {Headers.ATTEMPTS: 1}, True)
    waiting, dead = policy.retry_message(delivery, WaitingError("waiting for m0"), "deliver")
    assert not dead
    assert waiting.headers[Headers.ATTEMPTS] == 1
    assert waiting.routing_key == policy.names.retry_queue("t.deliver.erp", 5)
    failed, _ = policy.retry_message(delivery, TransientError("down"), "deliver")
    assert failed.headers[Headers.ATTEMPTS] == 2
    assert failed.routing_key == policy.names.retry_queue("t.deliver.erp", 30)
