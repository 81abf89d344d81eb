"""The dead-letter store on RabbitMQ (pika ``BlockingConnection``) behind ``bridge dlq``.

Implements :class:`bridge.broker.dlq.DeadLetterStore`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import pika
import pika.exceptions
from pika.spec import BasicProperties

from bridge.broker.messages import Delivery, OutMessage
from bridge.errors import BridgeError, ConfigError, TransientError
from bridge.redaction import redact

__all__ = ["RabbitDeadLetterStore"]

log = logging.getLogger(__name__)


class RabbitDeadLetterStore:
    """:class:`DeadLetterStore` on RabbitMQ through a pika ``BlockingConnection``.

    Messages are taken with ``basic.get`` (no ack) on one confirm-mode channel; closing that
    channel gives back every message not acked, in order. A quorum queue takes them back
    asynchronously, so :meth:`release` waits (up to ``settle_timeout`` s) until the queue holds
    at least as many ready messages as before minus the removed ones: the next operation, in
    this process or another, sees them. Use as a context manager, or call :meth:`close`.

    Args:
        url: ``amqp://user:password@host:port/vhost``.
        name: connection name shown in the RabbitMQ management UI.
        settle_timeout: how long :meth:`release` waits for the messages to be back.
    """

    def __init__(self, url: str, *, name: str = "erp-mes-bridge dlq", settle_timeout: float = 10.0) -> None:
        try:
            params = pika.URLParameters(url)
        except Exception as exc:
            raise ConfigError(redact(f"invalid AMQP URL: {exc}")) from None
        params.client_properties = {"connection_name": name}
        params.connection_attempts = 1
        self._params = params
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._generation = 0
        self._settle_timeout = settle_timeout
        self._expected: dict[str, int] = {}  # queue -> ready messages once everything is back

    def __enter__(self) -> RabbitDeadLetterStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        try:
            if self._connection is None or not self._connection.is_open:
                self._connection = pika.BlockingConnection(self._params)
            channel = self._connection.channel()
            channel.confirm_delivery()
        except pika.exceptions.AMQPError as exc:
            raise TransientError(
                redact(f"cannot connect to RabbitMQ at {self._params.host}:{self._params.port}: {exc!r}")
            ) from exc
        self._channel = channel
        self._generation += 1
        return channel

    def _failed(self, exc: pika.exceptions.AMQPError, doing: str) -> BridgeError:
        if isinstance(exc, pika.exceptions.ChannelClosedByBroker):
            self._channel = None  # the broker gave back everything it held
            if exc.reply_code == 404:
                return ConfigError(f"{doing}: {exc.reply_text}")
            return TransientError(
                f"{doing}: the broker closed the channel ({exc.reply_code} {exc.reply_text})"
            )
        return TransientError(redact(f"{doing}: {exc!r}"))

    def fetch(self, queue: str) -> list[Delivery]:
        """Hold every message ``queue`` has now (at most its depth at the start), in order."""
        channel = self._open()
        try:
            count = channel.queue_declare(queue, passive=True).method.message_count
            self._expected[queue] = self._expected.get(queue, 0) + count
            deliveries: list[Delivery] = []
            while len(deliveries) < count:
                method, props, body = channel.basic_get(queue, auto_ack=False)
                if method is None:
                    break
                deliveries.append(Delivery.from_pika(queue, method, props, body, self._generation))
        except pika.exceptions.AMQPError as exc:
            raise self._failed(exc, f"cannot read queue {queue!r}") from exc
        return deliveries

    def remove(self, delivery: Delivery) -> None:
        """Ack one held message."""
        channel = self._channel
        if channel is None or not channel.is_open or delivery.generation != self._generation:
            raise TransientError(f"message {delivery.delivery_tag} of {delivery.queue} is no longer held")
        try:
            channel.basic_ack(delivery_tag=delivery.delivery_tag)
        except pika.exceptions.AMQPError as exc:
            raise self._failed(exc, f"cannot remove a message from {delivery.queue!r}") from exc
        if delivery.queue in self._expected:
            self._expected[delivery.queue] -= 1

    def republish(self, message: OutMessage) -> None:
        """Publish one message (persistent, mandatory) and wait for its confirm."""
        channel = self._open()
        properties = BasicProperties(
            content_type=message.content_type,
            delivery_mode=2,
            message_id=message.message_id or None,
            correlation_id=message.correlation_id,
            type=message.type or None,
            timestamp=message.timestamp,
            headers=dict(message.headers),
        )
        route = f"{message.exchange}/{message.routing_key}"
        try:
            channel.basic_publish(
                message.exchange, message.routing_key, message.body, properties, mandatory=True
            )
        except pika.exceptions.UnroutableError as exc:
            raise TransientError(f"unroutable: no queue is bound for {route}") from exc
        except pika.exceptions.NackError as exc:
            raise TransientError(f"the broker refused the message for {route} (nack)") from exc
        except pika.exceptions.AMQPError as exc:
            error = self._failed(exc, f"cannot publish to {route}")
            raise TransientError(str(error)) from exc

    def release(self) -> None:
        """Close the channel (the broker gives back every message not acked, in order) and wait
        until the queues hold them again."""
        channel, self._channel = self._channel, None
        expected, self._expected = self._expected, {}
        if channel is not None and channel.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                channel.close()
        with contextlib.suppress(BridgeError, pika.exceptions.AMQPError):
            self._settle(expected)

    def _settle(self, expected: Mapping[str, int]) -> None:
        deadline = time.monotonic() + self._settle_timeout
        pending = {queue: count for queue, count in expected.items() if count > 0}
        while pending:
            channel = self._open()
            for queue in list(pending):
                if channel.queue_declare(queue, passive=True).method.message_count >= pending[queue]:
                    del pending[queue]
            if not pending:
                return
            if time.monotonic() > deadline:
                log.warning("dead letters given back to %s are not all ready yet", ", ".join(pending))
                return
            time.sleep(0.05)

    def close(self) -> None:
        """Release held messages and close the connection."""
        self.release()
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()
