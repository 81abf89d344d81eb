"""Push (下推): a bill made from an audited source by a conversion rule, as K/3 Cloud makes it.

Rules: ``PRD_MO2INSTOCK`` (PRD_MO -> PRD_INSTOCK), ``PRD_MO2MORPT`` (PRD_MO -> PRD_MORPT) and
``PRD_PPBOM2PICKMTRL_NORMAL`` (PRD_PPBOM -> PRD_PickMtrl); ``IsEnableDefaultRule`` "true" with a
``TargetFormId`` picks the rule by the two forms. The source bills come from ``Ids`` (else
``Numbers``), their entries from ``EntryIds`` when given (else all); one target bill (status A) per
source bill, one entry per source entry with something left: the remaining quantity (ordered less
stocked in, reported or picked), the source's material, unit, lot and stock, ``FMoBillNo`` /
``FMoId`` / ``FMoEntryId`` / ``FMoEntrySeq`` and a link row naming the rule and source entry. A
source not audited, or nothing left to push, refuses the whole call (nothing saved).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.forms import Form
from adapters.kingdee.simulator.operations import targets
from adapters.kingdee.simulator.replies import Failure, Outcome, failure, status
from adapters.kingdee.simulator.saving import SaveOptions, save
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import ci_get, qty_sum, ref_number, to_float, to_int

__all__ = ["RULES", "push"]

Row = dict[str, Any]


def _ref(value: Any) -> dict[str, str] | None:
    number = ref_number(value)
    return {"FNumber": number} if number else None


def _some(row: Row) -> Row:
    return {k: v for k, v in row.items() if v is not None}


def _mo_common(mo: Record, entry: Row, rule: str, qty: float) -> Row:
    org = _ref(ci_get(mo.model, "FPrdOrgId"))
    seq, entry_id = to_int(ci_get(entry, "FSeq")), to_int(ci_get(entry, "FEntryID"))
    return _some({
        "FMaterialId": _ref(ci_get(entry, "FMaterialId")), "FUnitID": _ref(ci_get(entry, "FUnitId")),
        "FBaseUnitId": _ref(ci_get(entry, "FBaseUnitId") or ci_get(entry, "FUnitId")),
        "FLot": _ref(ci_get(entry, "FLot")), "FStockId": _ref(ci_get(entry, "FStockId")),
        "FMtoNo": ci_get(entry, "FMTONo"), "FProductType": "1", "FOwnerTypeId": "BD_OwnerOrg", "FOwnerId": org,
        "FMoBillNo": mo.number, "FMoId": mo.fid, "FMoEntryId": entry_id, "FMoEntrySeq": seq,
        "FSrcBillType": "PRD_MO", "FSrcBillNo": mo.number, "FSrcInterId": mo.fid, "FSrcEntryId": entry_id,
        "FSrcEntrySeq": seq,
        "FEntity_Link": [{"FEntity_Link_FRuleId": rule, "FEntity_Link_FSTableName": "T_PRD_MOENTRY",
                          "FEntity_Link_FSBillId": mo.fid, "FEntity_Link_FSId": entry_id,
                          "FEntity_Link_FBaseUnitQtyOld": qty, "FEntity_Link_FBaseUnitQty": qty}],
    })


def _instock(mo: Record, entry: Row, rule: str) -> Row | None:
    left = qty_sum(ci_get(entry, "FQty"), -to_float(ci_get(entry, "FStockInQuaQty")))
    if left <= 0:
        return None
    org = _ref(ci_get(mo.model, "FPrdOrgId"))
    return {**_mo_common(mo, entry, rule, left), "FInStockType": "1", "FMustQty": left, "FRealQty": left,
            "FMoMainEntryId": to_int(ci_get(entry, "FEntryID")), "FStockStatusId": {"FNumber": "KCZT01_SYS"},
            "FKeeperTypeId": "BD_KeeperOrg", **_some({"FKeeperId": org})}


def _report(mo: Record, entry: Row, rule: str) -> Row | None:
    left = qty_sum(ci_get(entry, "FQty"), -to_float(ci_get(entry, "FRptFinishQty")))
    if left <= 0:
        return None
    return {**_mo_common(mo, entry, rule, left), "FFinishQty": left, "FQuaQty": left,
            "FReportType": {"FNumber": "HBLX01_SYS"}, "FMOMAINENTRYID": to_int(ci_get(entry, "FEntryID")),
            **_some({"FWorkshipId": _ref(ci_get(entry, "FWorkShopID")),
                     "FStockInOrgId": _ref(ci_get(entry, "FStockInOrgId") or ci_get(mo.model, "FPrdOrgId"))})}


def _pick(bom: Record, entry: Row, rule: str) -> Row | None:
    left = qty_sum(ci_get(entry, "FMustQty"), -to_float(ci_get(entry, "FPickedQty")))
    if left <= 0:
        return None
    org = _ref(ci_get(bom.model, "FPrdOrgId"))
    seq, entry_id = to_int(ci_get(entry, "FSeq")), to_int(ci_get(entry, "FEntryID"))
    return _some({
        "FMaterialId": _ref(ci_get(entry, "FMaterialID2")), "FUnitID": _ref(ci_get(entry, "FUnitID2")),
        "FBaseUnitId": _ref(ci_get(entry, "FBaseUnitID") or ci_get(entry, "FUnitID2")),
        "FAppQty": left, "FActualQty": left, "FStockId": _ref(ci_get(entry, "FStockID")), "FLot": _ref(ci_get(entry, "FLot")),
        "FMoBillNo": ci_get(bom.model, "FMOBillNO"), "FMoId": to_int(ci_get(bom.model, "FMoId")),
        "FMoEntryId": to_int(ci_get(bom.model, "FMOEntryID")), "FMoEntrySeq": to_int(ci_get(bom.model, "FMOEntrySeq")),
        "FPPBomEntryId": entry_id, "FPPBomBillNo": bom.number, "FParentMaterialId": _ref(ci_get(bom.model, "FMaterialID")),
        "FSrcBillType": "PRD_PPBOM", "FSrcBillNo": bom.number, "FSrcInterId": bom.fid, "FSrcEnteryId": entry_id,
        "FSrcEntrySeq": seq, "FStockStatusId": {"FNumber": "KCZT01_SYS"}, "FOwnerTypeId": "BD_OwnerOrg",
        "FOwnerId": org, "FKeeperTypeId": "BD_KeeperOrg", "FKeeperId": org,
        "FEntity_Link": [{"FEntity_Link_FRuleId": rule, "FEntity_Link_FSTableName": "T_PRD_PPBOMENTRY",
                          "FEntity_Link_FSBillId": bom.fid, "FEntity_Link_FSId": entry_id,
                          "FEntity_Link_FBaseActualQtyOld": left, "FEntity_Link_FBaseActualQty": left}],
    })


@dataclass(frozen=True)
class Rule:
    source: str
    target: str
    entity: str  # the source's entity the target's entries come from
    entry: Callable[[Record, Row, str], Row | None]
    header: tuple[str, ...]  # the target's header fields that take the source's FPrdOrgId


RULES: dict[str, Rule] = {
    "PRD_MO2INSTOCK": Rule("PRD_MO", "PRD_INSTOCK", "FTreeEntity", _instock, ("FPrdOrgId", "FStockOrgId", "FOwnerId0")),
    "PRD_MO2MORPT": Rule("PRD_MO", "PRD_MORPT", "FTreeEntity", _report, ("FPrdOrgId",)),
    "PRD_PPBOM2PICKMTRL_NORMAL": Rule("PRD_PPBOM", "PRD_PickMtrl", "FEntity", _pick, ("FPrdOrgId", "FStockOrgId")),
}


def _rule(form: Form, data: Mapping[str, Any]) -> tuple[str, Rule] | str:
    rule_id = str(ci_get(data, "RuleId") or "").strip()
    if not rule_id and str(ci_get(data, "IsEnableDefaultRule") or "").lower() == "true":
        target = str(ci_get(data, "TargetFormId") or "")
        rule_id = next((r for r, rule in RULES.items() if rule.source == form.form_id and rule.target == target), "")
    rule = RULES.get(rule_id)
    if rule is None:
        return f"转换规则“{rule_id}”不存在，或者未启用。" if rule_id else "请传入转换规则(RuleId)。"
    if rule.source != form.form_id:
        return f"转换规则“{rule_id}”的源单不是{form.title}。"
    return rule_id, rule


def _entry_ids(data: Mapping[str, Any]) -> set[int]:
    value = ci_get(data, "EntryIds")
    items = value if isinstance(value, list) else str(value or "").split(",")
    return {to_int(e) for e in items if to_int(e)}


def _sources(erp: Erp, form: Form, data: Mapping[str, Any], entity: str,
             entry_ids: set[int]) -> list[tuple[Record | None, str]]:
    chosen = targets(erp, form, data)
    if chosen is not None:
        return chosen
    return [(r, r.number) for r in erp.records(form.form_id)
            if any(to_int(ci_get(e, "FEntryID")) in entry_ids for e in ci_get(r.model, entity) or [])]


def push(erp: Erp, form: Form, data: Mapping[str, Any]) -> dict[str, Any]:
    found = _rule(form, data)
    if isinstance(found, str):
        return failure(found, 11)
    rule_id, rule = found
    entry_ids = _entry_ids(data)
    sources = _sources(erp, form, data, rule.entity, entry_ids)
    target = erp.form(rule.target)
    assert target is not None
    problems: list[Failure] = []
    models: list[dict[str, Any]] = []
    for record, named in sources:
        if record is None:
            problems.append(Failure(f"未找到{named}的{form.title}。", 10, ""))
            continue
        label = f"{form.number_label}为“{record.number}”的{form.title}，"
        if ci_get(record.model, "FDocumentStatus") != "C":
            problems.append(Failure(label + "单据未审核，不能下推！", 11, ""))
            continue
        rows = [rule.entry(record, e, rule_id) for e in ci_get(record.model, rule.entity) or []
                if not entry_ids or to_int(ci_get(e, "FEntryID")) in entry_ids]
        entries = [r for r in rows if r is not None]
        if not entries:
            problems.append(Failure(label + "没有可下推的分录（剩余数量为0）。", 11, ""))
            continue
        org = _ref(ci_get(record.model, "FPrdOrgId"))
        models.append({"FDate": erp.clock.today(), **{k: org for k in rule.header if org}, "FEntity": entries})
    if not sources:
        problems.append(Failure(f"没有可下推的{form.title}。", 10, ""))
    done: list[Outcome] = []
    if not problems:
        try:
            with erp.transaction():
                for index, model in enumerate(models):
                    saved, refused = save(erp, target, model, SaveOptions(), index)
                    if saved is None:
                        problems, done = refused, []
                        raise _Undo
                    erp.put(saved, "Push")
                    done.append(Outcome(saved.fid, saved.number, index))
        except _Undo:
            pass
    outcome = status(done, problems)
    return {"Result": {"ResponseStatus": outcome, "ConvertResponseStatus": dict(outcome)}}


class _Undo(Exception):
    """Rolls the Push's saves back when one target cannot be saved."""
