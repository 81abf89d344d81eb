"""Remote calls and order facts in the ledger: the bookkeeping behind exactly-once ERP postings.

A remote sink's call is recorded ``in_flight`` in a committed transaction *before* it is made,
and its acknowledgement (the documents the target made) in another one after. Between the two,
no transaction is open: a 30-second BAPI call holds no lock. When the process is killed between
the target's reply and the second commit, the row stays ``in_flight``, and the next attempt
knows the call is in doubt and must be looked up at the target before it is sent again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bridge.adapter.sink import Acknowledgement
from bridge.errors import TransientError
from bridge.ledger.engine import _database_errors
from bridge.ledger.models import AppliedVersionRow, IdempotencyKeyRow, OrderFactRow, RemoteCallRow, table_of

__all__ = ["CallState", "RemoteCallLedger", "StartedCall"]

_CALLS = table_of(RemoteCallRow)
_FACTS = table_of(OrderFactRow)
_KEYS = table_of(IdempotencyKeyRow)
_VERSIONS = table_of(AppliedVersionRow)


class CallState(StrEnum):
    """Where a call stands when an attempt starts."""

    NEW = "new"  # never tried: send it
    IN_DOUBT = "in_doubt"  # tried before, outcome unknown: look it up first
    DONE = "done"  # settled: its acknowledgement is known


@dataclass(frozen=True)
class StartedCall:
    """The outcome of :meth:`RemoteCallLedger.start`."""

    state: CallState
    attempts: int
    acknowledgement: Acknowledgement | None = None


def _insert(conn: Any, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


# The statements of every call, built once: SQLAlchemy then only binds their values (building
# a statement anew costs more CPU than SQLite spends running it).
_THIS_CALL = (_CALLS.c.target == bindparam("b_target"), _CALLS.c.call_key == bindparam("b_key"))
_NEW_CALL = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_CALLS)
    .values(
        target=bindparam("b_target"), call_key=bindparam("b_key"), message_id=bindparam("b_message"),
        operation=bindparam("b_operation"), state="in_flight", attempts=1, started_at=bindparam("b_now"),
    )
    .on_conflict_do_nothing()
    .returning(_CALLS.c.call_key)
    for dialect in (postgresql, sqlite)
}
_CALL_STATE = select(_CALLS.c.state, _CALLS.c.attempts, _CALLS.c.acknowledgement, _CALLS.c.started_at).where(*_THIS_CALL)
_CALL_STATE_LOCKED = _CALL_STATE.with_for_update()
_RESTART = update(_CALLS).where(*_THIS_CALL).values(
    state="in_flight", attempts=bindparam("b_attempts"), started_at=bindparam("b_now"), message_id=bindparam("b_message")
)
_SETTLE = update(_CALLS).where(*_THIS_CALL).values(
    state="done", acknowledgement=bindparam("b_ack"), error=None, settled_at=bindparam("b_now")
)


def _now() -> datetime:
    return datetime.now(UTC)


class RemoteCallLedger:
    """The remote-call and order-fact tables of one :class:`~bridge.ledger.Ledger`."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def start(
        self, target: str, call_key: str, *, message_id: str, operation: str, lease_s: float = 60.0
    ) -> StartedCall:
        """Record an attempt of the call (committed before the call is made).

        Returns NEW for a call never tried or answered as not sent, IN_DOUBT for one whose earlier attempt ended without
        an answer (its reply lost, or its process killed more than ``lease_s`` ago), DONE with the
        acknowledgement for a settled one.

        Raises:
            TransientError: the database is unavailable, or another worker's attempt of this call
                is in flight (started less than ``lease_s`` ago): the call is not made now.
        """
        action = f"start call {call_key} to {target}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            return self._start(conn, target, call_key, message_id=message_id, operation=operation, lease_s=lease_s)

    def start_many(
        self, target: str, calls: list[tuple[str, str, str]], *, lease_s: float = 60.0
    ) -> list[StartedCall | TransientError]:
        """:meth:`start` for several calls ``(call_key, message_id, operation)`` in one
        transaction; each call's :class:`StartedCall`, or the TransientError that call met
        (another worker has it in flight).

        Raises:
            TransientError: the database is unavailable (no call was started).
        """
        if not calls:
            return []
        action = f"start {len(calls)} calls to {target}"
        results: list[StartedCall | TransientError] = []
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            for call_key, message_id, operation in calls:
                try:
                    results.append(
                        self._start(conn, target, call_key, message_id=message_id, operation=operation, lease_s=lease_s)
                    )
                except TransientError as exc:
                    results.append(exc)
        return results

    def _start(
        self, conn: Any, target: str, call_key: str, *, message_id: str, operation: str, lease_s: float
    ) -> StartedCall:
        now = _now()
        this = {"b_target": target, "b_key": call_key}
        created = conn.execute(
            _NEW_CALL["postgresql" if conn.dialect.name == "postgresql" else "sqlite"],
            {**this, "b_message": message_id, "b_operation": operation, "b_now": now},
        ).first()  # rowcount is not reliable here (-1 on some drivers)
        if created is not None:
            return StartedCall(CallState.NEW, 1)
        row = conn.execute(_CALL_STATE_LOCKED if conn.dialect.name == "postgresql" else _CALL_STATE, this).one()
        if row.state == "done":
            return StartedCall(
                CallState.DONE, row.attempts, Acknowledgement.from_dict(json.loads(row.acknowledgement))
            )
        started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
        if row.state == "in_flight" and (now - started).total_seconds() < lease_s:
            raise TransientError(
                f"call {call_key} to {target} is in flight in another worker since "
                f"{started.isoformat(timespec='seconds')}; trying again later"
            )
        attempts = row.attempts + 1
        state = CallState.NEW if row.state == "unsent" else CallState.IN_DOUBT
        conn.execute(_RESTART, {**this, "b_attempts": attempts, "b_now": now, "b_message": message_id})
        return StartedCall(state, attempts)

    def unanswered(self, target: str, call_key: str, error: str) -> None:
        """The attempt ended without an answer (a lost reply, an outage): the call is in doubt,
        and the next attempt, in any worker, looks it up at once."""
        action = f"record the unanswered call {call_key}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            conn.execute(
                update(_CALLS)
                .where(
                    _CALLS.c.target == target, _CALLS.c.call_key == call_key, _CALLS.c.state == "in_flight"
                )
                .values(state="in_doubt", error=error[:4000])
            )

    def unsent(self, target: str, call_key: str, error: str) -> None:
        """The target answered that it did nothing (:class:`~bridge.errors.NotSentError`): the
        next attempt sends the call again without a lookup."""
        action = f"record the unsent call {call_key}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            conn.execute(
                update(_CALLS)
                .where(
                    _CALLS.c.target == target, _CALLS.c.call_key == call_key, _CALLS.c.state == "in_flight"
                )
                .values(state="unsent", error=error[:4000])
            )

    def settle(
        self,
        target: str,
        call_key: str,
        acknowledgement: Acknowledgement,
        *,
        then: tuple[str, str, str, float] | None = None,
    ) -> StartedCall | TransientError | None:
        """Record the call's acknowledgement: it is done, never to be sent again.

        ``then``: ``(call_key, message_id, operation, lease_s)`` of the next call (of the event,
        or of the next event of the order), whose attempt is recorded in the same transaction
        (:meth:`start`): its :class:`StartedCall` is returned, or the TransientError it met
        (another worker has it in flight; this call's acknowledgement is recorded all the same).

        Raises:
            TransientError: the database is unavailable (nothing recorded).
        """
        action = f"settle call {call_key} to {target}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            self._settle(conn, target, call_key, acknowledgement)
            if then is None:
                return None
            next_key, message_id, operation, lease_s = then
            try:
                return self._start(conn, target, next_key, message_id=message_id, operation=operation, lease_s=lease_s)
            except TransientError as exc:  # the next call is another worker's: this one stays settled
                return exc

    def _settle(self, conn: Any, target: str, call_key: str, acknowledgement: Acknowledgement) -> None:
        conn.execute(_SETTLE, {
            "b_target": target, "b_key": call_key, "b_now": _now(),
            "b_ack": json.dumps(acknowledgement.as_dict(), ensure_ascii=False),
        })

    def refused(self, target: str, call_key: str, error: str) -> None:
        """Record that the target refused the call for good (a replay looks it up first)."""
        action = f"record refusal of {call_key}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            conn.execute(
                update(_CALLS)
                .where(_CALLS.c.target == target, _CALLS.c.call_key == call_key, _CALLS.c.state != "done")
                .values(state="failed", error=error[:4000], settled_at=_now())
            )

    def acknowledgement(self, target: str, call_key: str) -> Acknowledgement | None:
        """The recorded acknowledgement of a settled call (None otherwise)."""
        action = f"read call {call_key}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            text = conn.execute(
                select(_CALLS.c.acknowledgement).where(
                    _CALLS.c.target == target, _CALLS.c.call_key == call_key, _CALLS.c.state == "done"
                )
            ).scalar_one_or_none()
        return Acknowledgement.from_dict(json.loads(text)) if text else None

    def calls(self, target: str, message_id: str | None = None) -> list[dict[str, Any]]:
        """The recorded calls of a target (of one message), oldest first: for operators and tests."""
        query = select(_CALLS).where(_CALLS.c.target == target).order_by(_CALLS.c.started_at)
        if message_id is not None:
            query = query.where(_CALLS.c.message_id == message_id)
        action = f"list calls to {target}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            rows = conn.execute(query).mappings().all()
        return [
            {
                **dict(row),
                "acknowledgement": json.loads(row["acknowledgement"]) if row["acknowledgement"] else None,
            }
            for row in rows
        ]

    def already(self, target: str, key: str, entity: str, business_key: str, version: str) -> str | None:
        """``"duplicate"`` when ``key`` was delivered to ``target``, ``"stale"`` when the target
        has a newer version of the business object, else None (read only: nothing is claimed)."""
        from bridge.ledger.versions import is_older

        action = f"check {key} at {target}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            if conn.execute(select(_KEYS.c.key).where(_KEYS.c.target == target, _KEYS.c.key == key)).first():
                return "duplicate"
            current = conn.execute(
                select(_VERSIONS.c.version).where(
                    _VERSIONS.c.target == target,
                    _VERSIONS.c.entity == entity,
                    _VERSIONS.c.business_key == business_key,
                )
            ).scalar_one_or_none()
        return "stale" if current is not None and is_older(version, current) else None

    def remember_orders(self, facts: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Store ``{order_id: (message_id, facts)}`` (the newest delivery wins)."""
        if not facts:
            return
        now = _now()
        action = "remember orders"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            for order_id, (message_id, data) in sorted(facts.items()):
                values = {
                    "facts": json.dumps(dict(data), ensure_ascii=False),
                    "message_id": message_id,
                    "updated_at": now,
                }
                conn.execute(
                    _insert(conn, _FACTS)
                    .values(order_id=order_id, **values)
                    .on_conflict_do_update(index_elements=["order_id"], set_=values)
                )

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The facts of an order the bridge delivered (None when it never saw it)."""
        action = f"read order {order_id}"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            text = conn.execute(
                select(_FACTS.c.facts).where(_FACTS.c.order_id == order_id)
            ).scalar_one_or_none()
        return json.loads(text) if text else None
