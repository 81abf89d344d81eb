"""A sink's committed position, read under lock and saved in the delivery's transaction.

A file sink stores the byte offset its file had when the last delivery committed. Before the
next write it cuts off anything after that offset (lines written by a delivery whose
transaction never committed, e.g. the process was killed), so each event is in the file once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from bridge.ledger.models import SinkStateRow, table_of

__all__ = ["lock_state", "save_state"]

_STATE = table_of(SinkStateRow)


def _insert(conn: Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_STATE)


def lock_state(conn: Connection, target: str, now: datetime) -> str | None:
    """The committed state of ``target`` (None the first time), locked until the transaction ends.

    PostgreSQL: the row is locked FOR UPDATE, so deliveries to one stateful target run one at a
    time across processes; SQLite: the ledger's write transactions are already exclusive.
    """
    conn.execute(_insert(conn).values(target=target, state="", updated_at=now).on_conflict_do_nothing())
    query = select(_STATE.c.state).where(_STATE.c.target == target)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    state = conn.execute(query).scalar_one()
    return state or None


def save_state(conn: Connection, target: str, state: str, now: datetime) -> None:
    """Store the state reached by this delivery."""
    conn.execute(_STATE.update().where(_STATE.c.target == target).values(state=state, updated_at=now))
