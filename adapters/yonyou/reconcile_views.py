"""The reconciliation views (:mod:`bridge.reconcile.views`) over what a YonBIP tenant holds, read
through :class:`~adapters.yonyou.query.YonyouQuery` (its list APIs). For what the Yonyou sink
posted from canonical reports they give the records :mod:`bridge.reconcile.canonical_views`
gives for those reports.

* ``orders`` (``order``: productionorder/list): ``(<code>-<lineNo>,)``, ``quantity`` =
  ``OrderProduct_quantity``, ``version`` the order's ``pubts`` as the codec makes the version of
  the order the bridge delivered (``yyyyMMddHHmmssSSS``, :func:`order_version`), so that
  ``stale`` compares what the MES holds with what YonBIP holds now (an order without a readable
  ``pubts`` has no version: it is never stale);
* ``quantities`` (``report``: finishedreport/list): ``(order line, "")``, ``yield`` =
  ``qualifiedQuantity``, ``scrap`` = ``scrapQuantity`` (not ``quantity``: that is yield + scrap);
* ``consumption`` (``issue``: materialout/list): ``(order line, product_cCode, batchno or "")``,
  ``quantity`` = ``qty``;
* ``genealogy`` (``receipt``: storeprorecord/list, and ``issue``): ``(order line, produced batchno,
  "")`` and ``(order line, produced batchno, consumed batchno)``, no values.

* Order line: the line a document line is linked to (``sourceautoid``; else ``upcode`` and the
  material), as the query finds it; ``""`` for a document line linked to no order line the query
  knows (a document made by hand): it then shows as a record the MES side lacks.
* Units: every quantity carries the unit YonBIP lists for the line (``mainUnitName`` /
  ``product_unitName``: the material's main unit by name, ``件``, ``千克``), as is. The report
  mappings (mappings/yonyou/report_*.yaml) send no unit: YonBIP books the MES's numbers in the
  material's main unit. A job declares the aliases (``Conversion("件", Decimal(1), "PCE")``).
* Material: ``OrderProduct_materialCode`` (orders), ``materialCode`` (quantities),
  ``product_cCode`` (consumption, genealogy: the produced lot's). Refs name the document:
  ``finishedreport/WGBG20261203000001/10``, ``productionorder/SCDD20261201000001-10``.
* quantities: the sink posts one completion report per created report, whatever its
  ``operation_id`` (YonBIP reports per order line; the operation is not sent) and whether it is
  ``final`` or not, its ``qualifiedQuantity`` the report's ``yield_quantity`` and its
  ``scrapQuantity`` the ``scrap_quantity`` (``0`` when the report has none: a job compares
  ``scrap`` with ``absent_as_zero``). A job keys this view by ``order_id`` alone
  (:func:`~bridge.reconcile.views.project`, both sides ``duplicates: sum``): the MES side then sums
  every operation's reports as YonBIP summed them.
* genealogy: the stock-in and issue lines are grouped per report by their mark (the route's
  ``key_field``, ``out_sys_id`` = ``MES:<report_id>``), lines without a mark per order line; in
  each group every produced lot gives ``(order, lot, "")`` and, with every consumed lot of the
  group, ``(order, lot, parent)`` (lines without a lot give no edge), as a canonical report does.
* Reversals: the Yonyou sink refuses a ``reversed`` report (YonBIP's open APIs have no delete of
  these documents), so the reversed report's documents stay in YonBIP while the canonical side
  leaves the report out: the difference is reported until it is reversed in YonBIP by hand with
  red documents (红字单据). A red document linked to the same order line, its quantities
  negative, cancels the original in the summed ``quantities`` and ``consumption`` (not verified
  against a tenant: the simulator makes no red documents); ``genealogy`` edges are not netted,
  so a reversed report's edges stay (resolve them by hand).

Every document is read whatever its status (saved or audited), as the sink posts it with either
``workflow``. A request needs keys (order lines ``<code>-<lineNo>``) or a window on ``vouchdate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from adapters.yonyou.codec import DEFAULT_TIMEZONE, _timestamp
from adapters.yonyou.query import YonyouQuery
from bridge.adapter.query import TargetRecord
from bridge.errors import ConfigError, DecodeError
from bridge.reconcile.records import Amount, Record, amount
from bridge.reconcile.views import ViewReader, ViewRequest

__all__ = ["YONYOU_VIEWS", "order_version", "read_consumption", "read_genealogy", "read_orders", "read_quantities"]

#: query kind -> the YonBIP document it lists (for refs and messages)
_DOCUMENT = {"order": "productionorder", "report": "finishedreport", "receipt": "storeprorecord",
             "issue": "materialout"}


def _records(query: YonyouQuery, kind: str, request: ViewRequest, view: str) -> list[TargetRecord]:
    if not request.keys and request.since is None and request.until is None:
        raise ConfigError(
            f"YonBIP view {view}: the request has no keys (order lines <code>-<lineNo>) and no window "
            "(since/until on vouchdate): give keys or since")
    return query.records(kind, keys=request.keys, since=request.since, until=request.until)


def _ref(record: TargetRecord) -> str:
    return f"{_DOCUMENT.get(record.kind, record.kind)}/{record.number}"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _material(record: TargetRecord) -> str | None:
    return _text(record.facts.get("material")) or None


def _amount(record: TargetRecord, fact: str) -> Amount:
    """The quantity ``fact`` of ``record`` in the record's unit, exactly.

    Raises:
        ConfigError: the fact or the unit is missing, or the quantity is not a number.
    """
    where = f"YonBIP {_ref(record)}"
    if fact not in record.facts:
        raise ConfigError(f"{where}: the query gives no {fact!r} quantity")
    unit = _text(record.facts.get("unit"))
    if not unit:
        raise ConfigError(f"{where}: {fact} has no unit (mainUnitName / product_unitName)")
    return amount(record.facts[fact], unit, name=f"{where} {fact}")


def order_version(pubts: Any, timezone: str = DEFAULT_TIMEZONE) -> str | None:
    """An order's ``pubts`` as the version the Yonyou codec gives the order (its digits
    ``yyyyMMddHHmmssSSS``, :func:`adapters.yonyou.codec._timestamp`); None when there is none or
    it is not a YonBIP time. ``pubts`` text gives the same digits in every zone; epoch
    milliseconds are read in ``timezone``, the codec's default (a source whose ``timezone`` option
    names another zone and whose tenant lists epoch milliseconds would differ)."""
    try:
        version, _ = _timestamp(pubts, ("pubts",), timezone)
    except DecodeError:
        return None
    return version


def read_orders(query: YonyouQuery, request: ViewRequest) -> Iterator[Record]:
    """``orders``: one record per production order line, its planned quantity and version."""
    for order in _records(query, "order", request, "orders"):
        yield Record((order.key,), {"quantity": _amount(order, "quantity")}, _material(order),
                     order_version(order.facts.get("pubts")), ref=_ref(order))


def read_quantities(query: YonyouQuery, request: ViewRequest) -> Iterator[Record]:
    """``quantities``: one record per completion report line, ``(order line, "")``."""
    for line in _records(query, "report", request, "quantities"):
        values = {"yield": _amount(line, "qualified"), "scrap": _amount(line, "scrap")}
        yield Record((line.key, ""), values, _material(line), ref=_ref(line))


def read_consumption(query: YonyouQuery, request: ViewRequest) -> Iterator[Record]:
    """``consumption``: one record per material issue line."""
    for line in _records(query, "issue", request, "consumption"):
        material = _text(line.facts.get("material"))
        key = (line.key, material, _text(line.facts.get("lot")))
        yield Record(key, {"quantity": _amount(line, "quantity")}, material or None, ref=_ref(line))


_Group = tuple[list[TargetRecord], list[TargetRecord]]  # (stock-in lines, issue lines)


def _groups(receipts: Iterable[TargetRecord], issues: Iterable[TargetRecord]) -> dict[tuple[str, str], _Group]:
    """The lines by (order line, mark): per report; lines without a mark per order line."""
    groups: dict[tuple[str, str], _Group] = {}
    for side, lines in enumerate((receipts, issues)):
        for line in lines:
            groups.setdefault((line.key, line.mark), ([], []))[side].append(line)
    return groups


def _edges(order: str, produced: list[TargetRecord], consumed: list[TargetRecord]) -> Iterator[Record]:
    parents = [(lot, line) for line in consumed if (lot := _text(line.facts.get("lot")))]
    for line in produced:
        lot = _text(line.facts.get("lot"))
        if not lot:
            continue
        material, ref = _material(line), _ref(line)
        yield Record((order, lot, ""), {}, material, ref=ref)
        for parent, issue in parents:
            yield Record((order, lot, parent), {}, material, ref=f"{ref} <- {_ref(issue)}")


def read_genealogy(query: YonyouQuery, request: ViewRequest) -> Iterator[Record]:
    """``genealogy``: the lots stocked in and the lots issued, per report (see the module's text)."""
    receipts = _records(query, "receipt", request, "genealogy")
    issues = _records(query, "issue", request, "genealogy")
    for (order, _mark), (produced, consumed) in _groups(receipts, issues).items():
        yield from _edges(order, produced, consumed)


YONYOU_VIEWS: Mapping[str, ViewReader] = {
    "orders": read_orders,
    "quantities": read_quantities,
    "consumption": read_consumption,
    "genealogy": read_genealogy,
}
