"""The ledger's tables, as SQLAlchemy 2.0 declarative models.

Every table is prefixed ``bridge_`` and declared without a schema: a ledger bound to a PostgreSQL
schema maps ``None`` to it with ``schema_translate_map``. Timestamps are stored in UTC and read
back as aware UTC datetimes on every database (SQLite keeps them as naive UTC text).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AppliedVersionRow",
    "DiscrepancyRow",
    "IdempotencyKeyRow",
    "JournalRow",
    "LedgerBase",
    "OrderFactRow",
    "RawArchiveRow",
    "RemoteCallRow",
    "SchemaVersionRow",
    "SourcePositionRow",
    "UtcDateTime",
    "table_of",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a BIGINT identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    Naive datetimes written to it are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; SQLite stores naive UTC because it has no time zone type."""
        if value is None:
            return None
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LedgerBase(DeclarativeBase):
    """Declarative base of the ledger tables, with its own metadata and constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SchemaVersionRow(LedgerBase):
    """One row per applied migration step; the ledger's schema version is the highest one."""

    __tablename__ = "bridge_schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JournalRow(LedgerBase):
    """What happened to a message at one stage (ingest, translate, ``deliver:<target>``).

    The unique ``(message_id, stage)`` constraint keeps one row per message and stage, and its
    index also serves look-ups by ``message_id``.
    """

    __tablename__ = "bridge_journal"
    __table_args__ = (
        UniqueConstraint("message_id", "stage"),
        Index("ix_bridge_journal_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(500))
    stage: Mapped[str] = mapped_column(String(200))
    source_system: Mapped[str] = mapped_column(String(100), default="")
    document_type: Mapped[str] = mapped_column(String(100), default="")
    document_key: Mapped[str] = mapped_column(String(200), default="")
    entity: Mapped[str | None] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RawArchiveRow(LedgerBase):
    """The payload bytes exactly as they arrived, kept for replay and audit."""

    __tablename__ = "bridge_raw_archive"

    message_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    source_system: Mapped[str] = mapped_column(String(100))
    document_type: Mapped[str] = mapped_column(String(100))
    document_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyKeyRow(LedgerBase):
    """A change already handed to a target; the primary key on ``(target, key)`` is the guarantee."""

    __tablename__ = "bridge_idempotency_keys"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(800), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AppliedVersionRow(LedgerBase):
    """The newest version of a business object that a target has received."""

    __tablename__ = "bridge_applied_versions"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    entity: Mapped[str] = mapped_column(String(100), primary_key=True)
    business_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(500))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SinkStateRow(LedgerBase):
    """A sink's own committed position (a file sink's byte offset), kept with its deliveries.

    Added in schema version 2.
    """

    __tablename__ = "bridge_sink_state"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RemoteCallRow(LedgerBase):
    """One call to a remote target (an ERP posting), recorded before it is made.

    ``state`` is ``in_flight`` from before the call until its acknowledgement is recorded
    (``done``) or the target refused it (``failed``). A call found ``in_flight`` when its event
    comes again is in doubt: the target may have posted it. Added in schema version 3.
    """

    __tablename__ = "bridge_remote_calls"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    call_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500))
    operation: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    acknowledgement: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OrderFactRow(LedgerBase):
    """What the bridge delivered about an order (plant, material, storage locations), so that
    feedback naming only the order can be completed. Added in schema version 3."""

    __tablename__ = "bridge_order_facts"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    facts: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SerialHoldRow(LedgerBase):
    """An event that failed and will come again holds its serial key (a production order) at
    one target: later events of that key wait for it, so a target gets an order's events in the
    order they were sent, retries included. Released when the holder is delivered or
    dead-lettered. Added in schema version 4."""

    __tablename__ = "bridge_serial_holds"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    serial_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500))
    since: Mapped[datetime] = mapped_column(UtcDateTime())


class SourcePositionRow(LedgerBase):
    """How far a polling source has read a system (a watermark: the last modification time and
    id it took in), so that a restarted poller goes on where it stopped. Added in schema
    version 5."""

    __tablename__ = "bridge_source_positions"

    source: Mapped[str] = mapped_column(String(300), primary_key=True)
    position: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class DiscrepancyRow(LedgerBase):
    """Where a reconciliation job found the two sides disagree: one row per (job, what differs),
    open until a run no longer finds it or someone resolves it by hand. Added in schema version 6."""

    __tablename__ = "bridge_discrepancies"
    __table_args__ = (UniqueConstraint("job", "fingerprint"), Index(None, "job", "status"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(100))
    source_value: Mapped[str | None] = mapped_column(Text)
    target_value: Mapped[str | None] = mapped_column(Text)
    delta: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(50))
    refs: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    # schema version 7: each side's unit as that side holds it, the why in words, what the bridge did
    source_unit: Mapped[str | None] = mapped_column(String(50))
    target_unit: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)


def table_of(model: type[LedgerBase]) -> Table:
    """Return the Core ``Table`` behind a model (typed, unlike ``model.__table__``)."""
    return LedgerBase.metadata.tables[model.__tablename__]
