"""What every remote sink must do, as tests each adapter's sink tests inherit.

A subclass provides :meth:`RemoteSinkContract.make_sink` (a sink on a target it can inspect and
fault), :meth:`event` (a canonical event the sink delivers) and :meth:`effects` (how many postings
the target holds for an event). The tests drive the sink through the real
:class:`~bridge.pipeline.remote_deliver.RemoteDeliverStage` on a SQLite ledger.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.broker.messages import Delivery
from bridge.errors import TransientError
from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage


def delivery_of(envelope: dict[str, Any], tag: int = 1) -> Delivery:
    return Delivery(
        queue="q.erp",
        delivery_tag=tag,
        exchange="bridge.canonical",
        routing_key=f"{envelope['entity']}.{envelope['event']}",
        body=json.dumps(envelope).encode(),
        message_id=envelope["message_id"],
        type=None,
        correlation_id=None,
        headers={},
        redelivered=tag > 1,
    )


class RemoteSinkContract:
    """Subclass and implement the four hooks below."""

    def make_sink(self) -> Any:
        raise NotImplementedError

    def event(self, report_id: str, order_id: str = "1001") -> dict[str, Any]:
        raise NotImplementedError

    def effects(self, sink: Any, envelope: dict[str, Any]) -> int:
        """Postings the target holds for the event (each call's effect counted once)."""
        raise NotImplementedError

    def lose_next_reply(self, sink: Any) -> None:
        """Make the target post the next call and then lose its reply."""
        raise NotImplementedError

    def fail_next_call(self, sink: Any) -> None:
        """Make the target refuse the next call before any effect (an outage)."""
        raise NotImplementedError

    @pytest.fixture
    def stage(self, tmp_path: Any) -> Any:
        ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        sink = self.make_sink()
        stage = RemoteDeliverStage("erp", "q.erp", sink, ledger)
        yield stage
        stage.close()
        ledger.close()

    def test_delivering_twice_has_one_effect(self, stage: Any) -> None:
        envelope = self.event("R-1")
        first = stage.process([delivery_of(envelope)])
        effects = self.effects(stage.sink, envelope)
        second = stage.process([delivery_of(envelope, 2)])
        assert [o.kind for o in first + second] == [OutcomeKind.FORWARD] * 2
        assert [o.note["decision"] for o in first + second] == ["applied", "duplicate"]
        assert effects >= 1
        assert self.effects(stage.sink, envelope) == effects

    def test_a_lost_reply_is_resolved_by_lookup_not_by_posting_again(self, stage: Any) -> None:
        envelope = self.event("R-2")
        self.lose_next_reply(stage.sink)
        first = stage.process([delivery_of(envelope)])
        assert first[0].kind is OutcomeKind.RETRY
        again = stage.process([delivery_of(envelope, 2)])
        assert again[0].kind is OutcomeKind.FORWARD
        reference = self.event("R-2b")
        stage.process([delivery_of(reference, 3)])
        assert self.effects(stage.sink, envelope) == self.effects(stage.sink, reference)

    def test_a_crash_between_the_reply_and_the_ledger_commit_posts_nothing_twice(self, stage: Any, monkeypatch: Any) -> None:
        envelope = self.event("R-3")
        calls = stage.calls
        real_settle = calls.settle

        def crash(*_args: Any, **_kwargs: Any) -> None:
            raise TransientError("killed before the ledger committed")

        monkeypatch.setattr(calls, "settle", crash)
        assert stage.process([delivery_of(envelope)])[0].kind is OutcomeKind.RETRY
        monkeypatch.setattr(calls, "settle", real_settle)
        # redelivered while the killed attempt's lease runs: not posted, not looked up: retried
        assert stage.process([delivery_of(envelope, 2)])[0].kind is OutcomeKind.RETRY
        stage.lease_s = 0  # the lease of the killed process's attempt ran out
        assert stage.process([delivery_of(envelope, 3)])[0].note["decision"] == "applied"
        reference = self.event("R-3b")
        stage.process([delivery_of(reference, 3)])
        assert self.effects(stage.sink, envelope) == self.effects(stage.sink, reference)

    def test_an_outage_is_transient_and_the_event_is_delivered_later(self, stage: Any) -> None:
        envelope = self.event("R-4")
        self.fail_next_call(stage.sink)
        first = stage.process([delivery_of(envelope)])
        assert first[0].kind is OutcomeKind.RETRY
        assert isinstance(first[0].error, TransientError)
        assert stage.process([delivery_of(envelope, 2)])[0].note["decision"] == "applied"
        assert self.effects(stage.sink, envelope) >= 1
