"""Building the ledger's engine (SQLite in WAL mode, PostgreSQL via psycopg 3) and typing its errors."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    NoSuchModuleError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import StaticPool

from bridge.errors import BridgeError, ConfigError, PermanentError, TransientError
from bridge.ledger import migrations

_SQLITE_PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")
#: How long a SQLite connection waits for another writer's lock (``ledger.busy_timeout_s``).
DEFAULT_BUSY_TIMEOUT_S = 30.0
_PG_CONNECT_TIMEOUT_SECONDS = 5


def _create_engine(
    url: str, *, schema: str | None, echo: bool, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S
) -> Engine:
    """Build the engine: SQLite in WAL mode with a busy timeout, or PostgreSQL via psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"ledger URL {url!r} is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        options |= {
            "pool_size": 10,
            "max_overflow": 20,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": _PG_CONNECT_TIMEOUT_SECONDS},
        }
    elif backend == "sqlite":
        if schema is not None:
            raise ConfigError("ledger schema= is for PostgreSQL; a SQLite ledger is one file")
        options["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        options["pool_pre_ping"] = (
            False  # a local file does not drop connections; a ping per transaction costs
        )
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one shared in-memory database, not one per thread
        else:  # a remote sink reads and writes from one thread per call in flight: a connection each
            options |= {"pool_size": 32, "max_overflow": 32}
    else:
        raise ConfigError(
            f"ledger URL {parsed.render_as_string()!r}: only sqlite and postgresql are supported"
        )
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"ledger URL {parsed.render_as_string()!r}: {exc}") from exc
    if backend == "sqlite":
        _install_sqlite_hooks(engine, busy_timeout)
    if schema is not None:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def _install_sqlite_hooks(engine: Engine, busy_timeout: float) -> None:
    """WAL, synchronous=NORMAL, foreign keys, busy timeout; BEGIN (IMMEDIATE for writes) by us."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # stop pysqlite's own BEGIN handling
        cursor = dbapi_connection.cursor()
        try:
            # every statement, BEGIN IMMEDIATE included, waits this long for another writer
            cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            _use_wal(cursor, busy_timeout)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: check-then-insert runs serialised, and a busy
        # database is waited for (busy_timeout) instead of failing on lock upgrade.
        immediate = conn.get_execution_options().get(migrations.WRITE_LOCK, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch the file to WAL (it stays so). Several processes opening a new file at once can
    see SQLITE_BUSY here without the busy handler being consulted, so the switch is retried."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _require_current(engine: Engine) -> None:
    with engine.connect() as conn:
        found = migrations.current_version(conn)
    if found != migrations.LATEST_VERSION:
        raise ConfigError(
            f"ledger schema is at version {found}, this bridge needs {migrations.LATEST_VERSION}: "
            "run the migrations (connect with migrate=True)"
        )


# --------------------------------------------------------------------------------- errors


@contextmanager
def _database_errors(action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside into the bridge's typed errors."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise _typed_error(exc, action) from exc


def _typed_error(exc: SQLAlchemyError, action: str) -> BridgeError:
    reason = _reason(exc)
    if not isinstance(exc, DBAPIError) and not isinstance(exc, PoolTimeoutError | DisconnectionError):
        return PermanentError(f"ledger: {action}: the statement cannot run ({reason})")
    if isinstance(exc, IntegrityError):
        return TransientError(
            f"ledger: {action}: a concurrent writer stored the same row first ({reason}); retry"
        )
    if isinstance(exc, ProgrammingError | NotSupportedError) or _sqlite_schema_error(exc):
        return ConfigError(f"ledger: {action}: the database schema is wrong or missing ({reason})")
    if isinstance(exc, DataError):
        return PermanentError(f"ledger: {action}: the database refused a value ({reason})")
    return TransientError(f"ledger: {action}: database unavailable ({reason}); retry")


def _sqlite_schema_error(exc: SQLAlchemyError) -> bool:
    """SQLite reports a missing table or column as an OperationalError."""
    return isinstance(exc, OperationalError) and _reason(exc).startswith(("no such table", "no such column"))


def _reason(exc: SQLAlchemyError) -> str:
    detail = exc.orig if isinstance(exc, DBAPIError) else exc
    return (str(detail).strip().splitlines() or [type(detail).__name__])[0]
