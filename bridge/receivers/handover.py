"""Handing a receiver's documents to the ingest path, and what the sender hears when that fails.

Every receiver answers the same way: 503 with ``Retry-After`` when the broker or the ledger
could not take the documents in time (the sender sends again: same bytes, same ids, nothing
doubled), 500 when the bridge refused them for another reason. Secrets in the reason are masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bridge.errors import BridgeError, TransientError
from bridge.redaction import redact

__all__ = ["RETRY_AFTER_S", "NotTaken", "hand_over"]

log = logging.getLogger(__name__)

#: What a 503 tells the sender to wait before sending again (seconds).
RETRY_AFTER_S = 5


class NotTaken(Exception):
    """The documents were not taken: the HTTP status, text and headers to answer with."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


def hand_over(
    ingest: Callable[[Sequence[tuple[bytes, str]]], Sequence[Any]],
    documents: Sequence[tuple[bytes, str]],
    what: str,
    client: str,
) -> Sequence[Any]:
    """``ingest(documents)``; its raw documents once the broker confirmed them.

    Raises:
        NotTaken: 503 (retry) or 500 (refused), naming why.
    """
    try:
        return ingest(documents)
    except TransientError as exc:
        log.warning("%s from %s not taken yet: %s", what, client, exc)
        raise NotTaken(503, f"not accepted, send again: {redact(str(exc))}", {"Retry-After": str(RETRY_AFTER_S)}) from None
    except BridgeError as exc:
        log.error("%s from %s refused by the bridge: %s", what, client, exc)
        raise NotTaken(500, f"the bridge could not take the {what}: {redact(str(exc))}") from None
