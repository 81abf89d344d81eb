"""What reconciliation found, kept until it is gone: one row per job and thing that differs.

A run hands every discrepancy it found to :meth:`Discrepancies.record_run`: a new one is opened
(``first_seen``), one still there keeps its row (``last_seen`` and its values refreshed), one
resolved earlier that comes back is opened again, and every open one of the job that this run
did not find is marked resolved by the run. :meth:`Discrepancies.resolve` closes one by hand,
with who and why (the audit record). What differs is named by a fingerprint of the kind, the
business key and the field, so the same gap found again is the same row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bridge.errors import ConfigError
from bridge.ledger.engine import _database_errors
from bridge.ledger.models import DiscrepancyRow, table_of

__all__ = ["Discrepancies", "Found", "RunResult", "StoredDiscrepancy"]

_TABLE = table_of(DiscrepancyRow)
_BATCH = 500


@dataclass(frozen=True)
class Found:
    """One discrepancy as a run found it (values as decimal text, the key as its named fields)."""

    kind: str
    key: Mapping[str, str]
    field: str | None = None
    source_value: str | None = None
    target_value: str | None = None
    delta: str | None = None
    unit: str | None = None
    refs: tuple[str, ...] = ()
    source_unit: str | None = None
    target_unit: str | None = None
    detail: str | None = None
    action: str | None = None

    @property
    def fingerprint(self) -> str:
        named = json.dumps([self.kind, sorted(self.key.items()), self.field or ""], ensure_ascii=False)
        return hashlib.sha256(named.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredDiscrepancy:
    """A row of the ledger's discrepancies."""

    id: int
    job: str
    kind: str
    key: Mapping[str, str]
    field: str | None
    source_value: str | None
    target_value: str | None
    delta: str | None
    unit: str | None
    refs: tuple[str, ...]
    status: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    reason: str | None
    source_unit: str | None = None
    target_unit: str | None = None
    detail: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class RunResult:
    """What one run changed: discrepancies opened, still open, opened again, and resolved."""

    opened: int = 0
    still_open: int = 0
    reopened: int = 0
    resolved: int = 0


def _stored(row: Any) -> StoredDiscrepancy:
    return StoredDiscrepancy(row.id, row.job, row.kind, json.loads(row.key), row.field, row.source_value, row.target_value,
                             row.delta, row.unit, tuple(json.loads(row.refs or "[]")), row.status, row.first_seen,
                             row.last_seen, row.resolved_at, row.resolved_by, row.reason, row.source_unit,
                             row.target_unit, row.detail, row.action)


class Discrepancies:
    """The discrepancies of one ledger."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def record_run(self, job: str, found: Iterable[Found], *, at: datetime | None = None, by: str = "reconcile run") -> RunResult:
        """Record what a run of ``job`` found (see the module docstring), in batches."""
        now = at or datetime.now(UTC)
        opened = still = reopened = 0
        batch: list[Found] = []
        for item in found:
            batch.append(item)
            if len(batch) >= _BATCH:
                counts = self._upsert(job, batch, now)
                opened, still, reopened = opened + counts[0], still + counts[1], reopened + counts[2]
                batch = []
        if batch:
            counts = self._upsert(job, batch, now)
            opened, still, reopened = opened + counts[0], still + counts[1], reopened + counts[2]
        action = f"resolve what the run of {job} no longer found"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            gone = conn.execute(_TABLE.update().where(_TABLE.c.job == job, _TABLE.c.status == "open",
                                                      _TABLE.c.last_seen < now)
                                .values(status="resolved", resolved_at=now, resolved_by=by[:200],
                                        reason="no longer found by the job"))
        return RunResult(opened, still, reopened, gone.rowcount or 0)

    def _upsert(self, job: str, batch: list[Found], now: datetime) -> tuple[int, int, int]:
        prints = {item.fingerprint: item for item in batch}
        action = f"record {len(prints)} discrepancies of {job}"
        opened = still = reopened = 0
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            known = {r.fingerprint: r for r in conn.execute(
                select(_TABLE.c.id, _TABLE.c.fingerprint, _TABLE.c.status)
                .where(_TABLE.c.job == job, _TABLE.c.fingerprint.in_(list(prints))))}
            for fingerprint, item in prints.items():
                values = {"kind": item.kind, "key": json.dumps(dict(item.key), ensure_ascii=False), "field": item.field,
                          "source_value": item.source_value, "target_value": item.target_value, "delta": item.delta,
                          "unit": item.unit, "refs": json.dumps(list(item.refs), ensure_ascii=False), "last_seen": now,
                          "source_unit": item.source_unit, "target_unit": item.target_unit, "detail": item.detail,
                          "action": item.action}
                if item.action is None:  # the run's review records it afterwards
                    del values["action"]
                row = known.get(fingerprint)
                if row is None:
                    conn.execute(_TABLE.insert().values(job=job, fingerprint=fingerprint, status="open", first_seen=now,
                                                        **values))
                    opened += 1
                    continue
                if row.status != "open":
                    values.update(status="open", resolved_at=None, resolved_by=None, reason=None)
                    reopened += 1
                else:
                    still += 1
                conn.execute(_TABLE.update().where(_TABLE.c.id == row.id).values(**values))
        return opened, still, reopened

    def set_actions(self, actions: Mapping[int, str]) -> None:
        """Record what the bridge did (or would do) about each discrepancy, by id."""
        if not actions:
            return
        action = f"record what was done about {len(actions)} discrepancies"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            for discrepancy_id, text in actions.items():
                conn.execute(_TABLE.update().where(_TABLE.c.id == discrepancy_id).values(action=text[:4000]))

    def list(self, *, job: str | None = None, kind: str | None = None, status: str | None = "open",
             limit: int = 1000, seen_at: datetime | None = None, resolved_at: datetime | None = None,
             ) -> list[StoredDiscrepancy]:
        """Discrepancies by job, kind and status (None: any), oldest first; ``seen_at`` and
        ``resolved_at``: only those a run at that moment found or resolved."""
        query = select(_TABLE).order_by(_TABLE.c.first_seen, _TABLE.c.id).limit(limit)
        for column, value in ((_TABLE.c.job, job), (_TABLE.c.kind, kind), (_TABLE.c.status, status),
                              (_TABLE.c.last_seen, seen_at), (_TABLE.c.resolved_at, resolved_at)):
            if value is not None:
                query = query.where(column == value)
        action = "read the discrepancies"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            return [_stored(r) for r in conn.execute(query)]

    def open_counts(self) -> dict[tuple[str, str], int]:
        """Open discrepancies per (job, kind)."""
        query = (select(_TABLE.c.job, _TABLE.c.kind, func.count()).where(_TABLE.c.status == "open")
                 .group_by(_TABLE.c.job, _TABLE.c.kind))
        action = "count the open discrepancies"
        with self._ledger._transaction(action) as conn, _database_errors(action):
            return {(job, kind): int(count) for job, kind, count in conn.execute(query)}

    def resolve(self, discrepancy_id: int, *, by: str, reason: str, at: datetime | None = None) -> StoredDiscrepancy:
        """Close one by hand.

        Raises:
            ConfigError: no such discrepancy, it is resolved already, or no reason is given.
        """
        if not reason.strip():
            raise ConfigError("resolving a discrepancy needs a reason (--reason)")
        action = f"resolve discrepancy {discrepancy_id}"
        with self._ledger._transaction(action, write=True) as conn, _database_errors(action):
            row = conn.execute(select(_TABLE).where(_TABLE.c.id == discrepancy_id)).first()
            if row is None:
                raise ConfigError(f"no discrepancy {discrepancy_id}")
            if row.status != "open":
                raise ConfigError(f"discrepancy {discrepancy_id} is {row.status} already "
                                  f"(by {row.resolved_by} at {row.resolved_at:%Y-%m-%d %H:%M:%S})")
            conn.execute(_TABLE.update().where(_TABLE.c.id == discrepancy_id).values(
                status="resolved", resolved_at=at or datetime.now(UTC), resolved_by=by[:200], reason=reason.strip()))
            row = conn.execute(select(_TABLE).where(_TABLE.c.id == discrepancy_id)).one()
        return _stored(row)
