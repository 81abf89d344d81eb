"""Versioned migrations of the ledger schema.

``bridge_schema_version`` holds one row per applied step; the schema version is the highest.
:func:`migrate` applies the missing steps in order, each in its own transaction together with
its version row, under a database-wide lock so that two processes starting at once cannot both
apply a step: on PostgreSQL ``pg_advisory_xact_lock``, on SQLite ``BEGIN IMMEDIATE`` (the ledger's
engine takes it when a connection carries the :data:`WRITE_LOCK` execution option).

A database whose version is newer than the newest step this code knows is refused with
:class:`~bridge.errors.ConfigError`: an older bridge must not write to a newer ledger.

Adding a step: append a :class:`Migration` with the next number; never edit a released step.
Step 1 builds the tables from :mod:`bridge.ledger.models`, so once a later step alters a table,
step 1 must first be frozen to its own copy of the version-1 definitions.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    MetaData,
    Table,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
)

from bridge.errors import ConfigError
from bridge.ledger.models import (
    AppliedVersionRow,
    DiscrepancyRow,
    IdempotencyKeyRow,
    JournalRow,
    LedgerBase,
    OrderFactRow,
    RawArchiveRow,
    RemoteCallRow,
    SchemaVersionRow,
    SerialHoldRow,
    SinkStateRow,
    SourcePositionRow,
    table_of,
)

__all__ = ["LATEST_VERSION", "MIGRATIONS", "WRITE_LOCK", "Migration", "current_version", "migrate"]

WRITE_LOCK = "bridge_ledger_write_lock"
"""Execution option: begin the transaction holding the database write lock (SQLite ``BEGIN IMMEDIATE``)."""

_VERSION_TABLE = table_of(SchemaVersionRow)


@dataclass(frozen=True)
class Migration:
    """One step of the ledger schema.

    Attributes:
        version: the schema version the step produces (1, 2, 3, ... without gaps).
        description: what the step does, stored with the version row.
        apply: the step itself; it runs inside the caller's transaction.
    """

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    tables = [table_of(m) for m in (JournalRow, RawArchiveRow, IdempotencyKeyRow, AppliedVersionRow)]
    LedgerBase.metadata.create_all(conn, tables=tables, checkfirst=True)


def _create_v2(conn: Connection) -> None:
    LedgerBase.metadata.create_all(conn, tables=[table_of(SinkStateRow)], checkfirst=True)


def _create_v3(conn: Connection) -> None:
    LedgerBase.metadata.create_all(conn, tables=[table_of(RemoteCallRow), table_of(OrderFactRow)], checkfirst=True)


def _create_v4(conn: Connection) -> None:
    LedgerBase.metadata.create_all(conn, tables=[table_of(SerialHoldRow)], checkfirst=True)


def _create_v5(conn: Connection) -> None:
    LedgerBase.metadata.create_all(conn, tables=[table_of(SourcePositionRow)], checkfirst=True)


def _create_v6(conn: Connection) -> None:
    # version 6's own columns: version 7 adds the rest to a table made here or before
    table = table_of(DiscrepancyRow)
    later = {"source_unit", "target_unit", "detail", "action"}
    columns = [c._copy() for c in table.columns if c.name not in later]
    frozen = Table(table.name, MetaData(), *columns, UniqueConstraint("job", "fingerprint"))
    Index(next(iter(table.indexes)).name, frozen.c.job, frozen.c.status)
    frozen.create(conn, checkfirst=True)


def _add_v7(conn: Connection) -> None:
    # raw DDL is not schema-translated: name the ledger's schema (PostgreSQL) explicitly
    schema = conn.get_execution_options().get("schema_translate_map", {}).get(None)
    preparer = conn.dialect.identifier_preparer
    table = preparer.quote("bridge_discrepancies")
    if schema:
        table = f"{preparer.quote_schema(schema)}.{table}"
    for column, kind in (("source_unit", "VARCHAR(50)"), ("target_unit", "VARCHAR(50)"), ("detail", "TEXT"),
                         ("action", "TEXT")):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


MIGRATIONS: Sequence[Migration] = (
    Migration(1, "journal, raw archive, idempotency keys, applied versions", _create_v1),
    Migration(2, "sink state (a file sink's committed offset)", _create_v2),
    Migration(3, "remote calls (attempts and acknowledgements of ERP postings), order facts", _create_v3),
    Migration(4, "serial holds (an order's failed event keeps its later ones waiting)", _create_v4),
    Migration(5, "source positions (a polling source's watermark)", _create_v5),
    Migration(6, "discrepancies (what reconciliation found, until resolved)", _create_v6),
    Migration(7, "discrepancies: each side's unit, the why, what the bridge did about it", _add_v7),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """Return the schema version recorded in the database (0 when it has no ledger yet)."""
    if not _has_version_table(conn):
        return 0
    return int(conn.execute(select(func.coalesce(func.max(_VERSION_TABLE.c.version), 0))).scalar_one())


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the missing migration steps in order and return the versions applied now.

    Each step runs in its own transaction, together with its ``bridge_schema_version`` row, under
    the migration lock, and the version is re-read under that lock, so calling this from two
    processes at once applies every step exactly once. Calling it again is a no-op (returns ``[]``).
    Database errors propagate as SQLAlchemy errors; :class:`bridge.ledger.Ledger` wraps them.

    Raises:
        ConfigError: the database is at a newer version than ``migrations`` know, or the steps
            are not numbered 1, 2, 3, ...
    """
    _check_numbering(migrations)
    latest = migrations[-1].version if migrations else 0
    applied: list[int] = []
    while True:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_LOCK: True})
            with conn.begin():
                _lock(conn)
                _VERSION_TABLE.create(conn, checkfirst=True)
                version = current_version(conn)
                if version > latest:
                    raise ConfigError(
                        f"ledger schema is at version {version} but this bridge knows versions up to {latest}: "
                        "upgrade the bridge (a newer bridge has migrated this database)"
                    )
                if version == latest:
                    return applied
                step = migrations[version]
                step.apply(conn)
                conn.execute(
                    insert(_VERSION_TABLE).values(
                        version=step.version, description=step.description, applied_at=datetime.now(UTC)
                    )
                )
                applied.append(step.version)


def _check_numbering(migrations: Sequence[Migration]) -> None:
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ConfigError(f"ledger migrations must be numbered 1, 2, 3, ... without gaps, got {numbers}")


def _has_version_table(conn: Connection) -> bool:
    schema = conn.get_execution_options().get("schema_translate_map", {}).get(None)
    return inspect(conn).has_table(_VERSION_TABLE.name, schema=schema)


def _lock(conn: Connection) -> None:
    """Serialise migrations: PostgreSQL advisory lock per schema (SQLite holds BEGIN IMMEDIATE)."""
    if conn.dialect.name != "postgresql":
        return
    schema = conn.get_execution_options().get("schema_translate_map", {}).get(None) or "public"
    key = zlib.crc32(f"bridge-ledger-migrate:{schema}".encode())
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
