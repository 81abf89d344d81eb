"""What the ledger knows about one batch of events for a remote target, read at once.

A remote deliver stage asks, per event, whether it was delivered already (or is stale), what the
bridge knows of its production order, and whether an earlier event holds that order. Asked one
event at a time that is three read transactions per event; :func:`batch_view` answers them for
the whole batch in one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_

from bridge.ledger.engine import _database_errors
from bridge.ledger.models import (
    AppliedVersionRow,
    IdempotencyKeyRow,
    OrderFactRow,
    SerialHoldRow,
    table_of,
)
from bridge.ledger.versions import is_older

__all__ = ["BatchView", "ViewItem", "batch_view"]

_KEYS = table_of(IdempotencyKeyRow)
_VERSIONS = table_of(AppliedVersionRow)
_FACTS = table_of(OrderFactRow)
_HOLDS = table_of(SerialHoldRow)
_CHUNK = 400  # bound parameters per IN list


@dataclass(frozen=True)
class ViewItem:
    """One event: its delivery key, and what decides whether it is stale."""

    key: str
    entity: str
    business_key: str
    version: str


@dataclass
class BatchView:
    """The answers for one batch (read before any of its calls is made)."""

    seen: dict[str, str] = field(default_factory=dict)  # delivery key -> "duplicate" | "stale"
    orders: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # order_id -> facts
    holders: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # serial key -> holder


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def batch_view(
    ledger: Any, target: str, items: Sequence[ViewItem], order_ids: Iterable[str], serial_keys: Iterable[str]
) -> BatchView:
    """Read what ``target``'s deliveries of ``items`` need, in one read transaction."""
    view = BatchView(orders=dict.fromkeys(order_ids))
    keys = sorted({i.key for i in items})
    pairs = sorted({(i.entity, i.business_key) for i in items})
    action = f"read the ledger for a batch of {len(items)} to {target}"
    with ledger._transaction(action) as conn, _database_errors(action):
        delivered: set[str] = set()
        for chunk in _chunks(keys):
            delivered.update(
                conn.execute(select(_KEYS.c.key).where(_KEYS.c.target == target, _KEYS.c.key.in_(chunk))).scalars()
            )
        current: dict[tuple[str, str], str] = {}
        for chunk in _chunks(pairs):
            rows = conn.execute(
                select(_VERSIONS.c.entity, _VERSIONS.c.business_key, _VERSIONS.c.version).where(
                    _VERSIONS.c.target == target, tuple_(_VERSIONS.c.entity, _VERSIONS.c.business_key).in_(chunk)
                )
            )
            current.update({(r.entity, r.business_key): r.version for r in rows})
        for chunk in _chunks(sorted(view.orders)):
            for row in conn.execute(select(_FACTS.c.order_id, _FACTS.c.facts).where(_FACTS.c.order_id.in_(chunk))):
                view.orders[row.order_id] = json.loads(row.facts)
        for chunk in _chunks(sorted(set(serial_keys))):
            rows = conn.execute(
                select(_HOLDS.c.serial_key, _HOLDS.c.message_id, _HOLDS.c.since).where(
                    _HOLDS.c.target == target, _HOLDS.c.serial_key.in_(chunk)
                )
            )
            for row in rows:
                since = row.since if row.since.tzinfo else row.since.replace(tzinfo=UTC)
                view.holders[row.serial_key] = (row.message_id, since)
    for item in items:
        if item.key in delivered:
            view.seen[item.key] = "duplicate"
        elif (newer := current.get((item.entity, item.business_key))) is not None and is_older(item.version, newer):
            view.seen[item.key] = "stale"
    return view
