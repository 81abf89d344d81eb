"""How one delivery batch is decided inside its transaction: keys claimed, versions locked,
each item duplicate, stale or applied (the planning half of :meth:`Ledger.deliver`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bridge.ledger.records import Decision, DeliveryItem, delivery_key
from bridge.ledger.statements import _RAISE_VERSION, _Group, _Plan
from bridge.ledger.versions import is_older, version_key

__all__ = ["DeliveryPlanning"]


class DeliveryPlanning:
    """Mixed into :class:`~bridge.ledger.Ledger` (which provides ``_sql``)."""

    _sql: Any

    def _plan(self, conn: Connection, target: str, items: Sequence[DeliveryItem], now: datetime) -> _Plan:
        keys = [delivery_key(item) for item in items]
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        claimed = self._claim_keys(conn, target, {key: items[i].message_id for key, i in first.items()}, now)

        decisions = [Decision.DUPLICATE] * len(items)
        groups: dict[_Group, list[int]] = {}
        for index, key in enumerate(keys):
            if first[key] == index and key in claimed:
                item = items[index]
                groups.setdefault((item.entity, item.business_key), []).append(index)

        heads = {
            g: max((items[i] for i in idx), key=lambda it: version_key(it.version))
            for g, idx in groups.items()
        }
        stored = self._lock_versions(conn, target, heads, now)

        slots: dict[int, DeliveryItem] = {}
        raise_to: dict[_Group, DeliveryItem] = {}
        for group, indexes in groups.items():
            current = stored.get(group)
            applied = []
            for index in indexes:
                stale = current is not None and is_older(items[index].version, current)
                decisions[index] = Decision.STALE if stale else Decision.APPLIED
                if not stale:
                    applied.append(index)
            in_order = sorted(applied, key=lambda i: version_key(items[i].version))
            slots.update({slot: items[src] for slot, src in zip(applied, in_order, strict=True)})
            if current is not None and applied:
                raise_to[group] = items[in_order[-1]]
        return _Plan(decisions, [slots[i] for i in sorted(slots)], raise_to)

    def _claim_keys(self, conn: Connection, target: str, owners: dict[str, str], now: datetime) -> set[str]:
        """Insert the keys not stored yet and return those this transaction inserted."""
        rows = [
            {"target": target, "key": key, "message_id": owner, "applied_at": now}
            for key, owner in sorted(owners.items())  # one lock order for every worker
        ]
        return set(self._sql.run(conn, self._sql.claim_keys, rows).scalars())

    def _lock_versions(
        self, conn: Connection, target: str, heads: dict[_Group, DeliveryItem], now: datetime
    ) -> dict[_Group, str]:
        """Create the missing applied-version rows, lock the others; return the others' versions."""
        if not heads:
            return {}
        rows = [
            {
                "target": target,
                "entity": entity,
                "business_key": business_key,
                "version": item.version,
                "message_id": item.message_id,
                "applied_at": now,
            }
            for (entity, business_key), item in sorted(heads.items())
        ]
        created = {(entity, key) for entity, key in self._sql.run(conn, self._sql.create_versions, rows)}
        existing = sorted(group for group in heads if group not in created)
        return self._sql.locked_versions(conn, target, existing) if existing else {}

    def _raise_versions(
        self, conn: Connection, target: str, raise_to: dict[_Group, DeliveryItem], now: datetime
    ) -> None:
        if not raise_to:
            return
        params = [
            {
                "b_target": target,
                "b_entity": entity,
                "b_key": business_key,
                "b_version": item.version,
                "b_message": item.message_id,
                "b_at": now,
            }
            for (entity, business_key), item in sorted(raise_to.items())
        ]
        conn.execute(_RAISE_VERSION, params)
