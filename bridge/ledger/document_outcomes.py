"""What became of a source system's documents, for sources that tell their sender (an IDoc's
status back to SAP): the translate outcomes not reported yet, and the record of each report.

A report is a journal row of its own stage (e.g. ``status:sap``) beside the document's
``translate`` row, so a document is reported once: the unique ``(message_id, stage)`` keeps a
second report of it from being recorded, and the rows not reported are those without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from bridge.ledger.engine import _database_errors
from bridge.ledger.models import JournalRow, table_of

__all__ = ["DocumentOutcome", "DocumentOutcomes"]

_JOURNAL = table_of(JournalRow)
#: Translate outcomes that will not change: the document became events, or a dead letter.
_FINAL = ("translated", "dead_lettered")


@dataclass(frozen=True)
class DocumentOutcome:
    """A document's translate outcome: ``translated`` or ``dead_lettered`` (with its error)."""

    message_id: str
    document_type: str
    document_key: str
    status: str
    error: str | None


class DocumentOutcomes:
    """The journal's translate outcomes of one ledger, and their reports."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def unreported(self, source_system: str, report_stage: str, limit: int = 500) -> list[DocumentOutcome]:
        """The oldest final translate outcomes of ``source_system``'s documents that have no
        ``report_stage`` row yet (at most ``limit``)."""
        reported = _JOURNAL.alias("reported")
        query = (
            select(_JOURNAL.c.message_id, _JOURNAL.c.document_type, _JOURNAL.c.document_key,
                   _JOURNAL.c.status, _JOURNAL.c.error)
            .where(
                _JOURNAL.c.stage == "translate",
                _JOURNAL.c.source_system == source_system,
                _JOURNAL.c.status.in_(_FINAL),
                ~exists().where(and_(reported.c.message_id == _JOURNAL.c.message_id, reported.c.stage == report_stage)),
            )
            .order_by(_JOURNAL.c.id)
            .limit(limit)
        )
        action = f"read the unreported outcomes of {source_system}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            rows = conn.execute(query).all()
        return [DocumentOutcome(r.message_id, r.document_type, r.document_key, r.status, r.error) for r in rows]

    def mark_reported(self, outcomes: Sequence[DocumentOutcome], source_system: str, report_stage: str, what: str) -> None:
        """Record that ``outcomes`` were reported (``what``: e.g. the IDoc that carried them)."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        action = f"record {len(outcomes)} reports to {source_system}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_JOURNAL)
            conn.execute(
                insert.on_conflict_do_nothing(index_elements=["message_id", "stage"]),
                [
                    {"message_id": o.message_id, "stage": report_stage, "source_system": source_system,
                     "document_type": o.document_type, "document_key": o.document_key, "status": "reported",
                     "error": what[:4000], "attempts": 1, "created_at": now, "updated_at": now}
                    for o in outcomes
                ],
            )
