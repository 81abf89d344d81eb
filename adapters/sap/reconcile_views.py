"""The reconciliation views (:mod:`bridge.reconcile.views`) over SAP's read BAPIs, through the
query role (:class:`adapters.sap.query.SapQuery`): for what the SAP sink posted from canonical
reports they give the records :mod:`bridge.reconcile.canonical_views` gives for those reports.

Which BAPI field gives which value:

=============  =====================================================================================
view           SAP source -> record
=============  =====================================================================================
orders         BAPI_PRODORD_GET_LIST ORDER_HEADER: key ORDER_NUMBER (display form, ALPHA zeros
               dropped); ``quantity`` = TARGET_QUANTITY in UNIT; material = MATERIAL; ref = the
               order number. Needs keys: SAP lists orders for given numbers (ORDER_NUMBER_RANGE).
quantities     BAPI_PRODORDCONF_GETLIST CONFIRMATIONS + BAPI_PRODORDCONF_GETDETAIL CONF_DETAIL:
               key (ORDERID display form, OPERATION as SAP keeps it: the 4-digit VORNR the
               mapping padded, ``"0010"``); ``yield`` = YIELD and ``scrap`` = SCRAP, both in
               CONF_QUAN_UNIT (SAP always holds a scrap, ``0`` when none was posted: a job
               compares scrap with ``absent_as_zero`` for reports that leave it out); material =
               the order's MATERIAL (one BAPI_PRODORD_GET_LIST call for the orders found); ref =
               ``CONF_NO/CONF_CNT``. A confirmation that was cancelled (REVERSED = X) and the
               cancellation itself (REV_CONF_CNT names the counter it cancels) are left out, as
               the canonical side leaves out a report and its reversal. Needs keys:
               BAPI_PRODORDCONF_GETLIST selects by order or confirmation number, never by date;
               a window given with the keys keeps the confirmations whose POSTG_DATE lies in it.
consumption    BAPI_GOODSMVT_GETITEMS (PSTNG_DATE_RA = since..until; keys narrow to the items'
               ORDERID) GOODSMVT_ITEMS: goods issues to an order, MOVE_TYPE 261 counted positive,
               262 (its reversal) negative: key (ORDERID display, MATERIAL display, BATCH or
               ""); ``quantity`` = the net of ENTRY_QNT per key and ENTRY_UOM; material =
               MATERIAL; ref = the items ``MAT_DOC/DOC_YEAR/MATDOC_ITM``. Needs ``since``.
genealogy      BAPI_GOODSMVT_GETITEMS as above, the items grouped per order and document mark
               (GOODSMVT_HEADER HEADER_TXT without the ``/R`` / ``/I`` the sink appends to the
               report's mark, so a report's receipt and issue documents form one group;
               documents without a mark, as ``goods_movements: confirmation`` posts them, form
               one group per order): every produced lot (101 with BATCH) gives (order, lot,
               "") and every produced lot x consumed lot (261 with BATCH) of the group gives
               (order, lot, parent); a 102 / 262 takes its 101 / 261 back (a lot counts while
               its receipts outnumber their reversals). Needs ``since``.
=============  =====================================================================================

Several SAP lines of one key: ``quantities`` emits one record per confirmation (several
confirmations of one operation give several records of one key); ``consumption`` nets the
items of a key per unit in the reader, exactly (:data:`bridge.reconcile.records.EXACT`), and
leaves out a key whose issues and reversals net to zero (so a reversed report leaves no zero
record that the canonical side, which drops it, would not have); it emits one record per unit
where the items of a key differ in unit. ``genealogy`` emits each edge once per group; one lot
in two reports gives it twice. The job therefore reads a SAP view with ``duplicates: sum`` and
the engine sums what remains (converting units through the job's conversions).

Quantities are SAP's exact decimals (text, or zeep's Decimal) through
:func:`~bridge.reconcile.records.amount`, in the unit SAP holds (the SAP code the reverse
mapping's inverted ``sap_units`` lookup made of the MES unit: ``KG`` for ``KGM``); a job whose
MES side speaks other codes gives the conversions (``1 KG = 1 KGM``). SAP keeps batches in
upper case and material numbers ALPHA-padded; the keys carry batches as SAP holds them and
all-digit materials and orders without their leading zeros.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.sap.query import SapQuery
from bridge.errors import ConfigError
from bridge.reconcile.records import EXACT, Amount, Record, amount
from bridge.reconcile.views import ViewReader, ViewRequest

__all__ = ["SAP_VIEWS", "consumption", "genealogy", "orders", "quantities"]

#: Goods issue to an order and its reversal: the sign each gives consumption.
_ISSUES = {"261": 1, "262": -1}
_RECEIPT, _RECEIPT_REVERSAL = "101", "102"
_ISSUE, _ISSUE_REVERSAL = "261", "262"
#: What the sink appends to a report's mark on its receipt and issue documents.
_MARK_SUFFIXES = ("/R", "/I")
_REFS_SHOWN = 4
_ZERO = Decimal(0)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _display(number: Any) -> str:
    """An ALPHA-padded number without its leading zeros (``000208277437`` -> ``208277437``)."""
    text = _text(number)
    return (text.lstrip("0") or text) if text.isdigit() else text


def _quantity(raw: Any, unit: Any, name: str, ref: str, sign: int = 1) -> Amount:
    try:
        found = amount(raw, _text(unit) or None, name=name)
    except ConfigError as exc:
        raise ConfigError(f"SAP {ref}: {exc}") from None
    return found if sign > 0 else Amount(-found.value, found.unit)


def _window(request: ViewRequest, view: str) -> tuple[date, date | None]:
    if request.since is None:
        raise ConfigError(
            f"view {view}: SAP material documents are read for a posting-date window "
            "(BAPI_GOODSMVT_GETITEMS selects by PSTNG_DATE_RA): give since (and until)"
        )
    return request.since, request.until


def _in_window(posted: Any, request: ViewRequest) -> bool:
    day = _text(posted)[:10]
    if not day:
        return request.since is None and request.until is None
    if request.since is not None and day < request.since.isoformat():
        return False
    return request.until is None or day <= request.until.isoformat()


# -- orders -------------------------------------------------------------------------------


def orders(query: SapQuery, request: ViewRequest) -> Iterator[Record]:
    """``orders``: the production orders of ``request.keys`` (BAPI_PRODORD_GET_LIST).

    Raises:
        ConfigError: no keys (SAP lists orders for given numbers), or a quantity that is not exact.
    """
    if not request.keys:
        raise ConfigError(
            "view orders: SAP orders are read for given order numbers (BAPI_PRODORD_GET_LIST "
            "selects by ORDER_NUMBER_RANGE): give the job keys"
        )
    return _order_records(query, request.keys)


def _order_records(query: SapQuery, keys: Collection[str]) -> Iterator[Record]:
    for found in query.records("order", keys=keys):
        header = found.facts
        ref = f"order {found.number}"
        quantity = _quantity(header.get("TARGET_QUANTITY"), header.get("UNIT"), "TARGET_QUANTITY", ref)
        yield Record((found.key,), {"quantity": quantity}, _display(header.get("MATERIAL")) or None, ref=found.number)


# -- quantities ---------------------------------------------------------------------------


def _is_reversal_or_reversed(facts: Mapping[str, Any]) -> bool:
    return bool(_text(facts.get("REVERSED"))) or bool(_text(facts.get("REV_CONF_CNT")).strip("0"))


def _order_materials(query: SapQuery, numbers: Collection[str]) -> dict[str, str]:
    if not numbers:
        return {}
    return {o.key: _display(o.facts.get("MATERIAL")) for o in query.records("order", keys=numbers)}


def quantities(query: SapQuery, request: ViewRequest) -> Iterator[Record]:
    """``quantities``: the confirmations of ``request.keys`` that stand (neither cancelled nor
    cancellations), one record each; with a window, those posted within it.

    Raises:
        ConfigError: no keys (the confirmation BAPIs select by order, not by date), or a
            quantity that is not exact.
    """
    if not request.keys:
        raise ConfigError(
            "view quantities: SAP confirmations are read for given production orders "
            "(BAPI_PRODORDCONF_GETLIST selects by ORDER_RANGE or CONF_RANGE, not by posting date): "
            "give the job keys"
        )
    return _confirmation_records(query, request)


def _confirmation_records(query: SapQuery, request: ViewRequest) -> Iterator[Record]:
    standing = [
        c for c in query.records("confirmation", keys=request.keys)
        if not _is_reversal_or_reversed(c.facts) and _in_window(c.facts.get("POSTG_DATE"), request)
    ]
    materials = _order_materials(query, {c.key for c in standing})
    for found in standing:
        yield _confirmation_record(found.key, found.number, found.facts, materials.get(found.key) or None)


def _confirmation_record(order: str, number: str, facts: Mapping[str, Any], material: str | None) -> Record:
    ref = f"confirmation {number}"
    unit = facts.get("CONF_QUAN_UNIT")
    values = {
        "yield": _quantity(facts.get("YIELD"), unit, "YIELD", ref),
        "scrap": _quantity(facts.get("SCRAP") or "0", unit, "SCRAP", ref),
    }
    return Record((order, _text(facts.get("OPERATION"))), values, material, ref=number)


# -- material documents -------------------------------------------------------------------


def _items(query: SapQuery, request: ViewRequest, view: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(document mark, item)`` of every item in the window (narrowed to the keys' orders).

    Raises:
        ConfigError: now, when the request has no ``since``.
    """
    since, until = _window(request, view)
    return _document_items(query, request.keys, since, until)


def _document_items(
    query: SapQuery, keys: Collection[str], since: date, until: date | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for document in query.records("material_document", keys=keys, since=since, until=until):
        for item in document.facts.get("items") or []:
            yield document.mark, item


def _item_ref(item: Mapping[str, Any]) -> str:
    return f"{_text(item.get('MAT_DOC'))}/{_text(item.get('DOC_YEAR'))}/{_text(item.get('MATDOC_ITM'))}"


def consumption(query: SapQuery, request: ViewRequest) -> Iterator[Record]:
    """``consumption``: the goods issues to an order in the window, netted per key and unit
    (261 positive, its 262 reversal negative, summed exactly); a key that nets to nothing (an
    issue and its reversal) is left out, as the canonical side leaves out a reversed report.

    Raises:
        ConfigError: no ``since``, or a quantity that is not exact.
    """
    return _netted_issues(_items(query, request, "consumption"))


def _netted_issues(items: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[Record]:
    net: dict[tuple[tuple[str, str, str], str], tuple[Decimal, list[str]]] = {}
    for _mark, item in items:
        sign = _ISSUES.get(_text(item.get("MOVE_TYPE")))
        order = _display(item.get("ORDERID"))
        if sign is None or not order:
            continue
        key = (order, _display(item.get("MATERIAL")), _text(item.get("BATCH")))
        ref = _item_ref(item)
        quantity = _quantity(item.get("ENTRY_QNT"), item.get("ENTRY_UOM"), "ENTRY_QNT", f"item {ref}", sign)
        total, refs = net.get((key, quantity.unit), (_ZERO, []))
        net[(key, quantity.unit)] = (EXACT.add(total, quantity.value), [*refs, ref])
    for (key, unit), (total, refs) in sorted(net.items()):
        if total:
            yield Record(key, {"quantity": Amount(total, unit)}, key[1] or None, ref=_refs(refs))


def _refs(refs: list[str]) -> str:
    shown = ", ".join(refs[:_REFS_SHOWN])
    return shown if len(refs) <= _REFS_SHOWN else f"{shown} (+{len(refs) - _REFS_SHOWN} more)"


def _report_mark(mark: str) -> str:
    """A document's mark without the suffix the sink gives the report's receipt and issue."""
    for suffix in _MARK_SUFFIXES:
        if mark.endswith(suffix):
            return mark[: -len(suffix)]
    return mark


class _Group:
    """The lots one report (or, unmarked, one order) produced and consumed, net of reversals."""

    def __init__(self) -> None:
        self.produced: dict[str, int] = {}
        self.materials: dict[str, str] = {}
        self.consumed: dict[str, int] = {}
        self.refs: list[str] = []

    def add(self, item: Mapping[str, Any]) -> None:
        move, lot = _text(item.get("MOVE_TYPE")), _text(item.get("BATCH"))
        if not lot or move not in (_RECEIPT, _RECEIPT_REVERSAL, _ISSUE, _ISSUE_REVERSAL):
            return
        counts = self.produced if move in (_RECEIPT, _RECEIPT_REVERSAL) else self.consumed
        counts[lot] = counts.get(lot, 0) + (1 if move in (_RECEIPT, _ISSUE) else -1)
        if move == _RECEIPT:
            self.materials.setdefault(lot, _display(item.get("MATERIAL")))
        document = _item_ref(item).rsplit("/", 1)[0]
        if document not in self.refs:
            self.refs.append(document)

    def edges(self, order: str, mark: str) -> Iterator[Record]:
        ref = f"{mark or 'no mark'}: {_refs(self.refs)}"
        parents = sorted(lot for lot, count in self.consumed.items() if count > 0)
        for lot in sorted(lot for lot, count in self.produced.items() if count > 0):
            material = self.materials.get(lot) or None
            yield Record((order, lot, ""), {}, material, ref=ref)
            for parent in parents:
                yield Record((order, lot, parent), {}, material, ref=ref)


def genealogy(query: SapQuery, request: ViewRequest) -> Iterator[Record]:
    """``genealogy``: per order and report mark, each produced lot and each produced x consumed
    lot pair, net of reversed movements.

    Raises:
        ConfigError: no ``since``.
    """
    return _edges(_items(query, request, "genealogy"))


def _edges(items: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[Record]:
    groups: dict[tuple[str, str], _Group] = {}
    for mark, item in items:
        order = _display(item.get("ORDERID"))
        if order:
            groups.setdefault((order, _report_mark(_text(mark))), _Group()).add(item)
    for (order, mark), group in sorted(groups.items()):
        yield from group.edges(order, mark)


SAP_VIEWS: dict[str, ViewReader] = {
    "orders": orders,
    "quantities": quantities,
    "consumption": consumption,
    "genealogy": genealogy,
}

