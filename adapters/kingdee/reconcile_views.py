"""The reconciliation views (:mod:`bridge.reconcile.views`) over a K/3 Cloud data center, read
with :class:`~adapters.kingdee.query.KingdeeQuery` (ExecuteBillQuery).

=============  ==============  ===============================================================
view           bill            key and values
=============  ==============  ===============================================================
orders         PRD_MO rows     (``<FBillNo>-<FSeq>``,): ``quantity`` = FQty in FUnitId
quantities     PRD_MORPT rows  (FMoBillNo-FMoEntrySeq, ``""``): ``yield`` = FQuaQty,
                               ``scrap`` = FScrapQty, both in the row's FUnitID
consumption    PRD_PickMtrl    (order, FMaterialId, FLot or ``""``): ``quantity`` = FActualQty
                               in FUnitID
genealogy      PRD_INSTOCK +   (order, FLot, ``""``) per produced lot (PRD_INSTOCK row with a
               PRD_PickMtrl    lot) and (order, FLot, parent) per produced lot and consumed lot
                               (PRD_PickMtrl row with a lot) of the same report
=============  ==============  ===============================================================

What the Kingdee sink posts (:mod:`adapters.kingdee.bill_calls`) and so what these views mirror
of :mod:`bridge.reconcile.canonical_views`:

* every ``created`` report becomes one PRD_MORPT row of its order row, whatever its
  ``operation_id`` or ``final`` (intermediate operations too): K/3 Cloud has no operation, so
  ``operation_id`` is ``""`` and a job compares quantities keyed by ``order_id`` alone
  (:func:`bridge.reconcile.views.project` on both sides, ``duplicates: sum``);
* FQuaQty is the report's ``yield_quantity``, FScrapQty its ``scrap_quantity`` (FFinishQty, their
  sum, is not a view value). K/3 Cloud keeps no "no scrap": a report without scrap reads back
  ``scrap`` 0, so a job gives ``scrap`` ``absent_as_zero``;
* a reversal (event ``reversed``) un-audits and deletes every bill its original made: a reversed
  report is simply not there, as :func:`~bridge.reconcile.canonical_views.report_records` leaves
  it out. Every bill that exists counts, whatever its FDocumentStatus (a route's ``workflow``
  may stop at save or submit);
* the mappings (``mappings/kingdee/report_*.yaml``) send the canonical unit as the K/3 unit
  number untranslated (``Pcs``, ``kg``); records carry the unit K/3 Cloud holds as is (a unit a
  user changed in the ERP is converted by the job's conversions, never here);
* the bills of one report carry its mark ``MES:<report_id>`` in the route's key field: genealogy
  pairs the PRD_INSTOCK and PRD_PickMtrl rows of one mark (one report); rows without a mark
  (entered in the ERP by hand) are paired per order.

A request names order ids (``keys``), a window on the bills' FDate (``since``..``until``), or
both; a request with neither is a ConfigError, as is an order id that is not
``<FBillNo>-<FSeq>``. Quantities are exact (the JSON numbers' decimal text, never a float).
``ref`` is ``<form>/<FBillNo>/<FSeq>`` (``PRD_MORPT/SCHB00000001/1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from adapters.kingdee.query import KingdeeQuery
from bridge.adapter.query import TargetRecord
from bridge.errors import ConfigError
from bridge.mapping.scalars import TransformError
from bridge.mapping.times import parse_iso
from bridge.reconcile.records import Amount, Record, amount
from bridge.reconcile.views import ViewReader, ViewRequest

__all__ = [
    "KINGDEE_VIEWS",
    "consumption_records",
    "genealogy_records",
    "order_records",
    "quantity_records",
]

#: The mark prefix the sink writes into the key field (``report_key``).
_MARK = "MES:"


def _records(query: KingdeeQuery, kind: str, request: ViewRequest, view: str) -> list[TargetRecord]:
    """The query's records of ``kind`` for the request, after checking the request."""
    if not isinstance(request, ViewRequest):
        raise ConfigError(f"K/3 Cloud view {view}: the request must be a ViewRequest, got {type(request).__name__}")
    if isinstance(request.keys, str):
        raise ConfigError(f"K/3 Cloud view {view}: keys must be a collection of order ids, not the text "
                          f"{request.keys!r}")
    if not request.keys and request.since is None and request.until is None:
        raise ConfigError(f"K/3 Cloud view {view}: the request names no order ids (keys) and no window "
                          "(since/until): give one or both")
    if request.since is not None and request.until is not None and request.since > request.until:
        raise ConfigError(f"K/3 Cloud view {view}: the window's since {request.since} is after its until "
                          f"{request.until}")
    return query.records(kind, keys=request.keys, since=request.since, until=request.until)


def _ref(row: TargetRecord) -> str:
    return f"{row.facts.get('form', '')}/{row.number}"


def _amount(row: TargetRecord, fact: str, field: str, ref: str) -> Amount:
    return amount(row.facts.get(fact), row.facts.get("unit"), name=f"{ref} {field}")


def _material(row: TargetRecord) -> str | None:
    return str(row.facts.get("material") or "") or None


def _mark(row: TargetRecord) -> str:
    """The report's mark, "" for a row the bridge did not post (another text in the key field)."""
    return row.mark if row.mark.startswith(_MARK) else ""


# -- the readers ---------------------------------------------------------------------------------


def order_records(query: KingdeeQuery, request: ViewRequest) -> list[Record]:
    """``orders``: one record per PRD_MO entry row, ``quantity`` FQty in FUnitId.

    Raises:
        ConfigError: a request with neither keys nor a window, a bad order id, a row without
            its unit or quantity.
    """
    return [_order(row) for row in _records(query, "order", request, "orders")]


def _order(row: TargetRecord) -> Record:
    bill, _, seq = row.number.rpartition("-")
    ref = f"PRD_MO/{bill}/{seq}"
    return Record((row.key,), {"quantity": _amount(row, "quantity", "FQty", ref)}, _material(row),
                  _version(row.facts.get("modified")), ref=ref)


def _version(modified: object) -> str | None:
    """The bill's FModifyDate as the version the bridge gave the order it delivered (the
    codec's 20 digits ``YYYYMMDDHHMMSSffffff``), for ``stale``."""
    text = str(modified or "").strip()
    if not text:
        return None
    try:
        return parse_iso(text).strftime("%Y%m%d%H%M%S%f")
    except TransformError:
        return None


def quantity_records(query: KingdeeQuery, request: ViewRequest) -> list[Record]:
    """``quantities``: one record per PRD_MORPT row, keyed ``(order_id, "")``: ``yield`` FQuaQty,
    ``scrap`` FScrapQty (0 when the report had none).

    Raises:
        ConfigError: as :func:`order_records`.
    """
    return [_quantities(row) for row in _records(query, "report", request, "quantities")]


def _quantities(row: TargetRecord) -> Record:
    ref = _ref(row)
    values = {"yield": _amount(row, "quantity", "FQuaQty", ref), "scrap": _amount(row, "scrap", "FScrapQty", ref)}
    return Record((row.key, ""), values, _material(row), ref=ref)


def consumption_records(query: KingdeeQuery, request: ViewRequest) -> list[Record]:
    """``consumption``: one record per PRD_PickMtrl row, keyed ``(order_id, material, lot or "")``:
    ``quantity`` FActualQty.

    Raises:
        ConfigError: as :func:`order_records`.
    """
    return [_consumed(row) for row in _records(query, "issue", request, "consumption")]


def _consumed(row: TargetRecord) -> Record:
    ref = _ref(row)
    material = str(row.facts.get("material") or "")
    key = (row.key, material, str(row.facts.get("lot") or ""))
    return Record(key, {"quantity": _amount(row, "quantity", "FActualQty", ref)}, material or None, ref=ref)


def genealogy_records(query: KingdeeQuery, request: ViewRequest) -> list[Record]:
    """``genealogy``: per report (mark; unmarked rows per order), ``(order, lot, "")`` for each
    PRD_INSTOCK row with a lot and ``(order, lot, parent)`` for it and each PRD_PickMtrl row with a
    lot.

    Raises:
        ConfigError: as :func:`order_records`.
    """
    receipts = _records(query, "receipt", request, "genealogy")
    issues = _records(query, "issue", request, "genealogy")
    groups: dict[tuple[str, str], tuple[list[TargetRecord], list[TargetRecord]]] = {}
    for rows, side in ((receipts, 0), (issues, 1)):
        for row in rows:
            groups.setdefault((row.key, _mark(row)), ([], []))[side].append(row)
    return [record for (order, _), (produced, consumed) in groups.items()
            for record in _edges(order, produced, consumed)]


def _lot(row: TargetRecord) -> str:
    return str(row.facts.get("lot") or "")


def _edges(order: str, produced: Iterable[TargetRecord], consumed: Iterable[TargetRecord]) -> Iterator[Record]:
    parents = [(lot, _ref(row)) for row in consumed if (lot := _lot(row))]
    for row in produced:
        lot = _lot(row)
        if not lot:
            continue
        material, ref = _material(row), _ref(row)
        yield Record((order, lot, ""), {}, material, ref=ref)
        for parent, parent_ref in parents:
            yield Record((order, lot, parent), {}, material, ref=f"{ref} <- {parent_ref}")


#: view name -> reader, as ``Adapter.views`` offers them.
KINGDEE_VIEWS: dict[str, ViewReader] = {
    "orders": order_records,
    "quantities": quantity_records,
    "consumption": consumption_records,
    "genealogy": genealogy_records,
}

