"""Holds that keep a target's events of one serial key (a production order) in order.

An event that fails transiently goes through the retry queues and comes back later; without a
hold, a later event of the same order could reach the target first. So the failing event holds
its key, every other event of that key waits (retried without using up its own retries) until
the holder is delivered or dead-lettered, and then they follow in the order they come back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bridge.ledger.engine import _database_errors
from bridge.ledger.models import SerialHoldRow, table_of

__all__ = ["SerialHolds"]

_HOLDS = table_of(SerialHoldRow)


class SerialHolds:
    """The serial-hold table of one :class:`~bridge.ledger.Ledger`."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def holder(self, target: str, serial_key: str) -> tuple[str, datetime] | None:
        """The message holding ``serial_key`` at ``target`` and since when, if any."""
        action = f"read the hold on {serial_key}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            row = conn.execute(
                select(_HOLDS.c.message_id, _HOLDS.c.since).where(
                    _HOLDS.c.target == target, _HOLDS.c.serial_key == serial_key
                )
            ).first()
        if row is None:
            return None
        since = row.since if row.since.tzinfo else row.since.replace(tzinfo=UTC)
        return str(row.message_id), since

    def hold(self, target: str, serial_key: str, message_id: str) -> str:
        """Hold ``serial_key`` for ``message_id`` unless another message does; the holder."""
        action = f"hold {serial_key}"
        insert = (postgresql.insert if self._ledger.engine.dialect.name == "postgresql" else sqlite.insert)(_HOLDS)
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            conn.execute(
                insert.values(target=target, serial_key=serial_key, message_id=message_id, since=datetime.now(UTC))
                .on_conflict_do_nothing()
            )
            return str(
                conn.execute(
                    select(_HOLDS.c.message_id).where(_HOLDS.c.target == target, _HOLDS.c.serial_key == serial_key)
                ).scalar_one()
            )

    def release(self, target: str, message_ids: list[str]) -> None:
        """Release every hold of these messages (delivered, or dead-lettered)."""
        if not message_ids:
            return
        action = f"release {len(message_ids)} hold(s)"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            conn.execute(delete(_HOLDS).where(_HOLDS.c.target == target, _HOLDS.c.message_id.in_(message_ids)))

    def holds(self, target: str) -> dict[str, str]:
        """Every hold at ``target``: serial key -> message id (for operators and tests)."""
        action = "list holds"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            rows = conn.execute(select(_HOLDS.c.serial_key, _HOLDS.c.message_id).where(_HOLDS.c.target == target))
            return {row.serial_key: row.message_id for row in rows}
