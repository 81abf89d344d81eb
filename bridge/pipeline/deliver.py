"""The deliver stage: canonical events in, one write per event to a route's sink.

The ledger decides per event: a key (entity, business key, version) already delivered to
this target is a duplicate; a version older than the last one applied for the business key is
stale; the rest are written to the sink inside the same ledger transaction that records them.

A sink that publishes to the broker is waited for (reconnecting) before that transaction
begins, never inside it: other writers of an embedded ledger would wait for its lock meanwhile.
Events the broker returns as unroutable (no queue bound for them) go to the retry queues, each
with an error naming its own event, while the rest of the batch is delivered; the route warns
once about it (:mod:`bridge.pipeline.unroutable`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bridge.broker.confirms import UnroutableError
from bridge.broker.messages import Delivery, Headers
from bridge.canonical.keys import business_key
from bridge.errors import BridgeError, DecodeError, TransientError
from bridge.pipeline.outcome import Outcome
from bridge.pipeline.unroutable import UnroutableEvents
from bridge.sinks.base import SinkEvent

__all__ = ["DeliverStage"]


def event_from_delivery(delivery: Delivery) -> SinkEvent:
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


def business_key_of(delivery: Delivery, event: SinkEvent) -> str:
    key = delivery.header(Headers.BUSINESS_KEY)
    return str(key) if key is not None else business_key(event.envelope)


def _event_name(item: Any) -> str:
    """``<entity>.<event>`` of a delivery item (the MES routing key)."""
    payload = item.payload
    return f"{item.entity}.{payload.event}" if isinstance(payload, SinkEvent) else str(item.entity)


log = logging.getLogger(__name__)


def order_facts(payload: Any) -> dict[str, Any]:
    """What feedback about an order needs from it (plant, material, components' storage locations)
    and what reconciliation compares (its quantity, status and version as delivered)."""
    components = {
        str(c["material_id"]): {k: c[k] for k in ("site", "storage_location") if c.get(k)}
        for c in payload.get("components") or ()
        if isinstance(c, dict) and c.get("material_id")
    }
    facts = {k: payload[k] for k in ("site", "material_id", "order_type", "status") if payload.get(k)}
    quantity = payload.get("quantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        facts["quantity"] = {"value": str(quantity["value"]), "unit": str(quantity.get("unit") or "")}
    return {**facts, "components": components}


def remember_orders(ledger: Any, items: Sequence[Any]) -> None:
    """Keep the facts of the orders just delivered (a report names no plant; see :mod:`bridge.ledger.remote_calls`)."""
    facts = {}
    for item in items:
        if item.entity != "order":
            continue
        envelope = item.payload.envelope if isinstance(item.payload, SinkEvent) else {}
        payload = envelope.get("payload")
        if isinstance(payload, dict) and payload.get("order_id"):
            known = order_facts(payload)
            if envelope.get("version") is not None:
                known["version"] = str(envelope["version"])
            facts[str(payload["order_id"])] = (item.message_id, known)
    if facts:
        try:
            ledger.remote.remember_orders(facts)
        except BridgeError as exc:  # the delivery stands; feedback then falls back to configuration
            log.warning("could not keep the facts of %d order(s): %s", len(facts), exc)


class DeliverStage:
    """Canonical events -> one sink, idempotently."""

    def __init__(self, route: str, queue: str, sink: Any, ledger: Any, *, metrics: Any = None) -> None:
        self.route = route
        self.name = "deliver"
        self.queue = queue
        self.sink = sink
        self.ledger = ledger
        self.metrics = metrics
        self.unroutable = UnroutableEvents(route)

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Deliver the batch's events; undecodable ones are dead-lettered."""
        from bridge.ledger import DeliveryItem

        outcomes: list[Outcome | None] = [None] * len(batch)
        items, positions = [], []
        for position, delivery in enumerate(batch):
            try:
                event = event_from_delivery(delivery)
            except (ValueError, KeyError, TypeError) as exc:
                outcomes[position] = Outcome.dead_letter(
                    DecodeError(f"not a canonical envelope: {exc}", source=delivery.message_id)
                )
                continue
            items.append(
                DeliveryItem(
                    event.message_id, event.entity, business_key_of(delivery, event), event.version, event
                )
            )
            positions.append(position)
        if items:
            decisions, unroutable = self.deliver_routable(items)
            for position, item, decision in zip(positions, items, decisions, strict=True):
                if decision is None:
                    assert unroutable is not None
                    outcomes[position] = Outcome.retry(unroutable.only(item.message_id))
                else:
                    outcomes[position] = Outcome.forward(decision=str(decision), entity=item.entity)
        return [o for o in outcomes if o is not None]

    def deliver_routable(self, items: Sequence[Any]) -> tuple[list[Any], UnroutableError | None]:
        """Like :meth:`deliver`, but when the broker returns some events as unroutable, deliver
        the others (again) and give ``None`` for the returned ones, with the error.

        Raises whatever else the ledger or the sink raised (nothing was recorded then).
        """
        try:
            return self.deliver(items), None
        except UnroutableError as exc:
            returned = exc.returned
            if all(item.message_id in returned for item in items):
                return [None] * len(items), exc
            # the transaction was rolled back, but the broker has the others already: record
            # them, publishing again only those it did not confirm
            routable = [item for item in items if item.message_id not in returned]
            unconfirmed = {message.message_id for message in exc.unconfirmed}
            decided = iter(self.deliver(routable, only=unconfirmed))
            return [None if item.message_id in returned else next(decided) for item in items], exc

    def deliver(self, items: Sequence[Any], *, only: set[str] | None = None) -> list[Any]:
        """Write the items' events to the sink through the ledger; one decision per item.

        Args:
            items: the delivery items.
            only: write only the events with these message ids (the others are recorded as
                delivered without being written: the broker confirmed them already).

        Raises:
            TransientError: the sink's broker connection is down (waited for outside the
                ledger transaction, up to the sink's confirm timeout).
            UnroutableError: events came back unroutable (nothing was recorded; the route
                warns once).
            Exception: whatever else the ledger or the sink raised (nothing was recorded).
        """
        wait_ready = getattr(self.sink, "wait_ready", None)
        if wait_ready is not None and not wait_ready():
            raise TransientError(f"route {self.route}: not connected to the broker")
        stateful = getattr(self.sink, "stateful", False)
        write = self.sink.write if only is None else self._write_only(only, stateful)
        try:
            decisions = self.ledger.deliver(self.route, items, write, stateful=stateful)
        except UnroutableError as exc:
            returned = exc.returned
            self.unroutable.returned(exc, (_event_name(i) for i in items if i.message_id in returned))
            raise
        self.unroutable.delivered(
            _event_name(item) for item, decision in zip(items, decisions, strict=True) if decision == "applied"
        )
        remember_orders(self.ledger, [item for item, d in zip(items, decisions, strict=True) if d == "applied"])
        if self.metrics is not None:
            counts = Counter(
                (str(decision), item.entity) for item, decision in zip(items, decisions, strict=True)
            )
            for (decision, entity), n in counts.items():
                self._count(decision, entity, n)
        return decisions

    def _write_only(self, only: set[str], stateful: bool) -> Any:
        def write(items: Sequence[Any], *state: Any) -> Any:
            rest = [item for item in items if item.message_id in only]
            return self.sink.write(rest, *state) if rest or stateful else None

        return write

    def _count(self, decision: str, entity: str, n: int) -> None:
        if decision == "applied":
            self.metrics.delivered(self.route, entity, n)
        elif decision == "duplicate":
            self.metrics.duplicate_skipped(self.route, entity, n)
        elif decision == "stale":
            self.metrics.stale_skipped(self.route, entity, n)

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """The ledger already recorded deliveries in the sink's transaction."""
