"""Journal entries as rows: checked, stamped, and the one entry per message a delivery makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridge.ledger.records import Decision, DeliveryItem, JournalEntry
from bridge.ledger.statements import _DELIVERY_RANK, _DELIVERY_STATUS, _ENTRY_FIELDS, _STAGES, _STATUSES

__all__ = ["check_entry", "delivery_journal", "journal_row"]


def check_entry(entry: JournalEntry) -> None:
    if entry.status not in _STATUSES:
        raise ValueError(f"journal status {entry.status!r} is not one of {sorted(_STATUSES)}")
    if entry.stage not in _STAGES and not (
        entry.stage.startswith("deliver:") and len(entry.stage) > len("deliver:")
    ):
        raise ValueError(f"journal stage {entry.stage!r} is not ingest, translate or deliver:<target>")


def journal_row(entry: JournalEntry, now: datetime) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in _ENTRY_FIELDS}
    row["status"] = str(entry.status)
    row["created_at"] = now
    row["updated_at"] = now
    return row


def delivery_journal(
    target: str, items: Sequence[DeliveryItem], decisions: list[Decision]
) -> list[JournalEntry]:
    """One journal entry per message: delivered if any of its items applied, else stale, else duplicate."""
    best: dict[str, tuple[DeliveryItem, Decision]] = {}
    for item, decision in zip(items, decisions, strict=True):
        seen = best.get(item.message_id)
        if seen is None or _DELIVERY_RANK[decision] < _DELIVERY_RANK[seen[1]]:
            best[item.message_id] = (item, decision)
    return [
        JournalEntry(
            message_id=item.message_id,
            stage=f"deliver:{target}",
            status=_DELIVERY_STATUS[decision],
            entity=item.entity,
            business_key=item.business_key,
            version=item.version,
            attempts=1,
        )
        for item, decision in best.values()
    ]
