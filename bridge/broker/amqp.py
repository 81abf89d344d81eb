"""RabbitMQ through pika: one connection per process, driven by an IO thread.

pika's ``SelectConnection`` runs its ioloop on a background thread: it keeps heartbeats,
receives deliveries into each channel's inbox and receives publisher confirms. Worker threads
use a blocking, batch-oriented API on top of it:

* :meth:`AmqpChannel.get_batch` waits for up to ``batch_size`` deliveries;
* :meth:`AmqpChannel.publish` sends a whole batch of messages at once and waits until the
  broker confirmed every one (confirms are pipelined: one wait per batch, not per message);
  a nack, a lost connection or no confirm in time raises
  :class:`~bridge.broker.confirms.PublishError`, returned (``mandatory``, unroutable) messages
  :class:`~bridge.broker.confirms.UnroutableError`; both carry the messages not confirmed;
* :meth:`AmqpChannel.ack_batch` acks a processed batch with one ``multiple`` ack.

When the connection drops, the IO thread reconnects with exponential backoff and reopens every
channel with its consumer. Deliveries received on the old connection cannot be acked any more;
the broker redelivers them, and the ledger's idempotency makes that harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import pika
import pika.exceptions
from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from bridge.broker.confirms import PublishError, UnroutableError
from bridge.broker.messages import Delivery, OutMessage

__all__ = ["AmqpChannel", "AmqpConnection"]

log = logging.getLogger(__name__)

#: Delivery mode 2: the broker writes the message to disk (with a durable queue).
PERSISTENT = 2


class _Pending:
    """Confirms outstanding for one published batch, message by message."""

    __slots__ = ("aborted", "acked", "done", "messages", "nacked", "remaining", "reply_text", "returned")

    def __init__(self, messages: Sequence[OutMessage]) -> None:
        self.messages = messages
        self.remaining = len(messages)
        self.acked = bytearray(len(messages))  # 1: the broker took this message (ack, not returned)
        self.nacked = 0
        self.returned: dict[int, tuple[str, str]] = {}  # index -> (exchange, routing key)
        self.reply_text = ""
        self.aborted: str | None = None
        self.done = threading.Event()
        if not messages:
            self.done.set()

    def settle(self, index: int, ok: bool) -> None:
        if ok:
            if index not in self.returned:
                self.acked[index] = 1
        else:
            self.nacked += 1
        self.remaining -= 1
        if self.remaining <= 0:
            self.done.set()

    def abort(self, reason: str) -> None:
        self.aborted = self.aborted or reason
        self.done.set()

    def unconfirmed(self) -> list[OutMessage]:
        """The messages the broker did not take (nacked, returned or never confirmed)."""
        return [message for message, acked in zip(self.messages, self.acked, strict=True) if not acked]

    def error(self) -> PublishError | None:
        """Why not every message was confirmed, or None when all were."""
        if self.aborted:
            return PublishError(self.aborted, self.unconfirmed())
        if self.returned:
            returned = {self.messages[i].message_id: route for i, route in self.returned.items()}
            return UnroutableError(returned, self.unconfirmed(), reply_text=self.reply_text or "NO_ROUTE")
        if self.nacked:
            return PublishError(
                f"the broker refused {self.nacked} message(s) (nack)", self.unconfirmed()
            )
        return None


def _properties(message: OutMessage) -> BasicProperties:
    return BasicProperties(
        content_type=message.content_type,
        delivery_mode=PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp if message.timestamp is not None else int(time.time()),
        headers=dict(message.headers),
    )


class AmqpChannel:
    """One channel of the process's connection: consume one queue and/or publish with confirms.

    Created by :meth:`AmqpConnection.channel`; survives reconnects (a new pika channel is
    opened for each connection incarnation, its ``generation``).
    """

    def __init__(self, connection: AmqpConnection, *, prefetch: int | None, name: str) -> None:
        self._connection = connection
        self.prefetch = prefetch
        self.name = name
        self.inbox: queue.Queue[Delivery] = queue.Queue()
        self._queue: str | None = None
        self._consumer_tag: str | None = None
        self._channel: Channel | None = None
        self.generation = 0
        self._ready = threading.Event()
        self._next_tag = 0
        self._pending: dict[int, tuple[_Pending, int]] = {}  # publish tag -> (batch, index in it)
        self._order: deque[int] = deque()  # pending publish tags, oldest first
        self._cancelled = threading.Event()

    # -- called on the IO thread ---------------------------------------------------------

    def _open(self, connection: pika.SelectConnection, generation: int) -> None:
        def opened(channel: Channel) -> None:
            self._channel = channel
            self.generation = generation
            self._next_tag = 0
            self._order.clear()
            channel.add_on_close_callback(self._closed)
            channel.add_on_return_callback(self._returned)
            channel.confirm_delivery(self._confirmed, callback=lambda _frame: self._qos(channel))

        connection.channel(on_open_callback=opened)

    def _qos(self, channel: Channel) -> None:
        if self.prefetch:
            channel.basic_qos(prefetch_count=self.prefetch, callback=lambda _frame: self._consume(channel))
        else:
            self._consume(channel)

    def _consume(self, channel: Channel) -> None:
        if self._queue and not self._cancelled.is_set():
            self._consumer_tag = channel.basic_consume(self._queue, self._on_message, auto_ack=False)
        self._ready.set()

    def _on_message(
        self, channel: Channel, method: Basic.Deliver, props: BasicProperties, body: bytes
    ) -> None:
        self.inbox.put(Delivery.from_pika(self._queue or "", method, props, body, self.generation))

    def _confirmed(self, frame: Any) -> None:
        method = frame.method
        ok = isinstance(method, Basic.Ack)
        pending, order = self._pending, self._order
        if method.multiple:
            # tags are confirmed in publish order: pop from the left up to the confirmed tag
            while order and order[0] <= method.delivery_tag:
                entry = pending.pop(order.popleft(), None)
                if entry is not None:
                    entry[0].settle(entry[1], ok)
            return
        entry = pending.pop(method.delivery_tag, None)
        if entry is not None:
            entry[0].settle(entry[1], ok)
        while order and order[0] not in pending:
            order.popleft()

    def _returned(self, channel: Channel, method: Basic.Return, props: BasicProperties, body: bytes) -> None:
        # A return comes before the ack of the same message, and returns come in publish order:
        # the oldest unconfirmed message with this id and routing key is the one returned.
        for tag in self._order:
            entry = self._pending.get(tag)
            if entry is None:
                continue
            batch, index = entry
            message = batch.messages[index]
            if (
                index not in batch.returned
                and message.message_id == props.message_id
                and message.routing_key == method.routing_key
            ):
                batch.returned[index] = (method.exchange, method.routing_key)
                batch.reply_text = batch.reply_text or str(method.reply_text)
                return

    def _closed(self, channel: Channel, reason: Exception) -> None:
        # a lost connection lands here twice: pika's channel callback and AmqpConnection._lost
        known = self._channel is not None
        self._ready.clear()
        self._channel = None
        pending, self._pending = self._pending, {}
        self._order.clear()
        for batch, _index in pending.values():
            batch.abort(f"channel closed before the broker confirmed: {reason}")
        if known and not self._connection.closing:
            log.warning("channel %s closed: %s", self.name, reason)
            self._connection.reopen_later(self)

    # -- called from worker threads ------------------------------------------------------

    def consume(self, queue_name: str) -> None:
        """Consume ``queue_name`` into this channel's inbox (now and after every reconnect)."""
        self._queue = queue_name
        self._connection.register(self)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the channel is open (and consuming); False on timeout."""
        return self._ready.wait(timeout)

    def get_batch(self, max_items: int, wait: float, block: float = 1.0) -> list[Delivery]:
        """Up to ``max_items`` deliveries: waits ``block`` s for the first, then ``wait`` s more."""
        try:
            first = self.inbox.get(timeout=block)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + wait
        while len(batch) < max_items:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def publish(self, messages: Sequence[OutMessage], timeout: float = 30.0) -> None:
        """Publish all messages (persistent, mandatory) and wait until every one is confirmed.

        Raises:
            UnroutableError: the broker returned messages no queue is bound for (it names
                every exchange/routing key returned).
            PublishError: a nack, a lost connection or no confirm within ``timeout`` seconds.
                Both carry the messages not confirmed: publishing those again is safe because
                every consumer is idempotent.
        """
        if not messages:
            return
        if not self._ready.wait(timeout):
            raise PublishError(f"not connected to the broker (channel {self.name})", messages)
        pending = _Pending(messages)

        def send() -> None:
            channel = self._channel
            if channel is None or not channel.is_open:
                pending.abort("channel closed")
                return
            for index, message in enumerate(messages):
                self._next_tag += 1
                self._pending[self._next_tag] = (pending, index)
                self._order.append(self._next_tag)
                channel.basic_publish(
                    message.exchange, message.routing_key, message.body, _properties(message), mandatory=True
                )

        self._connection.call(send)
        if not pending.done.wait(timeout):
            raise PublishError(
                f"the broker did not confirm {pending.remaining} message(s) within {timeout:.0f} s",
                pending.unconfirmed(),
            )
        error = pending.error()
        if error is not None:
            raise error

    def ack_batch(self, deliveries: Sequence[Delivery]) -> int:
        """Ack every delivery up to the batch's last (one ``multiple`` ack); returns how many
        belonged to the current connection (the others will be redelivered by the broker)."""
        current = [d for d in deliveries if d.generation == self.generation]
        if not current:
            return 0
        last = max(d.delivery_tag for d in current)
        generation = self.generation

        def ack() -> None:
            channel = self._channel
            if channel is not None and channel.is_open and self.generation == generation:
                channel.basic_ack(delivery_tag=last, multiple=True)

        self._connection.call(ack)
        return len(current)

    def nack(self, deliveries: Sequence[Delivery], *, requeue: bool) -> None:
        """Nack deliveries one by one (requeue, or dead-letter through the queue's DLX)."""
        generation = self.generation
        tags = [d.delivery_tag for d in deliveries if d.generation == generation]

        def nack() -> None:
            channel = self._channel
            if channel is not None and channel.is_open and self.generation == generation:
                for tag in tags:
                    channel.basic_nack(delivery_tag=tag, multiple=False, requeue=requeue)

        if tags:
            self._connection.call(nack)

    def queue_depths(self, queues: Sequence[str], timeout: float = 5.0) -> dict[str, int]:
        """Ready messages per queue (passive declares on this channel); missing answers are left out."""
        results: dict[str, int] = {}
        done = threading.Event()
        remaining = [len(queues)]
        if not queues or not self._ready.wait(timeout):
            return results

        def answered(name: str) -> Callable[[Any], None]:
            def callback(frame: Any) -> None:
                results[name] = frame.method.message_count
                remaining[0] -= 1
                if remaining[0] <= 0:
                    done.set()

            return callback

        def declare() -> None:
            channel = self._channel
            if channel is None or not channel.is_open:
                done.set()
                return
            for name in queues:
                channel.queue_declare(name, passive=True, callback=answered(name))

        self._connection.call(declare)
        done.wait(timeout)
        return dict(results)

    def cancel(self) -> None:
        """Stop consuming (deliveries already in the inbox stay there to be finished)."""
        self._cancelled.set()

        def cancel() -> None:
            if self._channel is not None and self._channel.is_open and self._consumer_tag:
                self._channel.basic_cancel(self._consumer_tag)

        self._connection.call(cancel)


from bridge.broker.amqp_connection import AmqpConnection  # noqa: E402  (re-exported; it builds AmqpChannels)
