"""The sink interface: write a batch of canonical events to a target, or raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["Sink", "SinkItem"]


class SinkItem(Protocol):
    """What a sink receives per event (the ledger's DeliveryItem)."""

    message_id: str
    payload: Any  # the canonical envelope (dict)


class Sink(Protocol):
    """A target the bridge delivers canonical events to.

    ``write`` is called inside the ledger transaction that records the delivery: when it
    returns, the events are durably at the target; when it raises, nothing is recorded and the
    batch is retried (TransientError) or dead-lettered (PermanentError, e.g. BusinessRejection).
    """

    name: str

    def write(self, items: Sequence[SinkItem]) -> None:
        """Deliver the events, in order."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def envelope_of(item: SinkItem) -> Mapping[str, Any]:
    """The envelope carried by a sink item."""
    return item.payload
