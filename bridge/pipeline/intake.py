"""The intake stage: messages a source system publishes on the broker, taken into the pipeline.

The MES publishes its feedback on its own exchange (``mes.feedback``); the bridge's queue on it
(:attr:`bridge.broker.names.Names.feedback_queue`) is consumed by this stage, which hands every
message's body to the same ingest path as the HTTP receivers and ``bridge ingest``: archived in
the ledger, published on the inbound exchange with a deterministic id, confirmed by the broker.
Only after that returned is the message acked, so a crash in between redelivers it and ingest
gives it the same id again (translate then skips what it already translated).

Nothing is dropped or judged here: a body that is not even JSON is ingested all the same and
dead-lettered by translate with the reason. A broker or ledger that cannot take the batch
within ingest's deadline is a retry (the retry queues bring the messages back); anything else
the ledger refuses sends them to this queue's dead-letter queue, where ``bridge dlq`` shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bridge.broker.messages import Delivery, Headers
from bridge.errors import BridgeError, TransientError, shown
from bridge.pipeline.outcome import Outcome

__all__ = ["IngestFunc", "IntakeStage", "ingest_with", "origin_of"]

log = logging.getLogger(__name__)

#: ``ingest([(bytes, origin), ...], system) -> [RawDocument]``; returns once the broker confirmed.
IngestFunc = Callable[[Sequence[tuple[bytes, str]], str], Sequence[Any]]

STAGE = "intake"


def ingest_with(ingestor: Any) -> IngestFunc:
    """The ingest callable of an :class:`~bridge.pipeline.ingest.Ingestor`: prepare, then ingest."""

    def ingest(items: Sequence[tuple[bytes, str]], system: str) -> Sequence[Any]:
        return ingestor.ingest(ingestor.prepare(items, system))

    return ingest


def origin_of(delivery: Delivery) -> str:
    """Where a message came from, for the raw archive and error messages:
    ``amqp mes.feedback report.created <message id>`` (bounded, one line); a retry copy names
    where it first came from, not the retry queue that brought it back."""
    exchange = delivery.header(Headers.ORIGINAL_EXCHANGE, delivery.exchange)
    routing_key = delivery.header(Headers.ORIGINAL_ROUTING_KEY, delivery.routing_key)
    parts = ["amqp", str(exchange or "(default exchange)"), str(routing_key or "-")]
    if delivery.message_id:
        parts.append(delivery.message_id)
    return shown(" ".join(parts), 200)


class IntakeStage:
    """Broker messages of one source system -> the ingest path (a :class:`Worker` stage).

    Args:
        queue: the queue consumed (``<prefix>.feedback``).
        ingest: archives, publishes and journals; see :data:`IngestFunc`.
        system: the source system the messages come from (``mes``).
    """

    name = STAGE

    def __init__(self, queue: str, ingest: IngestFunc, *, system: str = "mes") -> None:
        self.queue = queue
        self.ingest = ingest
        self.system = system

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Ingest the whole batch at once; forward (ack) once ingest returned."""
        items = [(delivery.body, origin_of(delivery)) for delivery in batch]
        try:
            raw = self.ingest(items, self.system)
        except TransientError as exc:
            # ingest waited its own deadline already: the retry queues wait longer, not this worker
            return [Outcome.retry(exc, system=self.system) for _ in batch]
        except BridgeError as exc:
            log.error("%s: the ingest path refused %d message(s): %s", self.queue, len(batch), exc)
            return [Outcome.dead_letter(exc, system=self.system) for _ in batch]
        ids = [getattr(document, "message_id", None) for document in raw]
        return [
            Outcome.forward(system=self.system, raw_message_id=ids[index] if index < len(ids) else None)
            for index in range(len(batch))
        ]

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """Nothing to journal: ingest journaled each raw message before it returned."""
