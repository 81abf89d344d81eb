"""Where each polling source stands: its watermark, read when a poll starts and saved once the
documents it took in are confirmed by the broker (a crash in between polls them again; the
ledger absorbs the duplicates).

A position is the source's own text (a poller stores JSON: the last modification time and id it
took in). ``bridge <system> backfill`` sets it back with :meth:`SourcePositions.set`; the
running poller reads it again before each poll, so it goes back without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bridge.ledger.engine import _database_errors
from bridge.ledger.models import SourcePositionRow, table_of

__all__ = ["SourcePosition", "SourcePositions"]

_POSITIONS = table_of(SourcePositionRow)


@dataclass(frozen=True)
class SourcePosition:
    """A saved position, when and by whom (``poller``, or the operator of a backfill)."""

    source: str
    position: str
    updated_at: datetime
    updated_by: str


class SourcePositions:
    """The positions of one ledger's polling sources."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def get(self, source: str) -> SourcePosition | None:
        """The saved position of ``source`` (None before its first save)."""
        action = f"read the position of {source}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            row = conn.execute(select(_POSITIONS).where(_POSITIONS.c.source == source)).first()
        if row is None:
            return None
        return SourcePosition(row.source, row.position, row.updated_at, row.updated_by)

    def set(self, source: str, position: str, by: str = "poller") -> None:
        """Save ``position`` as where ``source`` stands now."""
        now = datetime.now(UTC)
        action = f"save the position of {source}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_POSITIONS)
            values = {"position": position, "updated_at": now, "updated_by": by[:200]}
            conn.execute(
                insert.values(source=source, **values).on_conflict_do_update(index_elements=["source"], set_=values)
            )

    def all(self, prefix: str = "") -> list[SourcePosition]:
        """Every saved position whose source name starts with ``prefix``, by name."""
        action = "read the source positions"
        query = select(_POSITIONS).where(_POSITIONS.c.source.startswith(prefix, autoescape=True)).order_by(_POSITIONS.c.source)
        with self._ledger._transaction(action) as conn, _database_errors(action):
            rows = conn.execute(query).all()
        return [SourcePosition(r.source, r.position, r.updated_at, r.updated_by) for r in rows]
