"""One dead letter read from its message: what failed, where, when and why (the ``x-bridge-*``
headers the pipeline sets, or the broker's ``x-death`` for a message it dead-lettered by
itself), how to filter it, and the copy that replays it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.broker.messages import Delivery, Headers, OutMessage
from bridge.errors import PermanentError
from bridge.redaction import redact

__all__ = ["DeadLetter", "DeadLetterFilter", "decode_payload", "replay_message", "to_dead_letter"]

#: Headers the broker changes each time it hands a message out: not part of a letter's identity.
_VOLATILE_HEADERS = frozenset({"x-delivery-count", "x-acquired-count"})
#: Broker dead-letter bookkeeping, dropped on replay.
_DEATH_PREFIXES = ("x-death", "x-first-death-", "x-last-death-")
_ERROR_PREFIX = "x-bridge-error-"


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, described for people and filters.

    ``id`` is the message id, or (without one) a stable hash of the body and headers.
    ``age_seconds`` counts from the last failure (else the message's timestamp); ``None`` when
    neither is known. Times are timezone-aware UTC.
    """

    id: str
    queue: str
    source_system: str | None
    document_type: str | None
    document_id: str | None
    stage: str | None
    error_class: str | None
    error_message: str | None
    mapping: str | None
    field: str | None
    attempts: int
    first_failure: datetime | None
    last_failure: datetime | None
    age_seconds: float | None
    original_exchange: str | None
    original_routing_key: str | None
    replay_count: int
    body: bytes
    headers: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    original_queue: str | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    message_type: str | None = None
    content_type: str | None = None
    timestamp: int | None = None

    @property
    def broker_made(self) -> bool:
        """Whether the broker dead-lettered it by itself (``x-death``, no ``x-bridge-error-class``)."""
        return Headers.ERROR_CLASS not in self.headers and bool(_deaths(self.headers))


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.casefold() == actual.casefold())


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters an operation applies to; every criterion given must match.

    Text criteria ignore case. ``queue`` may name the dead-letter queue or its work queue.
    A letter whose age is unknown matches no age criterion.
    """

    ids: tuple[str, ...] = ()
    source_system: str | None = None
    document_type: str | None = None
    error_class: str | None = None
    older_than_s: float | None = None
    newer_than_s: float | None = None
    queue: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when it matches every dead letter (no criterion given)."""
        return self == DeadLetterFilter()

    def matches(self, dl: DeadLetter) -> bool:
        """Whether ``dl`` satisfies every criterion."""
        if self.ids and dl.id not in self.ids:
            return False
        if not (
            _same(self.source_system, dl.source_system)
            and _same(self.document_type, dl.document_type)
            and _same(self.error_class, dl.error_class)
        ):
            return False
        if self.queue is not None and self.queue not in (dl.queue, dl.original_queue):
            return False
        if self.older_than_s is not None and (dl.age_seconds is None or dl.age_seconds < self.older_than_s):
            return False
        return self.newer_than_s is None or (
            dl.age_seconds is not None and dl.age_seconds <= self.newer_than_s
        )


# -- reading a delivery ------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(_text(value) or default)
    except ValueError:
        return default


def _time(value: Any) -> datetime | None:
    """ISO text, epoch seconds or a datetime (naive = UTC) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(_text(value) or "")
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _deaths(headers: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    deaths = headers.get("x-death")
    return [d for d in deaths if isinstance(d, Mapping)] if isinstance(deaths, list | tuple) else []


def _stable_id(body: bytes, headers: Mapping[str, Any]) -> str:
    identity = {k: v for k, v in headers.items() if k not in _VOLATILE_HEADERS}
    digest = hashlib.sha256(body)
    digest.update(json.dumps(identity, sort_keys=True, default=str).encode())
    return "sha256:" + digest.hexdigest()[:24]


def to_dead_letter(delivery: Delivery, *, now: datetime | None = None) -> DeadLetter:
    """Describe a message fetched from a dead-letter queue."""
    headers = dict(delivery.headers)
    deaths = _deaths(headers)
    newest = deaths[0] if deaths else {}
    keys = newest.get("routing-keys") or []
    death_exchange = _text(newest.get("exchange"))
    death_key = _text(keys[0]) if keys else None
    death_times = [t for t in (_time(d.get("time")) for d in deaths) if t is not None]

    error_class = _text(headers.get(Headers.ERROR_CLASS))
    header_exchange = _text(headers.get(Headers.ORIGINAL_EXCHANGE))
    header_key = _text(headers.get(Headers.ORIGINAL_ROUTING_KEY))
    if error_class is None and deaths:  # dead-lettered by the broker itself
        reason = _text(newest.get("reason"))
        error_class = reason
        error_message = (
            f"dead-lettered by the broker from {_text(newest.get('queue'))} ({reason}, "
            f"{_int(newest.get('count'), 1)} time(s))"
        )
        original_exchange = death_exchange if death_exchange is not None else header_exchange
        original_key = death_key if death_key is not None else header_key
        original_queue = _text(newest.get("queue")) or _text(headers.get(Headers.ORIGINAL_QUEUE))
    else:
        error_message = _text(headers.get(Headers.ERROR_MESSAGE))
        if error_message is not None:  # written by an older bridge, or by another producer
            error_message = redact(error_message)
        original_exchange = header_exchange if header_exchange is not None else death_exchange
        original_key = header_key if header_key is not None else death_key
        original_queue = _text(headers.get(Headers.ORIGINAL_QUEUE)) or _text(newest.get("queue"))

    first = _time(headers.get(Headers.FIRST_FAILURE)) or (min(death_times) if death_times else None)
    last = _time(headers.get(Headers.LAST_FAILURE)) or (death_times[0] if death_times else None)
    reference = last or (_time(delivery.timestamp) if delivery.timestamp else None)
    moment = now or datetime.now(UTC)
    return DeadLetter(
        id=delivery.message_id or _stable_id(delivery.body, headers),
        queue=delivery.queue,
        source_system=_text(headers.get(Headers.SOURCE_SYSTEM)),
        document_type=_text(headers.get(Headers.DOCUMENT_TYPE)),
        document_id=_text(headers.get(Headers.DOCUMENT_ID)),
        stage=_text(headers.get(Headers.STAGE)),
        error_class=error_class,
        error_message=error_message,
        mapping=_text(headers.get(Headers.MAPPING)),
        field=_text(headers.get(Headers.FIELD)),
        attempts=_int(headers.get(Headers.ATTEMPTS)),
        first_failure=first,
        last_failure=last,
        age_seconds=(moment - reference).total_seconds() if reference else None,
        original_exchange=original_exchange,
        original_routing_key=original_key,
        replay_count=_int(headers.get(Headers.REPLAY_COUNT)),
        body=delivery.body,
        headers=headers,
        original_queue=original_queue,
        message_id=delivery.message_id,
        correlation_id=delivery.correlation_id,
        message_type=delivery.type,
        content_type=delivery.content_type,
        timestamp=delivery.timestamp,
    )


def replay_message(dl: DeadLetter, *, by: str, at: datetime | None = None) -> OutMessage:
    """The message a replay publishes: the original route, body and properties, replay headers.

    Raises:
        PermanentError: the letter does not say where it came from.
    """
    if dl.original_exchange is None or not dl.original_routing_key:
        raise PermanentError(f"dead letter {dl.id} in {dl.queue} has no original exchange/routing key")
    headers = {
        k: v
        for k, v in dl.headers.items()
        if not k.startswith(_ERROR_PREFIX)
        and not k.startswith(_DEATH_PREFIXES)
        and k not in _VOLATILE_HEADERS
    }
    headers[Headers.ATTEMPTS] = 0
    headers[Headers.REPLAY_COUNT] = dl.replay_count + 1
    headers[Headers.REPLAYED_AT] = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    headers[Headers.REPLAYED_BY] = by
    return OutMessage(
        exchange=dl.original_exchange,
        routing_key=dl.original_routing_key,
        body=dl.body,
        message_id=dl.message_id or "",
        type=dl.message_type or "",
        correlation_id=dl.correlation_id,
        headers=headers,
        timestamp=dl.timestamp,
        content_type=dl.content_type or "application/octet-stream",
    )


def decode_payload(dl: DeadLetter) -> str:
    """The payload as text: pretty-printed if it is JSON, else UTF-8 as is, else ``repr``."""
    try:
        text = dl.body.decode("utf-8")
    except UnicodeDecodeError:
        return repr(dl.body)
    try:
        return json.dumps(json.loads(text.lstrip("\ufeff")), indent=2, ensure_ascii=False)
    except ValueError:
        return text
