"""Repairing orders the MES lacks or holds an older version of (view orders): a dead letter of
the order's delivery replayed, or the ERP poller's orders watermark set back to the order's
change (:mod:`bridge.reconcile.repair`)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.ledger.engine import _database_errors
from bridge.reconcile.repair_base import (
    JOURNAL,
    KEYS_PER_QUERY,
    RepairBase,
    Review,
    log,
    short_error,
    unit_advice,
)

__all__ = ["OrderRepairs"]

_VERSION = re.compile(r"(?<!\d)(\d{14,})(?!\d)")


class OrderRepairs(RepairBase):
    """The orders half of :class:`bridge.reconcile.repair.Repairer`."""

    def _review_orders(self, discrepancies: Sequence[StoredDiscrepancy], review: Review) -> None:
        erp = self._erp_label()
        wanted: dict[str, list[StoredDiscrepancy]] = {}
        for d in discrepancies:
            order = str(d.key.get("order_id", ""))
            if d.kind in (self._missing_on_mes_side(), "stale", "quantity_mismatch"):
                wanted.setdefault(order, []).append(d)
            elif d.kind == self._missing_on_erp_side():
                review.actions[d.id] = (f"{erp} does not hold order {order} in the window ({self.since} on): "
                                        "closed or deleted there, or released before the window; the MES still "
                                        "has it (cancel it in the MES if it is gone)")
            else:
                review.actions[d.id] = unit_advice(d)
        if not wanted:
            return
        deliveries = self._order_deliveries(set(wanted))
        dead = {order: row for order, row in deliveries.items() if row.status == "dead_lettered"}
        replayed: set[str] = set()
        if self.repairing and dead:
            by_route: dict[str, list[str]] = {}
            for row in dead.values():
                by_route.setdefault(row.stage.removeprefix("deliver:"), []).append(row.message_id)
            for route, ids in by_route.items():
                replayed |= self._replay(route, ids)
        to_poll = {order: items for order, items in wanted.items()
                   if order not in deliveries or deliveries[order].status not in ("dead_lettered", "failed")
                   or (deliveries[order].status == "dead_lettered" and self.repairing
                       and deliveries[order].message_id not in replayed)}
        polled = self._poll_again(to_poll) if to_poll else {}
        for order, items in wanted.items():
            row = deliveries.get(order)
            repaired = 0
            if row is not None and row.message_id in replayed:
                text, repaired = f"replayed the dead letter of its delivery to {row.stage.removeprefix('deliver:')}; " \
                                 "the next run checks it", 1
            elif row is not None and row.status == "failed":
                text = (f"its delivery to {row.stage.removeprefix('deliver:')} is being retried "
                        f"(attempt {row.attempts}: {short_error(row.error)})")
            elif row is not None and row.status == "dead_lettered" and not self.repairing:
                text = (f"its delivery to {row.stage.removeprefix('deliver:')} was dead-lettered "
                        f"({short_error(row.error)}); --repair replays it")
            else:
                text, repaired = polled[order]
            for d in items:
                review.actions[d.id] = text
            review.repaired += repaired * len(items)

    def _order_deliveries(self, orders: set[str]) -> dict[str, Any]:
        """The newest journal row of each order's delivery to an MES route (by any route that
        takes order events)."""
        from bridge.broker.routing import topic_matches
        from bridge.canonical.order import ORDER_EVENTS

        stages = [f"deliver:{r.name}" for r in self.settings.routes
                  if r.name != self.erp_route and any(topic_matches(p, f"order.{e}") for p in r.events
                                                      for e in ORDER_EVENTS)]
        if not stages:
            return {}
        newest: dict[str, Any] = {}
        ordered = sorted(orders)
        action = "read the orders' deliveries"
        for start in range(0, len(ordered), KEYS_PER_QUERY):
            chunk = ordered[start:start + KEYS_PER_QUERY]
            query = (select(JOURNAL).where(JOURNAL.c.stage.in_(stages), JOURNAL.c.entity == "order",
                                            JOURNAL.c.business_key.in_(chunk)).order_by(JOURNAL.c.id))
            with self.ledger._transaction(action) as conn, _database_errors(action):
                for row in conn.execute(query):
                    newest[row.business_key] = row
        return newest

    def _poll_again(self, orders: Mapping[str, list[StoredDiscrepancy]]) -> dict[str, tuple[str, int]]:
        """Set the ERP poller's orders watermark back to the orders' modification times."""
        from bridge.adapter.polling import Watermark
        from bridge.adapter.registry import adapter_for

        assert self.erp_route is not None
        system = self._route(self.erp_route).sink
        feeds = tuple(getattr(adapter_for(system), "order_feeds", ()) or ())
        source = self.settings.sources.get(system)
        poll = (source.model_extra or {}).get("poll") if source is not None else None
        if not feeds:
            text = (f"{system} pushes its orders to the bridge, which cannot ask for one: the bridge has no trace of "
                    "it; send it again from the ERP" + (" (SAP: transaction POIT sends production orders over ALE, "
                                                         "BD87 reprocesses an IDoc in error)" if system == "sap" else ""))
            return dict.fromkeys(orders, (text, 0))
        if not isinstance(poll, Mapping):
            text = f"no {system} poller is configured (sources.{system}.poll) to read the order again"
            return dict.fromkeys(orders, (text, 0))
        moments = {order: self._modified(items) for order, items in orders.items()}
        earliest = min(moments.values())
        results: dict[str, tuple[str, int]] = {}
        for feed in feeds:
            name = f"{system}:{feed}"
            saved = self.ledger.positions.get(name)
            current = Watermark.from_text(saved.position, f"position {name}").modified if saved else None
            if current is None:
                text = f"the {system} poller has not polled {feed} yet: it reads the order on its first poll"
                return dict.fromkeys(orders, (text, 0))
            if current <= earliest:
                text = (f"the {system} poller reads {feed} from {current:%Y-%m-%d %H:%M:%S} on: the order is read "
                        "on its next poll")
                return dict.fromkeys(orders, (text, 0))
            if not self.repairing:
                return {order: (f"not delivered to the MES; --repair sets the {system} poller's {feed} watermark "
                                 f"back to {moments[order]:%Y-%m-%d %H:%M:%S} to read it again", 0) for order in orders}
            self.ledger.positions.set(name, Watermark(earliest).to_text(), by=self._who()[:200])
            log.info("reconcile %s: watermark %s set back from %s to %s", self.job_name, name, current, earliest)
            for order in orders:
                results[order] = (f"set the {system} poller's {feed} watermark back from {current:%Y-%m-%d %H:%M:%S} "
                                  f"to {earliest:%Y-%m-%d %H:%M:%S}: it reads the order again on its next poll; "
                                  "the next run checks it", 1)
        return results

    def _modified(self, items: Sequence[StoredDiscrepancy]) -> datetime:
        """When the ERP last changed the order (its version's leading digits, the ERP's local
        time), a second early; the window's start when the version says nothing."""
        moments = [m for d in items for m in _version_times(d.detail)]
        return min(moments) - timedelta(seconds=1) if moments else datetime.combine(self.since, time(0))


def _version_times(text: str | None) -> list[datetime]:
    """The times in the versions a discrepancy's detail names (``version 20261205083000123456``:
    14 or more digits, the ERP's local time first)."""
    found = []
    for digits in _VERSION.findall(text or ""):
        with contextlib.suppress(ValueError):
            found.append(datetime.strptime(digits[:14], "%Y%m%d%H%M%S"))
    return found
