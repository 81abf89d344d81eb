"""The sink interface: write a batch of canonical events to a target, or raise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Sink", "SinkEvent", "SinkItem", "body_of", "envelope_of"]


@dataclass(slots=True)
class SinkEvent:
    """A canonical event as the deliver stage hands it over: the exact bytes translate
    produced (sent on unchanged), what routing needs, and the parsed envelope on demand."""

    body: bytes
    entity: str
    event: str
    message_id: str
    correlation_id: str | None = None
    version: str = ""
    _envelope: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def envelope(self) -> Mapping[str, Any]:
        """The envelope, parsed on first use."""
        if self._envelope is None:
            self._envelope = json.loads(self.body)
        return self._envelope


class SinkItem(Protocol):
    """What a sink receives per event (the ledger's DeliveryItem)."""

    message_id: str
    payload: Any  # a SinkEvent


class Sink(Protocol):
    """A target the bridge delivers canonical events to.

    ``write`` is called inside the ledger transaction that records the delivery: when it
    returns, the events are durably at the target; when it raises, nothing is recorded and the
    batch is retried (TransientError) or dead-lettered (PermanentError, e.g. BusinessRejection).
    A sink with ``stateful = True`` gets ``write(items, state)`` and returns its new state.
    """

    name: str

    def write(self, items: Sequence[SinkItem]) -> Any:
        """Deliver the events, in order."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def event_of(item: SinkItem) -> SinkEvent:
    """The event carried by a sink item (a plain envelope dict is wrapped)."""
    payload = item.payload
    if isinstance(payload, SinkEvent):
        return payload
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return SinkEvent(
        body,
        str(payload.get("entity", "")),
        str(payload.get("event", "")),
        str(payload.get("message_id", item.message_id)),
        payload.get("correlation_id"),
        str(payload.get("version", "")),
        dict(payload),
    )


def envelope_of(item: SinkItem) -> Mapping[str, Any]:
    """The envelope carried by a sink item."""
    return event_of(item).envelope


def body_of(item: SinkItem) -> bytes:
    """The envelope's JSON bytes, as translate produced them."""
    return event_of(item).body
