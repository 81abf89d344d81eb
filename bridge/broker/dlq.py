"""Dead-letter operations behind ``bridge dlq``: list, show, replay and purge, by filter.

Dead letters live in the ``<work queue>.dlq`` queues of a topology. They are read through a
:class:`DeadLetterStore`: :class:`RabbitDeadLetterStore` on RabbitMQ, or
:class:`bridge.broker.stub.StubDeadLetterStore` in unit tests. A store takes every message of a
queue with a get-without-ack and holds them; whatever it does not explicitly remove goes back to
the queue, in order, when it releases them. So listing changes nothing, and a replay or purge
touches only the messages that match its filter.

A dead letter is described by the ``x-bridge-*`` headers the pipeline sets when it gives up on a
message; one the broker dead-lettered by itself (a quorum queue's delivery limit, a rejection)
has none of them, and is described from its ``x-death`` header instead.

Replay republishes each match to its original exchange and routing key with publisher confirms,
and removes it from the dead-letter queue only once the broker confirmed it: a message is never
lost. If a republish fails, that message and every one not replayed yet stay in the queue and
the :class:`~bridge.errors.TransientError` propagates.

With ``dry_run``, replay and purge return what they would replay or delete (a replay still
checks that each match has an original route) and change nothing: every message goes back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

from bridge.broker.dead_letters import (
    DeadLetter,
    DeadLetterFilter,
    decode_payload,
    replay_message,
    to_dead_letter,
)
from bridge.broker.messages import Delivery, OutMessage
from bridge.broker.names import Names
from bridge.broker.topology import Topology

__all__ = [
    "DeadLetter",
    "DeadLetterFilter",
    "DeadLetterStore",
    "dead_letter_queues",
    "decode_payload",
    "list_dead_letters",
    "purge",
    "replay",
    "replay_message",
    "to_dead_letter",
]

log = logging.getLogger(__name__)

class DeadLetterStore(Protocol):
    """Where dead letters are read from and replayed to (RabbitMQ, or the unit-test stub)."""

    def fetch(self, queue: str) -> list[Delivery]:
        """Take every message now in ``queue`` without acking it, in queue order, and hold it."""
        ...

    def remove(self, delivery: Delivery) -> None:
        """Ack one held message: it is gone from its queue for good."""
        ...

    def republish(self, message: OutMessage) -> None:
        """Publish one message (persistent, mandatory) and wait for the broker's confirm.

        Raises:
            TransientError: not confirmed (unroutable, nack, lost connection, no exchange).
        """
        ...

    def release(self) -> None:
        """Give every held message that was not removed back to its queue, in order."""
        ...


def dead_letter_queues(topology: Topology) -> list[str]:
    """The dead-letter queue of every work queue of ``topology``."""
    return [Names.dead_letter_queue(queue) for queue in topology.work_queues]


# -- operations --------------------------------------------------------------------------------


@contextlib.contextmanager
def _held(store: DeadLetterStore, queue: str) -> Iterator[list[Delivery]]:
    deliveries = store.fetch(queue)
    try:
        yield deliveries
    finally:
        store.release()


def _matching(
    deliveries: Sequence[Delivery], criteria: DeadLetterFilter, now: datetime
) -> list[tuple[Delivery, DeadLetter]]:
    letters = ((d, to_dead_letter(d, now=now)) for d in deliveries)
    return [(d, dl) for d, dl in letters if criteria.matches(dl)]


def _for_each_queue(
    store: DeadLetterStore,
    queues: Sequence[str],
    criteria: DeadLetterFilter,
    now: datetime | None,
    action: Callable[[Delivery, DeadLetter], None] | None,
    check: Callable[[list[DeadLetter]], None] | None = None,
) -> list[DeadLetter]:
    moment = now or datetime.now(UTC)
    done: list[DeadLetter] = []
    for queue in queues:
        if criteria.queue is not None and criteria.queue not in (queue, _work_queue(queue)):
            continue
        with _held(store, queue) as deliveries:
            matches = _matching(deliveries, criteria, moment)
            if check is not None:
                check([dl for _d, dl in matches])
            for delivery, dl in matches:
                if action is not None:
                    try:
                        action(delivery, dl)
                    except Exception as exc:
                        exc.add_note(f"{len(done)} dead letter(s) were already handled before this failure")
                        raise
                done.append(dl)
    return done


def _work_queue(dead_letter_queue: str) -> str:
    return dead_letter_queue.removesuffix(".dlq")


def list_dead_letters(
    store: DeadLetterStore,
    queues: Sequence[str],
    criteria: DeadLetterFilter | None = None,
    *,
    now: datetime | None = None,
) -> list[DeadLetter]:
    """The matching dead letters of ``queues``, in queue order; every message stays in place."""
    return _for_each_queue(store, queues, criteria or DeadLetterFilter(), now, None)


def replay(
    store: DeadLetterStore,
    queues: Sequence[str],
    criteria: DeadLetterFilter,
    *,
    by: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Send the matching dead letters back to their original exchange and routing key.

    Each one is republished (confirmed) and only then removed from its dead-letter queue.
    Returns the replayed letters as they were in the queue (with ``dry_run``: the letters it
    would replay, nothing republished or removed).

    Raises:
        PermanentError: a matching letter has no original route (nothing of that queue is
            replayed).
        TransientError: a republish was not confirmed; that letter and the rest stay queued.
    """
    moment = now or datetime.now(UTC)

    def check(letters: list[DeadLetter]) -> None:
        for dl in letters:
            replay_message(dl, by=by, at=moment)

    def send(delivery: Delivery, dl: DeadLetter) -> None:
        store.republish(replay_message(dl, by=by, at=moment))
        store.remove(delivery)
        log.info(
            "replayed dead letter %s from %s to %s/%s (by %s)",
            dl.id,
            dl.queue,
            dl.original_exchange,
            dl.original_routing_key,
            by,
        )

    return _for_each_queue(store, queues, criteria, moment, None if dry_run else send, check)


def purge(
    store: DeadLetterStore,
    queues: Sequence[str],
    criteria: DeadLetterFilter,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Delete the matching dead letters for good; the others stay. Returns what was deleted
    (with ``dry_run``: what would be, nothing deleted)."""

    def drop(delivery: Delivery, dl: DeadLetter) -> None:
        store.remove(delivery)
        log.info("purged dead letter %s from %s", dl.id, dl.queue)

    return _for_each_queue(store, queues, criteria, now, None if dry_run else drop)
