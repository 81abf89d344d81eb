"""Where the simulator keeps its bills: in memory (the default) or in a SQLite file that outlives
the process (``sqlite:///path.db``). Thread-safe; :meth:`Store.transaction` makes a group of writes
all-or-nothing (a Push that saves several bills, an audit that writes back to its source).

A :class:`Record` is one bill or base-data record: its Save-model dict (as the server keeps it)
and the quantities its audit wrote back to other bills (to undo them exactly on UnAudit). Records
a store hands out are shared: change a copy (:meth:`Record.copy`) and :meth:`Store.put` it.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MemoryStore", "Record", "SqliteStore", "Store", "open_store"]


@dataclass
class Record:
    form_id: str
    fid: int
    number: str
    model: dict[str, Any]
    applied: list[dict[str, Any]] = field(default_factory=list)  # write-backs made by its audit

    def copy(self) -> Record:
        return Record(self.form_id, self.fid, self.number, copy.deepcopy(self.model), copy.deepcopy(self.applied))


class Store:
    """The interface both stores offer."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._depth = 0

    def records(self, form_id: str) -> list[Record]:
        """Every record of a form, by FID."""
        raise NotImplementedError

    def get(self, form_id: str, fid: int) -> Record | None:
        raise NotImplementedError

    def by_number(self, form_id: str, number: str) -> list[Record]:
        raise NotImplementedError

    def put(self, record: Record) -> None:
        raise NotImplementedError

    def remove(self, form_id: str, fid: int) -> None:
        raise NotImplementedError

    def next_value(self, sequence: str, start: int) -> int:
        """The next value of a sequence (``start`` first)."""
        raise NotImplementedError

    def ref_id(self, kind: str, number: str) -> int:
        """A stable made-up id for base data the simulator does not keep (an org, a unit)."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._begin()
                yield
                if self._depth == 1:
                    self._commit()
            except BaseException:
                if self._depth == 1:
                    self._rollback()
                raise
            finally:
                self._depth -= 1

    def _begin(self) -> None: ...
    def _commit(self) -> None: ...
    def _rollback(self) -> None: ...

    def close(self) -> None: ...


class MemoryStore(Store):
    def __init__(self) -> None:
        super().__init__()
        self._forms: dict[str, dict[int, Record]] = {}
        self._sequences: dict[str, int] = {}
        self._refs: dict[tuple[str, str], int] = {}
        self._saved: tuple[dict[str, dict[int, Record]], dict[str, int], dict[tuple[str, str], int]] | None = None

    def records(self, form_id: str) -> list[Record]:
        with self.lock:
            return sorted(self._forms.get(form_id, {}).values(), key=lambda r: r.fid)

    def get(self, form_id: str, fid: int) -> Record | None:
        with self.lock:
            return self._forms.get(form_id, {}).get(fid)

    def by_number(self, form_id: str, number: str) -> list[Record]:
        with self.lock:
            return [r for r in self.records(form_id) if r.number == number]

    def put(self, record: Record) -> None:
        with self.lock:
            self._forms.setdefault(record.form_id, {})[record.fid] = record

    def remove(self, form_id: str, fid: int) -> None:
        with self.lock:
            self._forms.get(form_id, {}).pop(fid, None)

    def next_value(self, sequence: str, start: int) -> int:
        with self.lock:
            value = self._sequences.get(sequence, start - 1) + 1
            self._sequences[sequence] = value
            return value

    def ref_id(self, kind: str, number: str) -> int:
        with self.lock:
            if (kind, number) not in self._refs:
                self._refs[(kind, number)] = self.next_value("ref", 10001)
            return self._refs[(kind, number)]

    # records are replaced, never changed in place: a shallow copy is a snapshot
    def _begin(self) -> None:
        self._saved = ({f: dict(r) for f, r in self._forms.items()}, dict(self._sequences), dict(self._refs))

    def _commit(self) -> None:
        self._saved = None

    def _rollback(self) -> None:
        if self._saved is not None:
            self._forms, self._sequences, self._refs = self._saved
            self._saved = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS bills (form_id TEXT NOT NULL, fid INTEGER NOT NULL, number TEXT NOT NULL,
    model TEXT NOT NULL, applied TEXT NOT NULL, PRIMARY KEY (form_id, fid));
CREATE INDEX IF NOT EXISTS bills_by_number ON bills (form_id, number);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refs (kind TEXT NOT NULL, number TEXT NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (kind, number));
"""


class SqliteStore(Store):
    """Bills in a SQLite file: one connection shared by the server's threads, under the lock."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    @staticmethod
    def _record(row: tuple[str, int, str, str, str]) -> Record:
        return Record(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]))

    def _select(self, where: str, *args: Any) -> list[Record]:
        with self.lock:
            rows = self._db.execute(f"SELECT form_id, fid, number, model, applied FROM bills WHERE {where} ORDER BY fid",
                                    args).fetchall()
        return [self._record(r) for r in rows]

    def records(self, form_id: str) -> list[Record]:
        return self._select("form_id = ?", form_id)

    def get(self, form_id: str, fid: int) -> Record | None:
        found = self._select("form_id = ? AND fid = ?", form_id, fid)
        return found[0] if found else None

    def by_number(self, form_id: str, number: str) -> list[Record]:
        return self._select("form_id = ? AND number = ?", form_id, number)

    def put(self, record: Record) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO bills VALUES (?, ?, ?, ?, ?)",
                             (record.form_id, record.fid, record.number, json.dumps(record.model, ensure_ascii=False),
                              json.dumps(record.applied)))

    def remove(self, form_id: str, fid: int) -> None:
        with self.lock:
            self._db.execute("DELETE FROM bills WHERE form_id = ? AND fid = ?", (form_id, fid))

    def next_value(self, sequence: str, start: int) -> int:
        with self.transaction():
            row = self._db.execute("SELECT value FROM sequences WHERE name = ?", (sequence,)).fetchone()
            value = (row[0] if row else start - 1) + 1
            self._db.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?)", (sequence, value))
            return value

    def ref_id(self, kind: str, number: str) -> int:
        with self.transaction():
            row = self._db.execute("SELECT id FROM refs WHERE kind = ? AND number = ?", (kind, number)).fetchone()
            if row:
                return int(row[0])
            value = self.next_value("ref", 10001)
            self._db.execute("INSERT INTO refs VALUES (?, ?, ?)", (kind, number, value))
            return value

    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def close(self) -> None:
        with self.lock:
            self._db.close()


def open_store(spec: str | Path | Store | None) -> Store:
    """A store from ``None`` / ``"memory"`` (in memory), ``"sqlite:///path.db"`` or a path, or a
    store as it is."""
    if isinstance(spec, Store):
        return spec
    if spec is None or str(spec) in ("", "memory", ":memory:"):
        return MemoryStore()
    text = str(spec)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif "://" in text:
        raise ValueError(f"store {spec!r}: expected sqlite:///path.db or a file path")
    try:
        return SqliteStore(text)
    except sqlite3.Error as exc:
        raise ValueError(f"store {text}: {exc}") from None
