"""The views a reconciliation job compares: what an ERP, the MES or the ledger holds, each
read as :class:`~bridge.reconcile.records.Record` values with the same key fields and value
names whatever system they come from.

=============  ==========================================  ===================  =====================
view           key fields (in this order)                  values               material
=============  ==========================================  ===================  =====================
orders         order_id                                    quantity             the order's material
quantities     order_id, operation_id                      yield, scrap         the order's material
consumption    order_id, material_id, lot_id               quantity             material_id
genealogy      order_id, lot_id, parent_lot_id             (none: presence)     the produced lot's
=============  ==========================================  ===================  =====================

* ``orders``: one record per production order (an order line where the ERP's order has lines);
  ``quantity`` is the planned quantity in the order's unit; ``version`` when the side has one.
* ``quantities``: what was reported per order and operation; ``operation_id`` is ``""`` where
  the ERP posts per order (K/3 Cloud, YonBIP): a job keyed by ``order_id`` alone sums the rest.
* ``consumption``: material consumed per order, material and lot (goods issues); ``lot_id`` is
  ``""`` for material that is not lot-managed.
* ``genealogy``: the edges of an order's lot tree: ``(order, lot, "")`` for every lot the order
  produced, ``(order, lot, parent)`` for every lot it consumed into it (each produced lot of an
  order is taken to contain every consumed lot of the order, on both sides alike).

A side reader yields records in any order (the engine sorts); every key field is text, ``""``
where it does not apply, never None. Quantities are exact (:func:`~bridge.reconcile.records.amount`).
``ref`` names the side's own document (``"PRD_MORPT/MORPT0001/1"``, ``"4900000012/2026"``).

An ERP adapter provides its readers as ``Adapter.views``: view name -> ``reader(query, request)``
over its query role (:mod:`bridge.adapter.query`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bridge.errors import ConfigError
from bridge.reconcile.records import Record

__all__ = ["VIEW_KEYS", "VIEW_VALUES", "ViewReader", "ViewRequest", "check_view", "project"]

VIEW_KEYS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id",),
    "quantities": ("order_id", "operation_id"),
    "consumption": ("order_id", "material_id", "lot_id"),
    "genealogy": ("order_id", "lot_id", "parent_lot_id"),
}
VIEW_VALUES: dict[str, tuple[str, ...]] = {
    "orders": ("quantity",),
    "quantities": ("yield", "scrap"),
    "consumption": ("quantity",),
    "genealogy": (),
}


@dataclass(frozen=True)
class ViewRequest:
    """What a job asks a side for: the orders of ``keys`` (order ids; empty: every order) and/or
    the documents dated within ``since``..``until`` (inclusive)."""

    keys: Collection[str] = field(default_factory=frozenset)
    since: date | None = None
    until: date | None = None


#: ``reader(query, request) -> records`` of one view over an adapter's query role.
ViewReader = Callable[[Any, ViewRequest], Iterable[Record]]


def check_view(view: str) -> tuple[str, ...]:
    """The key fields of ``view``.

    Raises:
        ConfigError: no such view (the message lists the views).
    """
    try:
        return VIEW_KEYS[view]
    except KeyError:
        raise ConfigError(f"no reconciliation view {view!r} (views: {', '.join(VIEW_KEYS)})") from None


def project(records: Iterable[Record], view: str, key_fields: tuple[str, ...]) -> Iterable[Record]:
    """The records of ``view`` keyed by ``key_fields`` (a subset of the view's key, in any order):
    the key fields a job leaves out are dropped (the side then sums the records of one key).

    Raises:
        ConfigError: a key field the view does not have.
    """
    view_keys = check_view(view)
    unknown = [name for name in key_fields if name not in view_keys]
    if unknown:
        raise ConfigError(
            f"view {view} has no key field {', '.join(unknown)} (its key: {', '.join(view_keys)})"
        )
    if key_fields == view_keys:
        return records
    positions = [view_keys.index(name) for name in key_fields]

    def projected() -> Iterable[Record]:
        for record in records:
            key = record.key
            yield Record(tuple([key[i] for i in positions]), record.values, record.material,
                         record.version, record.seen_at, record.ref)

    return projected()
