"""The ledger: message journal, raw payload archive and idempotent, version-aware delivery.

One :class:`Ledger` per process, shared by its worker threads. Every write takes a sequence and
runs as one transaction, because workers handle messages in batches. The database is SQLite (a
file, the default) or PostgreSQL (by URL, optionally inside one schema).

Failures are typed: an unreachable or busy database raises :class:`~bridge.errors.TransientError`
(retry the batch), a missing or foreign schema :class:`~bridge.errors.ConfigError`, and values the
database cannot store :class:`~bridge.errors.PermanentError`. Exceptions raised by a sink's
``write`` callback pass through unchanged, after the transaction is rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    func,
    select,
    text,
)
from sqlalchemy.exc import (
    SQLAlchemyError,
)

from bridge.ledger import migrations, sink_state
from bridge.ledger.delivery_planning import DeliveryPlanning
from bridge.ledger.discrepancies import Discrepancies
from bridge.ledger.document_outcomes import DocumentOutcomes
from bridge.ledger.engine import DEFAULT_BUSY_TIMEOUT_S, _create_engine, _database_errors, _require_current
from bridge.ledger.journal_rows import check_entry, delivery_journal, journal_row
from bridge.ledger.records import Decision, DeliveryItem, JournalEntry, JournalStatus, RawRecord, delivery_key
from bridge.ledger.remote_calls import RemoteCallLedger
from bridge.ledger.serial_holds import SerialHolds
from bridge.ledger.source_positions import SourcePositions
from bridge.ledger.statements import (
    _ENTRY_FIELDS,
    _JOURNAL,
    _RAW,
    _Statements,
)

__all__ = [
    "DEFAULT_URL",
    "Decision",
    "DeliveryItem",
    "JournalEntry",
    "JournalStatus",
    "Ledger",
    "RawRecord",
    "delivery_key",
]

DEFAULT_URL = "sqlite:///bridge-ledger.sqlite"


class Ledger(DeliveryPlanning):
    """The bridge's memory in a SQLite file or a PostgreSQL database.

    Create it with :meth:`connect`, share it between threads, :meth:`close` it at shutdown (or use
    it as a context manager). Each method uses its own pooled connection and transaction.

    Args:
        engine: an engine made by :meth:`connect` (SQLite needs its connection hooks).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql = _Statements.for_dialect(engine.dialect.name)
        # SQLite takes one writer at a time and makes the others sleep in its busy handler
        # (1, 2, 5 ... 100 ms); threads of this process queue on a lock instead
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    # ----------------------------------------------------------------------------- lifecycle

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        schema: str | None = None,
        migrate: bool = True,
        echo: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> Ledger:
        """Open the ledger at ``url`` and bring its schema up to date.

        Args:
            url: ``sqlite:///path.sqlite`` or ``postgresql+psycopg://user@host:port/db``
                (``postgresql://`` is taken to mean psycopg 3).
            schema: PostgreSQL schema holding the tables (it must exist); ``None`` uses the
                search path.
            migrate: apply missing migrations; when ``False`` the schema must already be current.
            echo: log every SQL statement.
            busy_timeout: seconds a SQLite connection waits for another process's write lock
                before a call fails with TransientError (``ledger.busy_timeout_s``).

        Raises:
            ConfigError: bad URL, unsupported database, missing schema, a schema version other
                than this code's.
            TransientError: the database is unreachable.
        """
        engine = _create_engine(url, schema=schema, echo=echo, busy_timeout=busy_timeout)
        try:
            with _database_errors("open the ledger"):
                if migrate:
                    migrations.migrate(engine)
                else:
                    _require_current(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @classmethod
    def probe(cls, url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> Ledger:
        """A handle on the ledger at ``url`` for :meth:`ping` only (readiness probes).

        It connects on first use and neither migrates nor checks the schema, so it can be made
        before the database is reachable or migrated.

        Raises:
            ConfigError: bad or unsupported URL.
        """
        return cls(_create_engine(url, schema=None, echo=False, busy_timeout=busy_timeout))

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for callers that share the ledger's database."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def remote(self) -> RemoteCallLedger:
        """The remote calls and order facts (:mod:`bridge.ledger.remote_calls`)."""
        return RemoteCallLedger(self)

    @property
    def outcomes(self) -> DocumentOutcomes:
        """Translate outcomes to report to their sender (:mod:`bridge.ledger.document_outcomes`)."""
        return DocumentOutcomes(self)

    @property
    def discrepancies(self) -> Discrepancies:
        """What reconciliation found (:mod:`bridge.ledger.discrepancies`)."""
        return Discrepancies(self)

    @property
    def positions(self) -> SourcePositions:
        """Where each polling source stands (:mod:`bridge.ledger.source_positions`)."""
        return SourcePositions(self)

    @property
    def holds(self) -> SerialHolds:
        """The serial holds keeping an order's events in order (:mod:`bridge.ledger.serial_holds`)."""
        return SerialHolds(self)

    def ping(self) -> None:
        """Run ``SELECT 1``; raise :class:`TransientError` when the database does not answer."""
        with self._transaction("ping the ledger database") as conn, _database_errors("ping"):
            conn.execute(text("SELECT 1"))

    def schema_version(self) -> int:
        """Return the schema version recorded in the database (0 before the first migration)."""
        with self._transaction("read the ledger schema version") as conn, _database_errors("read version"):
            return migrations.current_version(conn)

    # ----------------------------------------------------------------------------- raw archive

    def archive_raw(self, records: Sequence[RawRecord]) -> None:
        """Store payloads in one transaction; a ``message_id`` already archived is left as it was."""
        if not records:
            return
        now = _now()
        rows: dict[str, dict[str, Any]] = {}
        for rec in records:
            rows.setdefault(
                rec.message_id,
                {
                    "message_id": rec.message_id,
                    "source_system": rec.source_system,
                    "document_type": rec.document_type,
                    "document_key": rec.document_key,
                    "content_type": rec.content_type,
                    "payload": bytes(rec.payload),
                    "size": len(rec.payload),
                    "received_at": rec.received_at or now,
                },
            )
        action = "archive raw payloads"
        with self._transaction(action, write=True) as conn, _database_errors(action):
            self._sql.run_bulk(conn, self._sql.archive, list(rows.values()))

    def raw_payload(self, message_id: str) -> RawRecord | None:
        """Return the archived payload of ``message_id``, or ``None`` when it was never archived."""
        action = "read a raw payload"
        with self._transaction(action) as conn, _database_errors(action):
            row = conn.execute(select(_RAW).where(_RAW.c.message_id == message_id)).mappings().first()
        if row is None:
            return None
        return RawRecord(
            message_id=row["message_id"],
            source_system=row["source_system"],
            document_type=row["document_type"],
            document_key=row["document_key"],
            payload=bytes(row["payload"]),
            content_type=row["content_type"],
            received_at=row["received_at"],
        )

    # ----------------------------------------------------------------------------- journal

    def record(self, entries: Sequence[JournalEntry]) -> None:
        """Write journal rows in one transaction, one row per ``(message_id, stage)``.

        Recording a ``(message_id, stage)`` again updates its status, error, attempts and
        ``updated_at``; descriptive fields (document, entity, business key, version, correlation
        id) take the new value when it is given. Within one call the last entry for a pair wins.

        Raises:
            ValueError: an unknown status or stage (a programming error).
        """
        if not entries:
            return
        latest: dict[tuple[str, str], JournalEntry] = {}
        for entry in entries:
            check_entry(entry)
            latest[(entry.message_id, entry.stage)] = entry
        action = "record journal entries"
        with self._transaction(action, write=True) as conn, _database_errors(action):
            self._upsert_journal(conn, list(latest.values()), delivery=False)

    def journal(self, message_id: str) -> list[JournalEntry]:
        """Return every journal row of ``message_id``, oldest first."""
        stmt = select(_JOURNAL).where(_JOURNAL.c.message_id == message_id).order_by(_JOURNAL.c.id)
        return self._read_journal("read the journal", stmt)

    def statuses(self, message_ids: Sequence[str], stage: str) -> dict[str, str]:
        """Return ``{message_id: status}`` of one stage for the given ids (absent when none)."""
        wanted = sorted({m for m in message_ids if m})
        if not wanted:
            return {}
        action = "read journal statuses"
        stmt = select(_JOURNAL.c.message_id, _JOURNAL.c.status).where(
            _JOURNAL.c.stage == stage, _JOURNAL.c.message_id.in_(wanted)
        )
        with self._transaction(action) as conn, _database_errors(action):
            return {row[0]: row[1] for row in conn.execute(stmt)}

    def recent(
        self, stage: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[JournalEntry]:
        """Return the latest journal rows, newest first, optionally of one stage and/or status."""
        stmt = select(_JOURNAL)
        if stage is not None:
            stmt = stmt.where(_JOURNAL.c.stage == stage)
        if status is not None:
            stmt = stmt.where(_JOURNAL.c.status == status)
        stmt = stmt.order_by(_JOURNAL.c.updated_at.desc(), _JOURNAL.c.id.desc()).limit(limit)
        return self._read_journal("read recent journal rows", stmt)

    def counts(self) -> dict[str, int]:
        """Return the number of journal rows per status (statuses without rows are left out)."""
        action = "count journal rows"
        stmt = select(_JOURNAL.c.status, func.count()).group_by(_JOURNAL.c.status)
        with self._transaction(action) as conn, _database_errors(action):
            return {status: int(count) for status, count in conn.execute(stmt)}

    # ----------------------------------------------------------------------------- delivery

    def deliver(
        self,
        target: str,
        items: Sequence[DeliveryItem],
        write: Callable[..., Any],
        *,
        stateful: bool = False,
    ) -> list[Decision]:
        """Hand the new, current items to ``write`` exactly once per target, in one transaction.

        Per item, in input order:

        * ``DUPLICATE``: its key (:func:`delivery_key`) was delivered to ``target`` before, or an
          earlier item of this batch has the same key.
        * ``STALE``: the target already has a newer version of the business object.
        * ``APPLIED``: passed to ``write``. Several versions of one business object in a batch
          are all applied, oldest first, and the newest is remembered.

        The keys of applied and stale items are stored, so redelivering either is a duplicate.
        Keys are claimed (``INSERT ... ON CONFLICT DO NOTHING``) before ``write`` runs: a
        concurrent worker delivering the same key waits for this transaction and then finds a
        duplicate, so ``write`` runs once per key even across processes. ``write`` is not called
        when nothing applies. Journal rows ``deliver:<target>`` record each message's outcome;
        a redelivered message that is a duplicate keeps its delivered/stale status and counts an
        attempt.

        A ``stateful`` sink's ``write(items, state)`` also receives the state it returned at the
        last committed delivery (None the first time) and returns the new one, stored in the
        same transaction (see :mod:`bridge.ledger.sink_state`).

        Raises:
            TransientError: database unreachable, busy, or a concurrent writer collided; retry
                the whole batch.
            Exception: whatever ``write`` raised, unchanged; nothing was recorded.
        """
        if not target:
            raise ValueError("deliver needs a target name")
        if not items:
            return []
        action = f"deliver to {target}"
        now = _now()
        with self._transaction(action, write=True) as conn:
            with _database_errors(action):
                state = sink_state.lock_state(conn, target, now) if stateful else None
                plan = self._plan(conn, target, items, now)
            if plan.applicable:
                if stateful:
                    new_state = write(list(plan.applicable), state)
                    with _database_errors(action):
                        sink_state.save_state(conn, target, str(new_state), now)
                else:
                    write(list(plan.applicable))
            with _database_errors(action):
                self._raise_versions(conn, target, plan.raise_to, now)
                self._upsert_journal(conn, delivery_journal(target, items, plan.decisions), delivery=True)
        return plan.decisions

    # ----------------------------------------------------------------------------- helpers

    def _upsert_journal(self, conn: Connection, entries: list[JournalEntry], *, delivery: bool) -> None:
        now = _now()
        rows = [journal_row(entry, now) for entry in entries]
        self._sql.run_bulk(conn, self._sql.deliver_journal if delivery else self._sql.record_journal, rows)

    def _read_journal(self, action: str, stmt: Select[Any]) -> list[JournalEntry]:
        with self._transaction(action) as conn, _database_errors(action):
            rows = conn.execute(stmt).mappings().all()
        return [JournalEntry(**{name: row[name] for name in _ENTRY_FIELDS}) for row in rows]

    @contextmanager
    def _transaction(self, action: str, *, write: bool = False) -> Iterator[Connection]:
        """Yield a connection inside a transaction; commit on success, roll back on any exception.

        Exceptions from the body pass through unchanged (the body maps its own database errors),
        so a sink's exception reaches the caller as it was raised.
        """
        with self._write_lock if write else nullcontext():
            with _database_errors(action):
                conn = self._engine.connect()
            try:
                if write:
                    conn.execution_options(**{migrations.WRITE_LOCK: True})
                with _database_errors(action):
                    trans = conn.begin()
                try:
                    yield conn
                except BaseException:
                    with suppress(SQLAlchemyError):
                        trans.rollback()
                    raise
                with _database_errors(action):
                    trans.commit()
            finally:
                with suppress(SQLAlchemyError):
                    conn.close()


def _now() -> datetime:
    return datetime.now(UTC)
