"""Canonical report envelopes (what the MES reported, as the bridge received and translated
them) read as the records of a view (:mod:`bridge.reconcile.views`).

Each report gives:

* ``quantities``: ``(order_id, operation_id or "")`` with ``yield`` and, when reported, ``scrap``;
* ``consumption``: ``(order_id, material_id, lot_id or "")`` with ``quantity``, per consumed line;
* ``genealogy``: ``(order_id, lot, "")`` per produced lot and ``(order_id, lot, parent)`` per
  produced lot and consumed lot of the same report (lines without a lot give no edge).

A reversal (event ``reversed``) takes back the report it names: :func:`report_records` leaves
out the reports in ``reversed_ids`` and the reversals themselves, so a report and its reversal
count for nothing, as in the ERP, where the reversal cancels the posting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from bridge.errors import ConfigError
from bridge.reconcile.records import Amount, Record, amount
from bridge.reconcile.views import check_view

__all__ = ["report_records", "reversed_ids"]


def reversed_ids(envelopes: Iterable[Mapping[str, Any]]) -> set[str]:
    """The report ids the reversals among ``envelopes`` take back."""
    found = set()
    for envelope in envelopes:
        payload = envelope.get("payload") or {}
        if envelope.get("entity") == "report" and payload.get("reversal_of"):
            found.add(str(payload["reversal_of"]))
    return found


def _quantity(raw: Any, name: str) -> Amount:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name} is {raw!r}, not a quantity with value and unit")
    return amount(raw.get("value"), raw.get("unit"), name=name)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def report_records(
    envelopes: Iterable[Mapping[str, Any]], view: str, *, reversed: Collection[str] = ()
) -> Iterator[Record]:
    """The records of ``view`` over the report envelopes (other entities are skipped).

    Raises:
        ConfigError: an unknown view, or a quantity that is not exact (naming the report).
    """
    check_view(view)
    for envelope in envelopes:
        if envelope.get("entity") != "report":
            continue
        payload = envelope.get("payload") or {}
        report_id = _text(payload.get("report_id"))
        if envelope.get("event") == "reversed" or payload.get("reversal_of") or report_id in reversed:
            continue
        ref = f"report {report_id}"
        try:
            yield from _records(payload, view, ref)
        except ConfigError as exc:
            raise ConfigError(f"{ref}: {exc}") from None


def _records(payload: Mapping[str, Any], view: str, ref: str) -> Iterator[Record]:
    order = _text(payload.get("order_id"))
    produced = [line for line in payload.get("produced") or [] if isinstance(line, Mapping)]
    consumed = [line for line in payload.get("consumed") or [] if isinstance(line, Mapping)]
    if view == "quantities":
        values = {"yield": _quantity(payload.get("yield_quantity"), "yield_quantity")}
        if payload.get("scrap_quantity") is not None:
            values["scrap"] = _quantity(payload["scrap_quantity"], "scrap_quantity")
        material = _text(produced[0].get("material_id")) or None if produced else None
        yield Record((order, _text(payload.get("operation_id"))), values, material, ref=ref)
    elif view == "consumption":
        for number, line in enumerate(consumed, 1):
            material = _text(line.get("material_id"))
            quantity = _quantity(line.get("quantity"), f"consumed[{number}].quantity")
            yield Record((order, material, _text(line.get("lot_id"))), {"quantity": quantity}, material, ref=ref)
    elif view == "genealogy":
        parents = [_text(line.get("lot_id")) for line in consumed if _text(line.get("lot_id"))]
        for line in produced:
            lot = _text(line.get("lot_id"))
            if not lot:
                continue
            material = _text(line.get("material_id")) or None
            yield Record((order, lot, ""), {}, material, ref=ref)
            for parent in parents:
                yield Record((order, lot, parent), {}, material, ref=ref)
    # view "orders": a report names no order's plan
