"""An in-memory broker for unit tests that routes, requeues and dead-letters like RabbitMQ.

:class:`StubBroker` keeps exchanges, queues and bindings declared from a
:class:`~bridge.broker.topology.Topology` and routes published messages the way RabbitMQ does:
the default exchange ``""`` by queue name, ``direct`` exchanges by exact routing key, ``topic``
exchanges by AMQP patterns (``*`` one word, ``#`` zero or more words), ``fanout`` to every bound
queue. :class:`StubChannel` has the methods and semantics of
:class:`~bridge.broker.amqp.AmqpChannel`, so pipeline code runs unchanged on it.

Behaviour copied from RabbitMQ 3.10 quorum queues (checked against the real broker):

* publishing is mandatory and confirmed at once; messages no queue receives raise
  :class:`~bridge.broker.confirms.UnroutableError` naming every exchange and routing key returned;
* a requeued message (``nack(requeue=True)`` or a closed channel) goes back to the front of its
  queue, in the order it was returned, flagged ``redelivered``, with its delivery count raised;
  past ``x-delivery-limit`` it is dead-lettered with reason ``delivery_limit``;
* ``nack(requeue=False)`` dead-letters with reason ``rejected``; a message whose queue TTL
  (``x-message-ttl``) ran out on the fake clock (:meth:`StubBroker.advance`) with ``expired``;
* dead-lettering republishes to ``x-dead-letter-exchange`` with ``x-dead-letter-routing-key``
  (or the original routing keys) and adds ``x-death`` (newest first) and ``x-first-death-*``;
  a message that cannot be dead-lettered (no DLX, unroutable, a cycle) is dropped, and kept in
  :attr:`StubBroker.dropped` for inspection;
* deliveries from quorum queues carry ``x-delivery-count``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.broker.confirms import PublishError, UnroutableError
from bridge.broker.messages import Delivery, OutMessage
from bridge.broker.routing import topic_matches
from bridge.broker.stub_deaths import add_death, is_cycle
from bridge.broker.topology import Binding, Exchange, Queue, Topology
from bridge.errors import ConfigError, TransientError

__all__ = [
    "StubBroker",
    "StubChannel",
    "StubDeadLetterStore",
    "StubProtocolError",
]

_EXCHANGE_TYPES = frozenset({"direct", "topic", "fanout"})


class StubProtocolError(RuntimeError):
    """A channel misuse the real broker answers by closing the channel (unknown delivery tag)."""


@dataclass(slots=True)
class _Message:
    """A message as the broker stores it in one queue."""

    exchange: str
    routing_keys: list[str]
    body: bytes
    message_id: str | None
    type: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    timestamp: int | None
    content_type: str | None
    enqueued_at: float = 0.0
    delivery_count: int = 0
    redelivered: bool = False

    def copy(self) -> _Message:
        return replace(self, headers=copy.deepcopy(self.headers), routing_keys=list(self.routing_keys))


@dataclass(slots=True)
class _Queue:
    """A declared queue: returned messages are delivered before the others (as quorum queues)."""

    name: str
    arguments: dict[str, Any]
    ready: deque[_Message] = field(default_factory=deque)
    returns: deque[_Message] = field(default_factory=deque)

    @property
    def quorum(self) -> bool:
        return self.arguments.get("x-queue-type") == "quorum"

    def pop(self) -> _Message | None:
        if self.returns:
            return self.returns.popleft()
        if self.ready:
            return self.ready.popleft()
        return None

    def all(self) -> Iterator[_Message]:
        yield from self.returns
        yield from self.ready

    def __len__(self) -> int:
        return len(self.returns) + len(self.ready)


class StubBroker:
    """An in-memory RabbitMQ for unit tests (one vhost, no network, a fake clock).

    Args:
        start: the fake clock's start, in epoch seconds (default: the real time now).

    Attributes:
        unroutable: every message a publish could not route (mandatory: the publish failed).
        dropped: ``(reason, message)`` for every message the broker discarded while
            dead-lettering it (no dead-letter exchange, unroutable, or a dead-letter cycle).
    """

    def __init__(self, *, start: float | None = None) -> None:
        self._lock = threading.RLock()
        self._now = time.time() if start is None else start
        self._exchanges: dict[str, Exchange] = {}
        self._queues: dict[str, _Queue] = {}
        self._bindings: list[Binding] = []
        self._channels: list[StubChannel] = []
        self._published: dict[str, list[OutMessage]] = {}
        self._failures: deque[str] = deque()
        self.unroutable: list[OutMessage] = []
        self.dropped: list[tuple[str, Delivery]] = []

    # -- declaring -------------------------------------------------------------------------

    def declare(self, topology: Topology) -> None:
        """Declare every exchange, queue and binding (idempotent, like on the real broker).

        Raises:
            ConfigError: an exchange or queue exists with another type or other arguments
                (RabbitMQ answers ``PRECONDITION_FAILED``), or a binding names an undeclared
                exchange or queue (``NOT_FOUND``).
        """
        with self._lock:
            for exchange in topology.exchanges:
                self._declare_exchange(exchange)
            for queue in topology.queues:
                self._declare_queue(queue)
            for binding in topology.bindings:
                self._bind(binding)

    def bind(self, queue: str, exchange: str, routing_key: str = "#") -> None:
        """Bind ``queue`` (declared without arguments if new) to an existing exchange.

        For tests standing in for a consumer outside the topology (e.g. the MES side).
        """
        with self._lock:
            if queue not in self._queues:
                self._declare_queue(Queue(queue))
            self._bind(Binding(queue, exchange, routing_key))

    def _declare_exchange(self, exchange: Exchange) -> None:
        if not exchange.name or exchange.name.startswith("amq."):
            raise ConfigError(f"ACCESS_REFUSED - exchange name {exchange.name!r} is reserved")
        if exchange.type not in _EXCHANGE_TYPES:
            raise ConfigError(f"COMMAND_INVALID - unknown exchange type {exchange.type!r}")
        existing = self._exchanges.get(exchange.name)
        if existing is not None and existing.type != exchange.type:
            raise ConfigError(
                f"PRECONDITION_FAILED - inequivalent arg 'type' for exchange {exchange.name!r}: "
                f"received {exchange.type!r} but current is {existing.type!r}"
            )
        self._exchanges[exchange.name] = exchange

    def _declare_queue(self, queue: Queue) -> None:
        existing = self._queues.get(queue.name)
        if existing is None:
            self._queues[queue.name] = _Queue(queue.name, dict(queue.arguments))
            return
        if existing.arguments != dict(queue.arguments):
            keys = sorted(set(existing.arguments) | set(queue.arguments))
            differing = [k for k in keys if existing.arguments.get(k) != queue.arguments.get(k)]
            name = differing[0]
            raise ConfigError(
                f"PRECONDITION_FAILED - inequivalent arg {name!r} for queue {queue.name!r}: "
                f"received {queue.arguments.get(name)!r} but current is {existing.arguments.get(name)!r}"
            )

    def _bind(self, binding: Binding) -> None:
        if binding.exchange not in self._exchanges:
            raise ConfigError(f"NOT_FOUND - no exchange {binding.exchange!r} to bind {binding.queue!r} to")
        if binding.queue not in self._queues:
            raise ConfigError(f"NOT_FOUND - no queue {binding.queue!r} to bind to {binding.exchange!r}")
        if binding not in self._bindings:
            self._bindings.append(binding)

    # -- channels --------------------------------------------------------------------------

    def channel(self, *, prefetch: int | None = None, name: str = "channel") -> StubChannel:
        """A new open channel (like :meth:`AmqpConnection.channel`)."""
        channel = StubChannel(self, prefetch=prefetch, name=name)
        with self._lock:
            self._channels.append(channel)
        return channel

    def reconnect(self) -> None:
        """Simulate a lost and re-established connection.

        Every open channel's unacked messages go back to their queues, its ``generation``
        increases and delivery tags start again at 1, so acks of older deliveries are ignored.
        """
        with self._lock:
            for channel in list(self._channels):
                channel._reset()

    # -- inspection and test controls ------------------------------------------------------

    @property
    def now(self) -> float:
        """The fake clock, in epoch seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the fake clock on; messages whose queue TTL ran out are dead-lettered (``expired``)."""
        if seconds < 0:
            raise ValueError("the clock cannot go back")
        with self._lock:
            self._now += seconds
            for queue in list(self._queues.values()):
                self._expire(queue)

    def messages(self, queue: str) -> list[Delivery]:
        """Copies of the messages ready in ``queue``, in the order they will be delivered."""
        with self._lock:
            found = self._queue(queue)
            return [self._delivery(found, message, 0, 0) for message in found.all()]

    def depth(self, queue: str) -> int:
        """How many messages are ready in ``queue`` (not counting unacked ones)."""
        with self._lock:
            return len(self._queue(queue))

    def unacked(self, queue: str) -> int:
        """How many messages of ``queue`` are delivered on some channel and not acked yet."""
        with self._lock:
            return sum(1 for ch in self._channels for q, _m in ch._unacked.values() if q == queue)

    def published(self, exchange: str) -> list[OutMessage]:
        """Every message the broker accepted (routed and confirmed) on ``exchange``, in order."""
        with self._lock:
            return list(self._published.get(exchange, []))

    def fail_next_publish(
        self, reason: str = "the broker refused the message (nack)", times: int = 1
    ) -> None:
        """Make the next ``times`` publish calls raise TransientError(reason), delivering nothing."""
        with self._lock:
            self._failures.extend([reason] * times)

    def queue_names(self) -> list[str]:
        """Every declared queue, in declaration order."""
        with self._lock:
            return list(self._queues)

    # -- internals -------------------------------------------------------------------------

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise ConfigError(f"NOT_FOUND - no queue {name!r}") from None

    def _delivery(self, queue: _Queue, message: _Message, tag: int, generation: int) -> Delivery:
        headers = copy.deepcopy(message.headers)
        if queue.quorum:
            headers["x-delivery-count"] = message.delivery_count
        return Delivery(
            queue=queue.name,
            delivery_tag=tag,
            exchange=message.exchange,
            routing_key=message.routing_keys[0],
            body=message.body,
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            headers=headers,
            redelivered=message.redelivered,
            timestamp=message.timestamp,
            content_type=message.content_type,
            generation=generation,
        )

    def _route(self, exchange: str, routing_key: str) -> list[str]:
        if exchange == "":
            return [routing_key] if routing_key in self._queues else []
        kind = self._exchanges[exchange].type
        targets: list[str] = []
        for binding in self._bindings:
            if binding.exchange != exchange or binding.queue in targets:
                continue
            if (
                kind == "fanout"
                or (kind == "direct" and binding.routing_key == routing_key)
                or (kind == "topic" and topic_matches(binding.routing_key, routing_key))
            ):
                targets.append(binding.queue)
        return targets

    def _enqueue(self, message: _Message, targets: Sequence[str]) -> None:
        for name in targets:
            stored = message.copy()
            stored.enqueued_at = self._now
            stored.delivery_count = 0
            stored.redelivered = False
            self._queues[name].ready.append(stored)

    def _publish(self, messages: Sequence[OutMessage]) -> None:
        """Route a batch like a confirmed, mandatory publish; raise after routing the rest."""
        if self._failures:
            raise PublishError(self._failures.popleft(), messages)
        returned: list[OutMessage] = []
        for out in messages:
            if out.exchange and out.exchange not in self._exchanges:
                # the real broker closes the channel: nothing after this message is sent
                raise TransientError(
                    f"channel closed before the broker confirmed: NOT_FOUND - no exchange {out.exchange!r}"
                )
            targets = self._route(out.exchange, out.routing_key)
            if not targets:
                self.unroutable.append(out)
                returned.append(out)
                continue
            message = _Message(
                exchange=out.exchange,
                routing_keys=[out.routing_key],
                body=out.body,
                message_id=out.message_id,
                type=out.type,
                correlation_id=out.correlation_id,
                headers=copy.deepcopy(dict(out.headers)),
                timestamp=out.timestamp if out.timestamp is not None else int(self._now),
                content_type=out.content_type,
            )
            self._enqueue(message, targets)
            self._published.setdefault(out.exchange, []).append(out)
        if returned:
            raise UnroutableError({m.message_id: (m.exchange, m.routing_key) for m in returned}, returned)

    def _requeue(self, queue_name: str, message: _Message) -> None:
        """A delivered message comes back: front of the queue, or dead-lettered past the limit."""
        queue = self._queues.get(queue_name)
        if queue is None:  # deleted meanwhile
            return
        message.delivery_count += 1
        limit = queue.arguments.get("x-delivery-limit")
        if limit is not None and message.delivery_count > int(limit):
            self._dead_letter(queue, message, "delivery_limit")
            return
        message.redelivered = True
        queue.returns.append(message)

    def _expire(self, queue: _Queue) -> None:
        ttl = queue.arguments.get("x-message-ttl")
        if ttl is None:
            return
        deadline = self._now - int(ttl) / 1000
        for lane in (queue.returns, queue.ready):
            kept: deque[_Message] = deque()
            expired: list[_Message] = []
            for message in lane:
                (expired if message.enqueued_at <= deadline else kept).append(message)
            lane.clear()
            lane.extend(kept)
            for message in expired:
                self._dead_letter(queue, message, "expired")

    def _dead_letter(self, queue: _Queue, message: _Message, reason: str) -> None:
        exchange = queue.arguments.get("x-dead-letter-exchange")
        if exchange is None:
            self._drop(queue, message, f"{reason}: {queue.name} has no dead-letter exchange")
            return
        routing_key = queue.arguments.get("x-dead-letter-routing-key")
        keys = [routing_key] if routing_key is not None else list(message.routing_keys)
        add_death(message.headers, reason, queue.name, message.exchange, message.routing_keys, self._now)
        if exchange and exchange not in self._exchanges:
            self._drop(queue, message, f"{reason}: no dead-letter exchange {exchange!r}")
            return
        targets: list[str] = []
        for key in keys:
            targets.extend(t for t in self._route(exchange, key) if t not in targets)
        targets = [t for t in targets if not is_cycle(t, message.headers.get("x-death", []))]
        if not targets:
            self._drop(queue, message, f"{reason}: nothing bound for {exchange}/{'|'.join(keys)}")
            return
        message.exchange = exchange
        message.routing_keys = keys
        self._enqueue(message, targets)

    def _drop(self, queue: _Queue, message: _Message, reason: str) -> None:
        self.dropped.append((reason, self._delivery(queue, message, 0, 0)))


from bridge.broker.stub_channel import StubChannel, StubDeadLetterStore  # noqa: E402  (re-exported)
