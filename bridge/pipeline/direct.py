"""In-process delivery: translate hands its events straight to the deliver stages of the routes
running in the same process, sparing each event a trip through the canonical exchange.

The routes are matched with the same topic patterns the canonical exchange's bindings use. A
route's batch goes through the same ledger call as the deliver stage (idempotency, stale
versions, one transaction with the sink write). When that fails for any reason, the route's
events are published to the route's deliver queue instead (only the returned ones when the
broker returned some as unroutable), where the deliver worker retries or dead-letters them as
usual; the raw message is acked only after that publish is confirmed, so nothing is lost either
way. Events no route matches are left for the canonical exchange (where,
unroutable, they are returned and retried like before).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bridge.broker.messages import Headers, OutMessage
from bridge.broker.routing import topic_matches
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.sinks.base import SinkEvent

__all__ = ["DirectDelivery", "DirectRoute"]

log = logging.getLogger(__name__)

_MATCH_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class DirectRoute:
    """A route served in this process: its event patterns and its deliver stage."""

    patterns: tuple[str, ...]
    stage: Any  # a DeliverStage

    @property
    def name(self) -> str:
        """The route's name."""
        return str(self.stage.route)

    def matches(self, routing_key: str) -> bool:
        """Whether the canonical exchange would route ``routing_key`` to this route's queue."""
        return any(topic_matches(pattern, routing_key) for pattern in self.patterns)


def _item(message: OutMessage) -> Any:
    from bridge.ledger import DeliveryItem

    headers = message.headers
    event = SinkEvent(
        message.body,
        str(headers[Headers.ENTITY]),
        str(headers[Headers.EVENT]),
        message.message_id,
        message.correlation_id,
        str(headers[Headers.VERSION]),
    )
    return DeliveryItem(
        message.message_id, event.entity, str(headers[Headers.BUSINESS_KEY]), event.version, event
    )


class DirectDelivery:
    """Delivers translate's outputs in-process; what fails is queued to the route instead."""

    def __init__(self, routes: Sequence[DirectRoute]) -> None:
        self.routes = tuple(routes)
        self._matching: dict[str, tuple[DirectRoute, ...]] = {}

    def _routes_for(self, routing_key: str) -> tuple[DirectRoute, ...]:
        found = self._matching.get(routing_key)
        if found is None:
            found = tuple(route for route in self.routes if route.matches(routing_key))
            if len(self._matching) >= _MATCH_CACHE_LIMIT:
                self._matching.clear()
            self._matching[routing_key] = found
        return found

    def route(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Deliver the FORWARD outcomes' events; return the outcomes with what is left to
        publish: events queued to a route whose direct delivery failed, and unmatched ones."""
        left: list[list[OutMessage]] = [[] for _ in outcomes]
        pending: dict[DirectRoute, list[tuple[int, OutMessage]]] = {}
        for index, outcome in enumerate(outcomes):
            if outcome.kind is not OutcomeKind.FORWARD:
                continue
            for message in outcome.outputs:
                routes = self._routes_for(message.routing_key)
                if not routes:
                    left[index].append(message)
                for route in routes:
                    pending.setdefault(route, []).append((index, message))
        for route, entries in pending.items():
            try:
                decisions, unroutable = route.stage.deliver_routable([_item(message) for _, message in entries])
            except Exception as exc:  # the deliver worker retries or dead-letters from the queue
                failed, error = entries, exc
            else:
                if unroutable is None:
                    continue
                failed = [entry for entry, decision in zip(entries, decisions, strict=True) if decision is None]
                error = unroutable
            log.log(
                logging.DEBUG if getattr(error, "reported", False) else logging.WARNING,
                "direct delivery to route %s failed (%s: %s); queueing %d event(s) to %s",
                route.name,
                type(error).__name__,
                error,
                len(failed),
                route.stage.queue,
            )
            for index, message in failed:
                left[index].append(replace(message, exchange="", routing_key=route.stage.queue))
        return [
            replace(outcome, outputs=tuple(left[index]))
            if outcome.kind is OutcomeKind.FORWARD and outcome.outputs
            else outcome
            for index, outcome in enumerate(outcomes)
        ]
