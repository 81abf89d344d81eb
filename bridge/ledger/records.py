"""The ledger's records: what callers write and read (journal entries, raw payloads, deliveries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Decision", "DeliveryItem", "JournalEntry", "JournalStatus", "RawRecord", "delivery_key"]


class JournalStatus(StrEnum):
    """Where a message stands at one stage."""

    RECEIVED = "received"
    TRANSLATED = "translated"
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    STALE = "stale"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    REPLAYED = "replayed"


class Decision(StrEnum):
    """What :meth:`Ledger.deliver` did with one item."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass(frozen=True)
class RawRecord:
    """A payload exactly as received, for the raw archive.

    ``received_at`` defaults to the time of archiving; naive datetimes are taken as UTC.
    """

    message_id: str
    source_system: str
    document_type: str
    document_key: str
    payload: bytes
    content_type: str = "application/octet-stream"
    received_at: datetime | None = None


@dataclass(frozen=True)
class JournalEntry:
    """One journal row: a message at one stage (``ingest``, ``translate``, ``deliver:<target>``).

    ``created_at`` and ``updated_at`` are filled in when reading the journal and ignored when
    recording.
    """

    message_id: str
    stage: str
    status: str
    source_system: str = ""
    document_type: str = ""
    document_key: str = ""
    entity: str | None = None
    business_key: str | None = None
    version: str | None = None
    error: str | None = None
    correlation_id: str | None = None
    attempts: int = 0
    created_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DeliveryItem:
    """One change for a target: a version of a business object; ``payload`` goes to the writer as is."""

    message_id: str
    entity: str
    business_key: str
    version: str
    payload: Any = None


def delivery_key(item: DeliveryItem) -> str:
    """Return the idempotency key of ``item``: ``<entity>:<business key>:<version>``."""
    return f"{item.entity}:{item.business_key}:{item.version}"
