"""One runner per reconciliation job across processes and containers sharing one ledger database.

:func:`job_lock` is a non-blocking try: it yields ``True`` when this process holds the job's
lock for the block, ``False`` when another one does (nothing is waited for).

* PostgreSQL: a session-level ``pg_try_advisory_lock(bigint)`` on a connection of its own, kept
  (in autocommit, never idle in a transaction) for the whole run and unlocked at exit. When the
  process dies the server ends the session and the lock goes with it; a host that vanishes
  without closing its sockets is noticed when its TCP connection times out. The key is
  :func:`advisory_key`: the first 8 bytes of SHA-256 over a fixed namespace, the ledger's schema
  (when it has one) and the job name, as a signed 64-bit integer, so it is the same in every
  process and release and two deployments in two schemas of one database do not collide.
* SQLite (demos): ``flock(LOCK_EX | LOCK_NB)`` on ``<database file>.reconcile-<job>.lock`` next
  to the database; the kernel drops it when the process dies. The file is left in place (removing
  it would race with a process that has just opened it). An in-memory database is one process's
  own, so a lock per job name within the process serves.
* any other database: :class:`~bridge.errors.ConfigError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bridge.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from bridge.ledger import Ledger

__all__ = ["ADVISORY_NAMESPACE", "advisory_key", "job_lock", "lock_file_path"]

_log = logging.getLogger(__name__)

#: Prefix of every advisory-lock key's hash: keeps the bridge's keys apart from other users'.
ADVISORY_NAMESPACE = b"erp-mes-bridge/reconcile-job/v1\x00"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_MEMORY_LOCKS: dict[str, threading.Lock] = {}
_MEMORY_LOCKS_GUARD = threading.Lock()


def advisory_key(job: str, schema: str | None = None) -> int:
    """The PostgreSQL advisory-lock key of ``job`` (a signed 64-bit integer, stable)."""
    material = ADVISORY_NAMESPACE + (schema or "").encode() + b"\x00" + job.encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big", signed=True)


def lock_file_path(database: str | os.PathLike[str], job: str) -> Path:
    """``<database file>.reconcile-<safe job name>.lock`` (a name changed to be safe gets a hash)."""
    safe = _SAFE_NAME.sub("_", job)[:64]
    if safe != job or not safe.strip("."):
        safe = f"{safe}-{hashlib.sha256(job.encode()).hexdigest()[:8]}"
    path = Path(database)
    return path.with_name(f"{path.name}.reconcile-{safe}.lock")


@contextmanager
def job_lock(ledger_or_url: Ledger | Engine | str, job: str) -> Iterator[bool]:
    """Try to take ``job``'s lock for the block; yields whether it was taken.

    Args:
        ledger_or_url: the ledger (its engine lends one connection for the run), its engine,
            or a database URL (a connection of its own is opened and closed).
        job: the job's name.

    Raises:
        ConfigError: the database is neither PostgreSQL nor SQLite, a bad URL, or the lock file
            cannot be created (missing directory, no permission).
        TransientError: PostgreSQL is unreachable, or the lock file cannot be opened for now.
    """
    engine, owned = _engine_of(ledger_or_url)
    try:
        dialect = engine.dialect.name
        if dialect == "postgresql":
            with _advisory_lock(engine, job) as acquired:
                yield acquired
        elif dialect == "sqlite":
            database = engine.url.database
            if database is not None and database.startswith("file:"):  # uri=true
                database = database[5:].split("?", 1)[0]
            if not database or database == ":memory:" or "mode=memory" in str(engine.url):
                with _memory_lock(job) as acquired:
                    yield acquired
            else:
                with _file_lock(lock_file_path(database, job), job) as acquired:
                    yield acquired
        else:
            raise ConfigError(
                f"reconcile job lock for {job!r}: database {dialect!r} is not supported "
                "(PostgreSQL or SQLite)"
            )
    finally:
        if owned:
            engine.dispose()


def _engine_of(ledger_or_url: Ledger | Engine | str) -> tuple[Engine, bool]:
    if isinstance(ledger_or_url, str):
        from bridge.ledger.engine import _create_engine

        return _create_engine(ledger_or_url, schema=None, echo=False), True
    if isinstance(ledger_or_url, Engine):
        return ledger_or_url, False
    engine = getattr(ledger_or_url, "engine", None)
    if not isinstance(engine, Engine):
        raise ConfigError(f"reconcile job lock: {type(ledger_or_url).__name__} is not a ledger, engine or URL")
    return engine, False


# --------------------------------------------------------------------------------- PostgreSQL


@contextmanager
def _advisory_lock(engine: Engine, job: str) -> Iterator[bool]:
    schema = (engine.get_execution_options().get("schema_translate_map") or {}).get(None)
    key = advisory_key(job, schema)
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise TransientError(f"reconcile job lock for {job!r}: database unavailable ({_reason(exc)}); retry") from exc
    try:
        try:
            acquired = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        except SQLAlchemyError as exc:
            conn.invalidate()
            raise TransientError(
                f"reconcile job lock for {job!r}: cannot take the advisory lock ({_reason(exc)}); retry"
            ) from exc
        try:
            yield acquired
        finally:
            if acquired:
                _advisory_unlock(conn, key, job)
    finally:
        conn.close()


def _advisory_unlock(conn: Connection, key: int, job: str) -> None:
    """Unlock; a connection that cannot say it unlocked is discarded, never pooled with the lock."""
    try:
        released = bool(conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key}).scalar())
    except SQLAlchemyError as exc:
        _log.warning("reconcile job %s: the lock's connection broke during the run (%s); "
                     "another process may have started the job", job, _reason(exc))
        conn.invalidate()
        return
    if not released:
        _log.warning("reconcile job %s: the advisory lock was gone at the end of the run", job)
        conn.invalidate()


def _reason(exc: SQLAlchemyError) -> str:
    detail = exc.orig if isinstance(exc, DBAPIError) else exc
    return (str(detail).strip().splitlines() or [type(detail).__name__])[0]


# --------------------------------------------------------------------------------- SQLite


@contextmanager
def _file_lock(path: Path, job: str) -> Iterator[bool]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        raise ConfigError(f"reconcile job lock for {job!r}: cannot create {path} ({exc.strerror})") from exc
    except OSError as exc:
        raise TransientError(f"reconcile job lock for {job!r}: cannot open {path} ({exc.strerror}); retry") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            acquired = False
        else:
            acquired = True
            _note_holder(fd)
        try:
            yield acquired
        finally:
            if acquired:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _note_holder(fd: int) -> None:
    """Write the holder's pid into the lock file, for people looking (the lock is the flock)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass


@contextmanager
def _memory_lock(job: str) -> Iterator[bool]:
    with _MEMORY_LOCKS_GUARD:
        lock = _MEMORY_LOCKS.setdefault(job, threading.Lock())
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
