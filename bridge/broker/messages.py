"""Messages in and out of the broker, and the headers the bridge puts on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_SHORT_STRING_BYTES", "Delivery", "Headers", "OutMessage", "oversized_short_strings"]

#: AMQP 0-9-1 short strings (routing key, message id, correlation id, type) hold at most this
#: many bytes; pika refuses longer ones in its I/O thread, where no caller can catch it.
MAX_SHORT_STRING_BYTES = 255


class Headers:
    """AMQP header names the bridge sets (all start with ``x-bridge-``)."""

    SOURCE_SYSTEM = "x-bridge-source-system"
    DOCUMENT_TYPE = "x-bridge-document-type"
    DOCUMENT_ID = "x-bridge-document-id"
    ORIGIN = "x-bridge-origin"
    RECEIVED_AT = "x-bridge-received-at"  # when ingest took the document (ISO 8601, microseconds)
    ENTITY = "x-bridge-entity"
    EVENT = "x-bridge-event"
    VERSION = "x-bridge-version"
    BUSINESS_KEY = "x-bridge-business-key"
    ATTEMPTS = "x-bridge-attempts"
    STAGE = "x-bridge-stage"
    ERROR_CLASS = "x-bridge-error-class"
    ERROR_MESSAGE = "x-bridge-error-message"
    MAPPING = "x-bridge-mapping"
    FIELD = "x-bridge-field"
    FIRST_FAILURE = "x-bridge-first-failure"
    LAST_FAILURE = "x-bridge-last-failure"
    ORIGINAL_EXCHANGE = "x-bridge-original-exchange"
    ORIGINAL_ROUTING_KEY = "x-bridge-original-routing-key"
    ORIGINAL_QUEUE = "x-bridge-original-queue"
    REPLAY_COUNT = "x-bridge-replay-count"
    REPLAYED_AT = "x-bridge-replayed-at"
    REPLAYED_BY = "x-bridge-replayed-by"


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to publish (persistent, mandatory, confirmed)."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    type: str
    correlation_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    timestamp: int | None = None
    content_type: str = "application/octet-stream"


def oversized_short_strings(message: OutMessage) -> list[str]:
    """``"message_id (322 bytes)"`` for each short-string property of ``message`` that AMQP
    cannot carry (over :data:`MAX_SHORT_STRING_BYTES` bytes)."""
    found = []
    for name in ("routing_key", "message_id", "correlation_id", "type"):
        value = getattr(message, name)
        size = len(value.encode("utf-8")) if value else 0
        if size > MAX_SHORT_STRING_BYTES:
            found.append(f"{name} ({size} bytes)")
    return found


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message received from a queue, with what is needed to ack it on its channel."""

    queue: str
    delivery_tag: int
    exchange: str
    routing_key: str
    body: bytes
    message_id: str | None
    type: str | None
    correlation_id: str | None
    headers: Mapping[str, Any]
    redelivered: bool
    timestamp: int | None = None
    content_type: str | None = None
    generation: int = 0  # which connection/channel incarnation delivered it

    @classmethod
    def from_pika(cls, queue: str, method: Any, props: Any, body: bytes, generation: int = 0) -> Delivery:
        """A delivery from pika's (method, properties, body) of ``basic.deliver`` or ``basic.get``."""
        return cls(
            queue=queue,
            delivery_tag=method.delivery_tag,
            exchange=method.exchange,
            routing_key=method.routing_key,
            body=body,
            message_id=props.message_id,
            type=props.type,
            correlation_id=props.correlation_id,
            headers=props.headers or {},
            redelivered=method.redelivered,
            timestamp=props.timestamp,
            content_type=props.content_type,
            generation=generation,
        )

    def header(self, name: str, default: Any = None) -> Any:
        """A header value, bytes decoded as UTF-8."""
        value = self.headers.get(name, default)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    def as_out(self, exchange: str, routing_key: str, headers: Mapping[str, Any]) -> OutMessage:
        """This message re-addressed (for retry and dead-letter copies), headers replaced."""
        return OutMessage(
            exchange=exchange,
            routing_key=routing_key,
            body=self.body,
            message_id=self.message_id or "",
            type=self.type or "",
            correlation_id=self.correlation_id,
            headers=headers,
            timestamp=self.timestamp,
            content_type=self.content_type or "application/octet-stream",
        )
