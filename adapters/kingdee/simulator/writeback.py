"""What auditing a linked bill does to its source, as K/3 Cloud writes back (反写): a production
stock-in adds its ``FRealQty`` to the order entry's ``FStockInQuaQty`` (and lowers
``FNoStockInQty``), a production report adds ``FQuaQty`` to ``FRepQuaQty`` and ``FFinishQty`` to
``FRptFinishQty``, a pick adds ``FActualQty`` to the PRD_PPBOM entry's ``FPickedQty`` (and lowers
``FNoPickedQty``). UnAudit takes back exactly what the audit added.

A bill's entry finds its source entry by its link rows (``FEntity_Link`` naming the source table,
bill and entry), else by ``FMoId``/``FMoEntryId`` (``FPPBomEntryId`` for a pick), else by the
order's number and entry seq (a pick: the order's number and the component's material).
Write-backs do not change the source's FModifyDate (the bill itself was not saved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import ci_get, ci_set, qty_sum, ref_number, to_float, to_int

__all__ = ["ENTRY_DEFAULTS", "apply", "derive", "revert"]

#: Quantities the server keeps on a new bill's entries.
ENTRY_DEFAULTS: dict[str, dict[str, float]] = {
    "PRD_MO": {"FStockInQuaQty": 0.0, "FRepQuaQty": 0.0, "FRptFinishQty": 0.0},
    "PRD_PPBOM": {"FPickedQty": 0.0},
}
#: (source form, source entity, linking table) and (own field, source field) per bill form.
_RULES: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...]]] = {
    "PRD_INSTOCK": ("PRD_MO", "FTreeEntity", "T_PRD_MOENTRY", (("FRealQty", "FStockInQuaQty"),)),
    "PRD_MORPT": ("PRD_MO", "FTreeEntity", "T_PRD_MOENTRY", (("FQuaQty", "FRepQuaQty"), ("FFinishQty", "FRptFinishQty"))),
    "PRD_PickMtrl": ("PRD_PPBOM", "FEntity", "T_PRD_PPBOMENTRY", (("FActualQty", "FPickedQty"),)),
}


def _rows(model: Mapping[str, Any], entity: str) -> list[dict[str, Any]]:
    rows = ci_get(model, entity)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def derive(form_id: str, model: dict[str, Any]) -> None:
    """The quantities the server computes from others (what is still to stock in or to pick)."""
    if form_id == "PRD_MO":
        for row in _rows(model, "FTreeEntity"):
            ci_set(row, "FNoStockInQty", qty_sum(ci_get(row, "FQty"), -to_float(ci_get(row, "FStockInQuaQty"))))
    elif form_id == "PRD_PPBOM":
        for row in _rows(model, "FEntity"):
            ci_set(row, "FNoPickedQty", qty_sum(ci_get(row, "FMustQty"), -to_float(ci_get(row, "FPickedQty"))))


def _linked(row: Mapping[str, Any], table: str) -> tuple[int, int] | None:
    for key, links in row.items():
        if not key.lower().endswith("_link") or not isinstance(links, list):
            continue
        for link in links:
            if not isinstance(link, Mapping):
                continue
            values = {k.lower().rsplit("_", 1)[-1]: v for k, v in link.items()}
            if str(values.get("fstablename", "")).upper() == table and to_int(values.get("fsid")):
                return to_int(values.get("fsbillid")), to_int(values.get("fsid"))
    return None


def _entry(erp: Erp, form_id: str, entity: str, fid: int | None, entry_id: int) -> tuple[Record, dict[str, Any]] | None:
    records = [erp.by_fid(form_id, fid)] if fid else erp.records(form_id)
    for record in records:
        for row in _rows(record.model, entity) if record else []:
            if to_int(ci_get(row, "FEntryID")) == entry_id:
                return record, row
    return None


def _by_order(erp: Erp, row: Mapping[str, Any], pick: bool) -> tuple[Record, dict[str, Any]] | None:
    number, seq = str(ci_get(row, "FMoBillNo") or "").strip(), to_int(ci_get(row, "FMoEntrySeq"))
    material = ref_number(ci_get(row, "FMaterialId"))
    if not number:
        return None
    if pick:
        for record in erp.records("PRD_PPBOM"):
            if str(ci_get(record.model, "FMOBillNO") or "") != number:
                continue
            if seq and to_int(ci_get(record.model, "FMOEntrySeq")) != seq:
                continue
            for entry in _rows(record.model, "FEntity"):
                if ref_number(ci_get(entry, "FMaterialID2")) == material:
                    return record, entry
        return None
    order = erp.by_number("PRD_MO", number)
    entries = _rows(order.model, "FTreeEntity") if order else []
    chosen = [e for e in entries if to_int(ci_get(e, "FSeq")) == seq] if seq else \
        [e for e in entries if ref_number(ci_get(e, "FMaterialId")) == material] or entries[:1]
    return (order, chosen[0]) if order and chosen else None


def _source(erp: Erp, form_id: str, row: Mapping[str, Any]) -> tuple[Record, dict[str, Any]] | None:
    source_form, entity, table, _ = _RULES[form_id]
    link = _linked(row, table)
    if link is not None:
        return _entry(erp, source_form, entity, link[0], link[1])
    if form_id == "PRD_PickMtrl" and to_int(ci_get(row, "FPPBomEntryId")):
        return _entry(erp, source_form, entity, None, to_int(ci_get(row, "FPPBomEntryId")))
    if form_id != "PRD_PickMtrl" and to_int(ci_get(row, "FMoEntryId")):
        return _entry(erp, source_form, entity, to_int(ci_get(row, "FMoId")) or None, to_int(ci_get(row, "FMoEntryId")))
    return _by_order(erp, row, form_id == "PRD_PickMtrl")


def _add(erp: Erp, change: Mapping[str, Any], sign: float) -> None:
    record = erp.by_fid(change["form"], change["fid"])
    if record is None:
        return  # the source is gone: nothing to write back to
    record = record.copy()
    for row in _rows(record.model, change["entity"]):
        if to_int(ci_get(row, "FEntryID")) == change["entry"]:
            ci_set(row, change["field"], qty_sum(ci_get(row, change["field"]), sign * change["qty"]))
    derive(record.form_id, record.model)
    erp.put(record, "WriteBack")


def apply(erp: Erp, record: Record) -> None:
    """The audit of ``record``: add its quantities to its sources, and remember what was added."""
    if record.form_id not in _RULES:
        return
    _, entity, _, pairs = _RULES[record.form_id]
    changes: list[dict[str, Any]] = []
    for row in _rows(record.model, "FEntity"):
        found = _source(erp, record.form_id, row)
        if found is None:
            continue
        source, source_row = found
        for own, target in pairs:
            qty = to_float(ci_get(row, own))
            if qty:
                changes.append({"form": source.form_id, "fid": source.fid, "entity": entity,
                                "entry": to_int(ci_get(source_row, "FEntryID")), "field": target, "qty": qty})
    for change in changes:
        _add(erp, change, 1.0)
    record.applied = changes


def revert(erp: Erp, record: Record) -> None:
    """The UnAudit of ``record``: take back what its audit added."""
    for change in record.applied:
        _add(erp, change, -1.0)
    record.applied = []
