"""The broker topology as data, declared idempotently on the real broker or the stub.

Every work queue is durable, of the configured type (quorum by default), has a dead-letter
exchange and, for quorum queues, an ``x-delivery-limit`` (RabbitMQ 3.10 sets none by default),
so a message that keeps crashing workers ends in the dead-letter queue instead of looping.

The MES's feedback comes in on a topic exchange of its own (``mes.feedback`` by default,
routing key ``<entity>.<event>``); the bridge's work queue on it takes ``report.*`` and ``lot.*``
and is declared with the rest, so the MES can publish before the bridge first runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.broker.names import Names

__all__ = ["FEEDBACK_EVENTS", "Binding", "Exchange", "Queue", "RouteLike", "Topology", "build_topology"]

#: The events the bridge takes from the MES's feedback exchange.
FEEDBACK_EVENTS = ("report.*", "lot.*")


class RouteLike(Protocol):
    """What topology needs of a configured route."""

    name: str
    sink: str
    events: Sequence[str]


@dataclass(frozen=True, slots=True)
class Exchange:
    """A durable exchange."""

    name: str
    type: str  # direct | topic | fanout


@dataclass(frozen=True, slots=True)
class Queue:
    """A durable queue and its arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def dead_letter_routing_key(self) -> str | None:
        """Where a rejected or expired message of this queue goes (routing key)."""
        return self.arguments.get("x-dead-letter-routing-key")


@dataclass(frozen=True, slots=True)
class Binding:
    """Queue bound to an exchange with a routing key / topic pattern."""

    queue: str
    exchange: str
    routing_key: str


@dataclass(frozen=True, slots=True)
class Topology:
    """Everything to declare, and the work queues by role."""

    exchanges: tuple[Exchange, ...]
    queues: tuple[Queue, ...]
    bindings: tuple[Binding, ...]
    work_queues: tuple[str, ...]
    retry_tiers: tuple[float, ...]

    def queue(self, name: str) -> Queue:
        """The queue called ``name``."""
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(name)


def _work_queue(name: str, names: Names, queue_type: str, delivery_limit: int) -> Queue:
    arguments: dict[str, Any] = {
        "x-queue-type": queue_type,
        "x-dead-letter-exchange": names.dead_letter_exchange,
        "x-dead-letter-routing-key": name,
    }
    if queue_type == "quorum":
        arguments["x-delivery-limit"] = delivery_limit
    return Queue(name, arguments)


def _satellites(work: str, names: Names, queue_type: str, tiers: Iterable[float]) -> list[Queue]:
    queues = [Queue(names.dead_letter_queue(work), {"x-queue-type": queue_type})]
    for seconds in tiers:
        queues.append(
            Queue(
                names.retry_queue(work, seconds),
                {
                    "x-queue-type": queue_type,
                    "x-message-ttl": round(seconds * 1000),
                    # back to the work queue through the default exchange when the TTL ends
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": work,
                },
            )
        )
    return queues


def build_topology(
    names: Names,
    *,
    routes: Sequence[RouteLike],
    queue_type: str = "quorum",
    delivery_limit: int = 10,
    retry_tiers: Sequence[float] = (5, 30, 300, 1800),
    feedback: bool = True,
) -> Topology:
    """The whole topology for these routes.

    Args:
        feedback: declare the MES feedback exchange and the bridge's queue on it.
    """
    exchanges = [
        Exchange(names.inbound_exchange, "topic"),
        Exchange(names.canonical_exchange, "topic"),
        Exchange(names.dead_letter_exchange, "direct"),
    ]
    if any(route.sink == "mes" for route in routes):
        exchanges.append(Exchange(names.mes_exchange, "topic"))
    work = [names.translate_queue] + [names.deliver_queue(route.name) for route in routes]
    queues: list[Queue] = []
    bindings = [Binding(names.translate_queue, names.inbound_exchange, "#")]
    if feedback:
        exchanges.append(Exchange(names.feedback_exchange, "topic"))
        work.append(names.feedback_queue)
        bindings.extend(Binding(names.feedback_queue, names.feedback_exchange, e) for e in FEEDBACK_EVENTS)
    for route in routes:
        for pattern in route.events:
            bindings.append(Binding(names.deliver_queue(route.name), names.canonical_exchange, pattern))
    for name in work:
        queues.append(_work_queue(name, names, queue_type, delivery_limit))
        queues.extend(_satellites(name, names, queue_type, retry_tiers))
        bindings.append(Binding(names.dead_letter_queue(name), names.dead_letter_exchange, name))
    return Topology(tuple(exchanges), tuple(queues), tuple(bindings), tuple(work), tuple(retry_tiers))
