"""Another process's long write transaction on a SQLite ledger, for lock-contention tests."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path


def hold_sqlite_write_lock(
    path: str | Path, seconds: float, until: Callable[[], bool] | None = None, most: float = 60.0
) -> threading.Thread:
    """Take the database's write lock (``BEGIN IMMEDIATE``) in a thread and hold it ``seconds``,
    and then, with ``until``, until ``until()`` is true (for ``most`` seconds at the longest).

    Returns once the lock is held; join the thread to wait for its release.
    """
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            started = time.monotonic()
            time.sleep(seconds)
            while until is not None and not until() and time.monotonic() - started < most:
                time.sleep(0.1)
            conn.execute("ROLLBACK")
        finally:
            locked.set()
            conn.close()

    thread = threading.Thread(target=hold, name="sqlite-write-lock", daemon=True)
    thread.start()
    locked.wait(30)
    return thread
