"""The simulator's documents: in memory, or also in SQLite (``store="sqlite:///path"``) so that a
restarted simulator finds what it had.

Documents are kept whole (as the detail APIs return them), by kind and id; the ids are 16-digit
numbers as YonBIP's, the codes ``<prefix><yyyyMMdd><6 digits>`` (``WGBG20261202000001``). The
store also remembers the replies of writes by ``resubmitCheckKey`` (per API, as the gateway
joins the key with the API and the tenant). Callers hold the simulator's lock.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "Remembered", "Store"]

KINDS = ("productionorder", "product", "batchno", "finishedreport", "materialout", "storeprorecord")
FIRST_ID = 2_400_000_000_000_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (kind TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
                                      PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS resubmits (api TEXT NOT NULL, key TEXT NOT NULL, reply TEXT NOT NULL,
                                      doc_id INTEGER, at REAL NOT NULL, PRIMARY KEY (api, key));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

Remembered = tuple[Any, int | None, float]  # (the reply, the document's id, when)


def _path(location: str | None) -> str | None:
    if location is None or location in ("", "memory", ":memory:"):
        return None
    if location.startswith("sqlite:///"):
        return location[len("sqlite:///"):]
    if "://" in location:
        raise ValueError(f"store must be sqlite:///<path> or a file path, got {location!r}")
    return location


class Store:
    """Documents by kind and id, the remembered replies and the counters."""

    def __init__(self, location: str | None = None) -> None:
        self._docs: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._resubmits: dict[tuple[str, str], Remembered] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        path = _path(location)
        self._db: sqlite3.Connection | None = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for kind, doc_id, body in self._db.execute("SELECT kind, id, body FROM documents"):
            self._docs.setdefault(kind, {})[doc_id] = json.loads(body)
        for api, key, reply, doc_id, at in self._db.execute("SELECT api, key, reply, doc_id, at FROM resubmits"):
            self._resubmits[(api, key)] = (json.loads(reply), doc_id, at)
        self._counters.update(dict(self._db.execute("SELECT name, value FROM counters")))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- documents -----------------------------------------------------------------------
    def get(self, kind: str, doc_id: Any) -> dict[str, Any] | None:
        """The live document (the caller must :meth:`put` it back after a change)."""
        try:
            return self._docs[kind].get(int(doc_id))
        except (TypeError, ValueError):
            return None

    def all(self, kind: str) -> list[dict[str, Any]]:
        return list(self._docs[kind].values())

    def put(self, kind: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._docs[kind][int(doc["id"])] = doc
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO documents (kind, id, body) VALUES (?, ?, ?)",
                                 (kind, int(doc["id"]), json.dumps(doc, ensure_ascii=False)))

    def copies(self, kind: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for _, d in sorted(self._docs[kind].items())]

    # -- counters ------------------------------------------------------------------------
    def _next(self, name: str, start: int) -> int:
        with self._lock:
            value = self._counters.get(name, start) + 1
            self._counters[name] = value
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
            return value

    def new_id(self) -> int:
        return self._next("id", FIRST_ID)

    def new_code(self, prefix: str, day: str) -> str:
        """``prefix`` + ``day`` (yyyyMMdd) + a 6-digit number counted per prefix and day."""
        return f"{prefix}{day}{self._next(f'code:{prefix}:{day}', 0):06d}"

    # -- resubmitCheckKey ----------------------------------------------------------------
    def recall(self, api: str, key: str) -> Remembered | None:
        return self._resubmits.get((api, key))

    def remember(self, api: str, key: str, reply: Any, doc_id: int | None, at: float) -> None:
        with self._lock:
            self._resubmits[(api, key)] = (copy.deepcopy(reply), doc_id, at)
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO resubmits (api, key, reply, doc_id, at) VALUES (?, ?, ?, ?, ?)",
                                 (api, key, json.dumps(reply, ensure_ascii=False), doc_id, at))
