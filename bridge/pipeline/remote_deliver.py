"""The deliver stage of a remote sink (an ERP): each event's calls made exactly once, outside
any ledger transaction, several at once but one at a time per order.

Per event (see :mod:`bridge.adapter.sink`): the sink plans its calls; for each call the ledger
records the attempt first (:meth:`RemoteCallLedger.start`); a call never tried is sent, a call in
doubt is looked up at the target and sent only when the target has no trace of it, a settled one
is skipped; the acknowledgement is recorded once the target answered. When all calls of the event
are settled, the event is recorded as delivered (idempotency key, version, journal) like any
other. A crash anywhere leaves at most one call in doubt, which the redelivered event resolves.

Events with the same :meth:`RemoteSink.serial_key` (one production order) are delivered one after
another in the order they arrived; different keys run in parallel, up to the sink's
``in_flight`` calls at once. When an event fails, the later events of its key in the same batch
are retried, not delivered past it. Across processes (``--workers N``) events of one order may
still be delivered by two processes; the ledger's per-call bookkeeping keeps each call single.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.adapter.sink import Acknowledgement, DeliveryContext, RemoteCall, RemoteSink
from bridge.broker.messages import Delivery
from bridge.errors import (
    BridgeError,
    ConfigError,
    DecodeError,
    PermanentError,
    TransientError,
    WaitingError,
)
from bridge.ledger.records import DeliveryItem, delivery_key
from bridge.ledger.remote_calls import StartedCall
from bridge.ledger.remote_view import BatchView, ViewItem, batch_view
from bridge.mapping.holder import catalog_batch
from bridge.pipeline.deliver import business_key_of, event_from_delivery
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.pipeline.remote_call import CallMaker
from bridge.redaction import redact

__all__ = ["RemoteDeliverStage", "count_decision", "release_dead_letter_holds"]

#: deliver_one's answer for an event whose calls are settled: the batch journals it.
_TO_RECORD = "to_record"

log = logging.getLogger(__name__)


@dataclass
class _Prepared:
    """An event's planned calls, and the recorded attempt of the first (when recorded ahead)."""

    calls: list[RemoteCall]
    started: StartedCall | TransientError | None = None


class RemoteDeliverStage:
    """Canonical events -> a remote sink's calls, each exactly once."""

    def __init__(
        self,
        route: str,
        queue: str,
        sink: RemoteSink,
        ledger: Any,
        *,
        metrics: Any = None,
        sites: Sequence[str] = (),
        hold_expiry_s: float | None = None,
    ) -> None:
        self.route = route
        self.sites = frozenset(sites)
        self.name = "deliver"
        self.queue = queue
        self.sink = sink
        self.ledger = ledger
        self.metrics = metrics
        self.calls = ledger.remote
        # how long another worker's attempt counts as alive: the sink's own call timeout, and some
        self.maker = CallMaker(route, sink, self.calls, float(getattr(sink, "call_timeout_s", 60.0)) + 5.0)
        self.holds = ledger.holds
        self.hold_expiry_s = hold_expiry_s
        self._pool = ThreadPoolExecutor(max(1, int(sink.in_flight)), thread_name_prefix=f"sink-{route}")
        self.context = DeliveryContext(
            acknowledgement=lambda key: self.calls.acknowledgement(route, key),
            order=self.calls.order,
        )

    @property
    def lease_s(self) -> float:
        """See :attr:`CallMaker.lease_s`."""
        return self.maker.lease_s

    @lease_s.setter
    def lease_s(self, value: float) -> None:
        self.maker.lease_s = value

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Deliver the batch: each serial key's events in order, the keys in parallel.

        The whole batch renders with one mapping catalog (a reload lands between batches)."""
        with catalog_batch():
            return self._process(batch)

    def _process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        groups: dict[str, list[tuple[int, DeliveryItem]]] = {}
        for position, delivery in enumerate(batch):
            try:
                event = event_from_delivery(delivery)
                item = DeliveryItem(
                    event.message_id, event.entity, business_key_of(delivery, event), event.version, event
                )
                key = self.sink.serial_key(event)
            except (ValueError, KeyError, TypeError) as exc:
                outcomes[position] = Outcome.dead_letter(
                    DecodeError(f"not a canonical envelope: {exc}", source=delivery.message_id)
                )
                continue
            groups.setdefault(key, []).append((position, item))
        members = [item for group in groups.values() for _, item in group]
        view = batch_view(
            self.ledger,
            self.route,
            [ViewItem(delivery_key(i), i.entity, i.business_key, i.version) for i in members],
            {str(oid) for i in members if (oid := (i.payload.envelope.get("payload") or {}).get("order_id"))},
            groups,
        )
        context = DeliveryContext(
            acknowledgement=self.context.acknowledgement,
            order=lambda order_id: view.orders[order_id] if order_id in view.orders else self.calls.order(order_id),
        )
        prepared = self._prestart(groups, view, context)
        futures = [
            # in a copy of this context: the call threads read the batch's catalog too
            self._pool.submit(contextvars.copy_context().run, self._deliver_group, key, group, view, context, prepared)
            for key, group in groups.items()
        ]
        to_record: list[tuple[int, DeliveryItem]] = []
        for future in futures:
            for position, outcome, item in future.result():
                outcomes[position] = outcome
                if item is not None:
                    to_record.append((position, item))
        self._record(sorted(to_record, key=lambda pair: pair[0]), outcomes)
        return [o for o in outcomes if o is not None]

    def _record(self, delivered: list[tuple[int, DeliveryItem]], outcomes: list[Outcome | None]) -> None:
        """Journal the batch's delivered events in one transaction (their calls are settled
        already: if this fails, a redelivery finds every call done and only records them)."""
        if not delivered:
            return
        try:
            decisions = self.ledger.deliver(self.route, [item for _, item in delivered], lambda _items: None)
        except TransientError as exc:
            for position, _ in delivered:
                outcomes[position] = Outcome.retry(exc)
            return
        for (position, item), decision in zip(delivered, decisions, strict=True):
            outcomes[position] = Outcome.forward(decision=str(decision), entity=item.entity)
            self._count(str(decision), item.entity)

    def _prestart(
        self, groups: dict[str, list[tuple[int, DeliveryItem]]], view: BatchView, context: DeliveryContext
    ) -> dict[int, _Prepared | str]:
        """Plan the first event of each group and record the attempts of their first calls in one
        ledger transaction (the later events' first calls are recorded with the settlement of
        the event before them): one transaction per event instead of two."""
        prepared: dict[int, _Prepared | str] = {}
        firsts: list[tuple[int, RemoteCall, str]] = []
        for key, group in groups.items():
            if not group or view.holders.get(key) is not None:
                continue
            position, item = group[0]
            try:
                plan = self._prepare(item, view, context)
            except BridgeError:  # the group's thread plans it again and meets the error itself
                continue
            prepared[position] = plan
            if isinstance(plan, _Prepared):
                firsts.append((position, plan.calls[0], item.message_id))
        try:
            started = self.calls.start_many(
                self.route, [(call.key, message_id, call.operation) for _, call, message_id in firsts],
                lease_s=self.lease_s,
            )
        except TransientError:
            return prepared  # each group records its first attempt itself
        for (position, _, _), outcome in zip(firsts, started, strict=True):
            plan = prepared[position]
            assert isinstance(plan, _Prepared)
            plan.started = outcome
        return prepared

    def _deliver_group(
        self,
        key: str,
        members: list[tuple[int, DeliveryItem]],
        view: BatchView,
        context: DeliveryContext,
        prepared: dict[int, _Prepared | str] | None = None,
    ) -> list[tuple[int, Outcome, DeliveryItem | None]]:
        """Each event's outcome; an event whose calls are all settled comes with its item, to be
        journaled with the batch (:meth:`_record`)."""
        results: list[tuple[int, Outcome, DeliveryItem | None]] = []
        blocked: BridgeError | None = None
        holder = self._holder(key, view)
        at = next((i for i, (_, item) in enumerate(members) if item.message_id == holder), None)
        if at:
            # the holder is the order's earliest event not delivered: it goes first, also when the
            # retry queues brought the events that wait for it back ahead of it
            members = [members[at], *members[:at], *members[at + 1:]]
        chained: _Prepared | str | None = None  # the next event, planned and maybe started
        for index, (position, item) in enumerate(members):
            current = (prepared or {}).get(position) if index == 0 else chained
            chained = None
            if view.seen.get(delivery_key(item)) is not None:
                # delivered before (a redelivery after a crash): nothing to call, nothing to wait
                # for, whatever holds the order now
                results.append((position, Outcome.forward(decision=_TO_RECORD, entity=item.entity), item))
                continue
            if blocked is None and holder is not None and holder != item.message_id:
                blocked = WaitingError(f"route {self.route}: waiting for {holder}, an earlier event of the same order")
            if blocked is not None:  # (then nothing of this event was recorded ahead)
                waiting = blocked if isinstance(blocked, WaitingError) else WaitingError(
                    f"route {self.route}: waiting for an earlier event of the same order ({blocked})"
                )
                results.append((position, Outcome.retry(waiting), None))
                continue
            following = members[index + 1][1] if index + 1 < len(members) and holder is None else None
            try:
                if current is None:
                    current = self._prepare(item, view, context)
                if isinstance(current, str):
                    decision = current
                else:
                    decision, chained = self._execute(item, current, following, view, context)
            except PermanentError as exc:
                results.append((position, Outcome.dead_letter(exc), None))  # its hold goes in settled()
                blocked = exc
            except TransientError as exc:
                results.append((position, Outcome.retry(exc), None))
                blocked = exc
                self._hold(key, item.message_id)
            except ConfigError as exc:
                # the target refuses the bridge (credentials, roles): no event of this target can
                # succeed until an operator fixes it, and none is lost meanwhile: retried
                log.error("route %s: %s", self.route, redact(str(exc)))
                results.append((position, Outcome.retry(TransientError(f"route {self.route}: {exc}")), None))
                blocked = exc
                self._hold(key, item.message_id)
            else:
                if decision == _TO_RECORD:
                    results.append((position, Outcome.forward(decision=decision, entity=item.entity), item))
                else:
                    results.append((position, Outcome.forward(decision=decision, entity=item.entity), None))
                    self._count(decision, item.entity)
                if holder == item.message_id:
                    self.holds.release(self.route, [item.message_id])
                    holder = None
        return results

    def _holder(self, key: str, view: BatchView) -> str | None:
        """The message holding the order, unless its hold outlived every retry it could have."""
        found = view.holders.get(key)
        if found is None:
            return None
        message_id, since = found
        if self.hold_expiry_s is not None and (datetime.now(UTC) - since).total_seconds() > self.hold_expiry_s:
            log.warning("route %s: releasing the hold of %s on %s, older than every retry", self.route, message_id, key)
            self.holds.release(self.route, [message_id])
            return None
        return message_id

    def _hold(self, key: str, message_id: str) -> None:
        try:
            self.holds.hold(self.route, key, message_id)
        except BridgeError as exc:  # the event is retried anyway; only the order of later ones is at stake
            log.warning("route %s: could not hold %s for %s: %s", self.route, key, message_id, exc)

    def deliver_one(
        self, item: DeliveryItem, view: BatchView | None = None, context: DeliveryContext | None = None
    ) -> str:
        """Make the event's calls: ``other_site``, or :data:`_TO_RECORD` once every call is settled
        (whether it was applied, a duplicate or stale, the batch's journal entry says).

        Raises:
            TransientError: a call could not be made or settled now (retry the event).
            PermanentError: the target refused the event (dead-letter it).
        """
        context = context or self.context
        plan = self._prepare(item, view, context)
        if isinstance(plan, str):
            return plan
        return self._execute(item, plan, None, view, context)[0]

    def _prepare(self, item: DeliveryItem, view: BatchView | None, context: DeliveryContext) -> _Prepared | str:
        """The event's calls, or what it needs instead: ``other_site`` or :data:`_TO_RECORD`
        (delivered before, or nothing to call)."""
        if self.sites and not self._ours(item.payload, context):
            return "other_site"
        key = delivery_key(item)
        if view is not None:
            seen = view.seen.get(key)
        else:
            seen = self.calls.already(self.route, key, item.entity, item.business_key, item.version)
        if seen is not None:
            return _TO_RECORD  # journaled as a redelivery with the batch
        calls = list(self.sink.plan(item.payload, context))
        return _Prepared(calls) if calls else _TO_RECORD

    def _execute(
        self,
        item: DeliveryItem,
        plan: _Prepared,
        following: DeliveryItem | None,
        view: BatchView | None,
        context: DeliveryContext,
    ) -> tuple[str, _Prepared | str | None]:
        """Make the planned calls; the last one's settlement also records the attempt of the
        ``following`` event's first call (that event planned here, and returned)."""
        started = plan.started if plan.started is not None else self.maker.start(plan.calls[0], item.message_id)
        if isinstance(started, TransientError):
            raise started
        settled: dict[str, Acknowledgement] = {}
        calls = plan.calls
        for call, following_call in itertools.pairwise(calls):
            settled[call.key], then = self.maker.settle(call, started, (following_call, item.message_id), item.message_id, settled)
            if isinstance(then, TransientError):
                raise then
            assert then is not None
            started = then
        next_plan: _Prepared | str | None = None
        if following is not None:
            try:
                next_plan = self._prepare(following, view, context)
            except BridgeError:
                next_plan = None  # planned again, and its error met, in its own turn
        chain = (next_plan.calls[0], following.message_id) if isinstance(next_plan, _Prepared) and following else None
        settled[calls[-1].key], then = self.maker.settle(calls[-1], started, chain, item.message_id, settled)
        if isinstance(next_plan, _Prepared) and chain is not None:
            next_plan.started = then
        return _TO_RECORD, next_plan

    def _ours(self, event: Any, context: DeliveryContext) -> bool:
        """Whether the event belongs to one of the route's plants: its own ``site``, else its
        order's (a report names no plant). An event of an unknown plant is no route's with sites."""
        payload = event.envelope.get("payload") or {}
        site = payload.get("site")
        if site is None and payload.get("order_id"):
            site = (context.order(str(payload["order_id"])) or {}).get("site")
        if site is None:
            log.info(
                "route %s: %s names no plant and its order is unknown: not this route's",
                self.route,
                event.message_id,
            )
        return site in self.sites

    def _count(self, decision: str, entity: str) -> None:
        count_decision(self.metrics, self.route, decision, entity)

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """The ledger recorded each call and delivery as it went; a dead-lettered event lets
        the later events of its order go."""
        release_dead_letter_holds(self.holds, self.route, batch, outcomes)

    def close(self) -> None:
        """Stop the call threads."""
        self._pool.shutdown(wait=True)


def count_decision(metrics: Any, route: str, decision: str, entity: str) -> None:
    """Count a delivered event by what the ledger decided (applied, duplicate, stale)."""
    if metrics is None:
        return
    if decision == "applied":
        metrics.delivered(route, entity, 1)
    elif decision == "duplicate":
        metrics.duplicate_skipped(route, entity, 1)
    elif decision == "stale":
        metrics.stale_skipped(route, entity, 1)


def release_dead_letter_holds(holds: Any, route: str, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
    """Release the holds of the batch's dead-lettered events on their orders."""
    dead = []
    for delivery, outcome in zip(batch, outcomes, strict=False):
        if outcome.kind is OutcomeKind.DEAD_LETTER:
            dead.append(delivery.message_id or "")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                dead.append(event_from_delivery(delivery).message_id)
    if dead:
        try:
            holds.release(route, sorted(set(dead) - {""}))
        except BridgeError as exc:  # they expire after the retry horizon
            log.warning("route %s: could not release the holds of dead letters: %s", route, exc)
