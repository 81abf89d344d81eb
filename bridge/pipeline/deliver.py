"""The deliver stage: canonical events in, one write per event to a route's sink.

The ledger decides per event: a key (entity, business key, version) already delivered to
this target is a duplicate; a version older than the last one applied for the business key is
stale; the rest are written to the sink inside the same ledger transaction that records them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bridge.broker.messages import Delivery, Headers
from bridge.errors import DecodeError
from bridge.pipeline.outcome import Outcome
from bridge.pipeline.translate import business_key
from bridge.sinks.base import SinkEvent

__all__ = ["DeliverStage"]


def _event(delivery: Delivery) -> SinkEvent:
    """The event from the bridge's own headers; the body is parsed only when they are missing."""
    entity = delivery.header(Headers.ENTITY)
    event = delivery.header(Headers.EVENT)
    version = delivery.header(Headers.VERSION)
    if (
        entity
        and event
        and version is not None
        and delivery.message_id
        and delivery.header(Headers.BUSINESS_KEY) is not None
    ):
        return SinkEvent(
            delivery.body, entity, event, delivery.message_id, delivery.correlation_id, str(version)
        )
    envelope = json.loads(delivery.body)
    return SinkEvent(
        delivery.body,
        envelope["entity"],
        envelope["event"],
        envelope["message_id"],
        envelope.get("correlation_id"),
        str(envelope["version"]),
        envelope,
    )


def _business_key(delivery: Delivery, event: SinkEvent) -> str:
    key = delivery.header(Headers.BUSINESS_KEY)
    return str(key) if key is not None else business_key(event.envelope)


log = logging.getLogger(__name__)


class DeliverStage:
    """Canonical events -> one sink, idempotently."""

    def __init__(self, route: str, queue: str, sink: Any, ledger: Any, *, metrics: Any = None) -> None:
        self.route = route
        self.name = "deliver"
        self.queue = queue
        self.sink = sink
        self.ledger = ledger
        self.metrics = metrics

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Deliver the batch's events; undecodable ones are dead-lettered."""
        from bridge.ledger import DeliveryItem

        outcomes: list[Outcome | None] = [None] * len(batch)
        items, positions = [], []
        for position, delivery in enumerate(batch):
            try:
                event = _event(delivery)
            except (ValueError, KeyError, TypeError) as exc:
                outcomes[position] = Outcome.dead_letter(
                    DecodeError(f"not a canonical envelope: {exc}", source=delivery.message_id)
                )
                continue
            items.append(
                DeliveryItem(
                    event.message_id, event.entity, _business_key(delivery, event), event.version, event
                )
            )
            positions.append(position)
        if items:
            for position, item, decision in zip(positions, items, self.deliver(items), strict=True):
                outcomes[position] = Outcome.forward(decision=str(decision), entity=item.entity)
        return [o for o in outcomes if o is not None]

    def deliver(self, items: Sequence[Any]) -> list[Any]:
        """Write the items' events to the sink through the ledger; one decision per item.

        Raises whatever the ledger or the sink raised (nothing was recorded then).
        """
        decisions = self.ledger.deliver(
            self.route, items, self.sink.write, stateful=getattr(self.sink, "stateful", False)
        )
        if self.metrics is not None:
            counts = Counter(
                (str(decision), item.entity) for item, decision in zip(items, decisions, strict=True)
            )
            for (decision, entity), n in counts.items():
                self._count(decision, entity, n)
        return decisions

    def _count(self, decision: str, entity: str, n: int) -> None:
        if decision == "applied":
            self.metrics.delivered(self.route, entity, n)
        elif decision == "duplicate":
            self.metrics.duplicate_skipped(self.route, entity, n)
        elif decision == "stale":
            self.metrics.stale_skipped(self.route, entity, n)

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """The ledger already recorded deliveries in the sink's transaction."""
