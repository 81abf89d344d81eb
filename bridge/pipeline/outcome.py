"""What a stage decides for each delivery of a batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from bridge.broker.messages import OutMessage
from bridge.errors import BridgeError

__all__ = ["Outcome", "OutcomeKind"]


class OutcomeKind(Enum):
    """Forward (publish outputs, then ack), retry later, or dead-letter now."""

    FORWARD = "forward"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision for one delivery.

    Attributes:
        kind: what to do with the delivery.
        outputs: messages to publish before the delivery is acked (FORWARD).
        error: why it failed (RETRY, DEAD_LETTER).
        note: facts for the journal (entity, business key, version...).
    """

    kind: OutcomeKind
    outputs: Sequence[OutMessage] = ()
    error: BridgeError | None = None
    note: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def forward(cls, outputs: Sequence[OutMessage] = (), **note: Any) -> Outcome:
        """Publish ``outputs`` (maybe none) and ack."""
        return cls(OutcomeKind.FORWARD, tuple(outputs), None, note)

    @classmethod
    def retry(cls, error: BridgeError, **note: Any) -> Outcome:
        """Try again later through the retry queues."""
        return cls(OutcomeKind.RETRY, (), error, note)

    @classmethod
    def dead_letter(cls, error: BridgeError, **note: Any) -> Outcome:
        """Send to the dead-letter queue now."""
        return cls(OutcomeKind.DEAD_LETTER, (), error, note)
