"""The stub broker's channel (the API of AmqpChannel) and its dead-letter store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bridge.broker.messages import Delivery, OutMessage
from bridge.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from bridge.broker.stub import StubBroker, _Message


def _protocol_error(text: str) -> Exception:
    from bridge.broker.stub import StubProtocolError

    return StubProtocolError(text)

__all__ = ["StubChannel", "StubDeadLetterStore"]


class StubChannel:
    """A channel of :class:`StubBroker` with the API of :class:`~bridge.broker.amqp.AmqpChannel`.

    Deliveries are handed out when :meth:`get_batch` is called (never more unacked than
    ``prefetch``); publishing is confirmed at once.

    Attributes:
        prefetch: the most unacked deliveries at a time (``None``: unlimited).
        name: a label for messages.
        generation: increases when the broker simulates a reconnect.
        closed: whether :meth:`close` was called.
    """

    def __init__(self, broker: StubBroker, *, prefetch: int | None, name: str) -> None:
        self._broker = broker
        self.prefetch = prefetch
        self.name = name
        self.generation = 1
        self.closed = False
        self._queue: str | None = None
        self._cancelled = False
        self._next_tag = 0
        self._unacked: dict[int, tuple[str, _Message]] = {}

    def consume(self, queue_name: str) -> None:
        """Consume ``queue_name`` (raises ConfigError at once if it is not declared)."""
        with self._broker._lock:
            self._broker._queue(queue_name)
            self._queue = queue_name
            self._cancelled = False

    def wait_ready(self, timeout: float) -> bool:
        """Whether the channel is open (never waits)."""
        return not self.closed

    def get_batch(self, max_items: int, wait: float, block: float = 1.0) -> list[Delivery]:
        """Up to ``max_items`` ready deliveries at once (never waits), within the prefetch limit."""
        broker = self._broker
        with broker._lock:
            if self.closed or self._cancelled or self._queue is None:
                return []
            limit = max_items
            if self.prefetch:
                limit = min(limit, self.prefetch - len(self._unacked))
            queue = broker._queue(self._queue)
            batch: list[Delivery] = []
            while len(batch) < limit:
                message = queue.pop()
                if message is None:
                    break
                self._next_tag += 1
                self._unacked[self._next_tag] = (queue.name, message)
                batch.append(broker._delivery(queue, message, self._next_tag, self.generation))
            return batch

    def publish(self, messages: Sequence[OutMessage], timeout: float = 30.0) -> None:
        """Publish (persistent, mandatory, confirmed at once).

        Raises:
            TransientError: the channel is closed, a message is unroutable (the routable ones
                are delivered), the exchange does not exist, or :meth:`StubBroker.fail_next_publish`.
        """
        if not messages:
            return
        with self._broker._lock:
            if self.closed:
                raise TransientError(f"not connected to the broker (channel {self.name})")
            self._broker._publish(messages)

    def ack_batch(self, deliveries: Sequence[Delivery]) -> int:
        """Ack every unacked delivery up to the batch's highest tag (``multiple``).

        Returns how many of ``deliveries`` belong to the current generation.

        Raises:
            StubProtocolError: the highest tag is not unacked on this channel (the real broker
                closes the channel with ``PRECONDITION_FAILED - unknown delivery tag``; so does
                the stub, before raising).
        """
        current = [d for d in deliveries if d.generation == self.generation]
        if not current:
            return 0
        with self._broker._lock:
            if self.closed:
                return len(current)
            last = max(d.delivery_tag for d in current)
            if last not in self._unacked:
                self.close()
                raise _protocol_error(f"PRECONDITION_FAILED - unknown delivery tag {last}")
            for tag in [t for t in self._unacked if t <= last]:
                del self._unacked[tag]
            return len(current)

    def nack(self, deliveries: Sequence[Delivery], *, requeue: bool) -> None:
        """Nack one by one: requeue to the front (counting the delivery) or dead-letter (``rejected``)."""
        broker = self._broker
        with broker._lock:
            if self.closed:
                return
            for delivery in deliveries:
                if delivery.generation != self.generation:
                    continue
                entry = self._unacked.pop(delivery.delivery_tag, None)
                if entry is None:
                    self.close()
                    raise _protocol_error(
                        f"PRECONDITION_FAILED - unknown delivery tag {delivery.delivery_tag}"
                    )
                queue_name, message = entry
                if requeue:
                    broker._requeue(queue_name, message)
                elif queue_name in broker._queues:
                    broker._dead_letter(broker._queues[queue_name], message, "rejected")

    def cancel(self) -> None:
        """Stop consuming: :meth:`get_batch` returns nothing from now on."""
        self._cancelled = True

    def close(self) -> None:
        """Close the channel: its unacked messages go back to their queues, in delivery order."""
        with self._broker._lock:
            if self.closed:
                return
            self._return_unacked()
            self.closed = True
            if self in self._broker._channels:
                self._broker._channels.remove(self)

    def _ack_one(self, delivery_tag: int) -> None:
        """Ack a single delivery (``multiple=False``), for :class:`StubDeadLetterStore`."""
        with self._broker._lock:
            if self._unacked.pop(delivery_tag, None) is None:
                raise _protocol_error(f"PRECONDITION_FAILED - unknown delivery tag {delivery_tag}")

    def _return_unacked(self) -> None:
        unacked, self._unacked = self._unacked, {}
        for tag in sorted(unacked):
            queue_name, message = unacked[tag]
            self._broker._requeue(queue_name, message)

    def _reset(self) -> None:
        self._return_unacked()
        self.generation += 1
        self._next_tag = 0


class StubDeadLetterStore:
    """:class:`bridge.broker.dlq.DeadLetterStore` on a :class:`StubBroker`.

    Like the RabbitMQ store it takes messages with a get-without-ack, acks the ones it removes
    and gives the others back by closing the channel (so they return in order, redelivered).
    """

    def __init__(self, broker: StubBroker) -> None:
        self._broker = broker
        self._held: dict[str, StubChannel] = {}
        self._publisher = broker.channel(name="dlq-publish")

    def fetch(self, queue: str) -> list[Delivery]:
        """Hold every message ready in ``queue`` (unacked), in queue order."""
        previous = self._held.pop(queue, None)
        if previous is not None:
            previous.close()
        channel = self._broker.channel(name=f"dlq-{queue}")
        try:
            channel.consume(queue)
        except ConfigError:
            channel.close()
            raise
        self._held[queue] = channel
        return channel.get_batch(self._broker.depth(queue) or 1, 0.0)

    def remove(self, delivery: Delivery) -> None:
        """Ack one held message: it is gone from its queue."""
        channel = self._held.get(delivery.queue)
        if channel is None or channel.closed or delivery.generation != channel.generation:
            raise TransientError(f"delivery {delivery.delivery_tag} of {delivery.queue} is no longer held")
        channel._ack_one(delivery.delivery_tag)

    def republish(self, message: OutMessage) -> None:
        """Publish one message and wait for its confirm (TransientError if it is not routed)."""
        self._publisher.publish([message])

    def release(self) -> None:
        """Give every held, not removed, message back to its queue (front, in order)."""
        held, self._held = self._held, {}
        for channel in held.values():
            channel.close()

    def close(self) -> None:
        """Release everything and close the publishing channel."""
        self.release()
        self._publisher.close()
