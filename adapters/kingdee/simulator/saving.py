"""Save (and Draft): a Model without ``FID`` (or ``FID`` 0) creates a bill, one with ``FID``
updates it. An update merges the header fields given (only those in ``NeedUpDateFields`` when it
names any) and each entity given: rows with an ``FEntryID`` update that row, rows without one are
added, and rows the Model leaves out are deleted when ``IsDeleteEntry`` is "true" (the default),
kept when "false"; an entity the Model does not name is left as it is.

The server sets ``FID``, the number when none is given (``MO000001``, ``SCHB00000001``; base data
must bring its ``FNumber``), ``FDocumentStatus`` (A, Z for a draft), ``FCreateDate`` and
``FModifyDate`` (every write), entry ``FEntryID``/``FSeq`` and the quantities it derives. As the
real server it refuses to save a submitted or audited bill, a number already used, and a material
that does not exist (once any material is kept) or is forbidden; a lot only when it is forbidden.
Fields the form does not know are kept (a tenant's custom fields), not refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.kingdee.simulator import writeback
from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.forms import VALIDATED_REFS, Form
from adapters.kingdee.simulator.replies import Failure
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import (
    ci_get,
    ci_key,
    ci_pop,
    ci_set,
    is_ref,
    normalize,
    ref_number,
    to_int,
)

__all__ = ["SaveOptions", "merge", "options_of", "returned_data", "save"]

_SERVER_SET = frozenset({"fdocumentstatus", "fcreatedate", "fmodifydate", "fapprovedate", "fforbidstatus"})
_LABELS = {"fmaterialid": "物料编码", "fmaterialid2": "子项物料编码", "flot": "批号"}


@dataclass(frozen=True)
class SaveOptions:
    update_fields: frozenset[str] = frozenset()  # NeedUpDateFields, lowercase
    delete_entry: bool = True
    return_fields: tuple[str, ...] = ()
    auto_audit: bool = False
    draft: bool = False


def _flag(value: Any, default: bool) -> bool:
    return default if value in (None, "") else str(value).strip().lower() == "true"


def options_of(data: Mapping[str, Any], draft: bool = False) -> SaveOptions:
    fields = ci_get(data, "NeedUpDateFields") or []
    returned = ci_get(data, "NeedReturnFields") or []
    return SaveOptions(
        frozenset(str(f).strip().lower() for f in fields if str(f).strip()) if isinstance(fields, list) else frozenset(),
        _flag(ci_get(data, "IsDeleteEntry"), True),
        tuple(str(f).strip() for f in returned if str(f).strip()) if isinstance(returned, list) else (),
        _flag(ci_get(data, "IsAutoSubmitAndAudit"), False), draft)


def _pk(form: Form, model: Mapping[str, Any]) -> int:
    return to_int(ci_get(model, form.pk) if ci_key(model, form.pk) else ci_get(model, "FID"))


def _merge_rows(old: list[Any], new: list[Any], wanted: frozenset[str], delete: bool) -> list[dict[str, Any]]:
    by_id = {to_int(ci_get(r, "FEntryID")): r for r in old if isinstance(r, dict)}
    kept: dict[int, dict[str, Any]] = {} if delete else dict(by_id)
    added: list[dict[str, Any]] = []
    for row in (r for r in new if isinstance(r, Mapping)):
        entry_id = to_int(ci_get(row, "FEntryID"))
        if entry_id in by_id:
            merged = dict(by_id[entry_id])
            for key, value in row.items():
                if not wanted or key.lower() in wanted or key.lower() == "fentryid":
                    ci_set(merged, key, copy.deepcopy(value))
            kept[entry_id] = merged
        else:
            added.append({k: copy.deepcopy(v) for k, v in row.items() if k.lower() != "fentryid"})
    order = [to_int(ci_get(r, "FEntryID")) for r in old if isinstance(r, dict)]
    return [kept[i] for i in order if i in kept] + added


def merge(form: Form, current: dict[str, Any], changes: Mapping[str, Any], options: SaveOptions) -> None:
    """Merge a Model into a kept bill (in place)."""
    wanted = options.update_fields
    for key, value in changes.items():
        low = key.lower()
        if low in _SERVER_SET or low in (form.pk.lower(), "fid"):
            continue
        entity, subhead = form.entity_of(key), form.subhead_of(key)
        if entity is not None and isinstance(value, list):
            if wanted and low not in wanted and not any(isinstance(r, Mapping) and any(k.lower() in wanted for k in r)
                                                        for r in value):
                continue
            ci_set(current, entity, _merge_rows(ci_get(current, entity) or [], value, wanted, options.delete_entry))
        elif subhead is not None and isinstance(value, Mapping):
            merged = dict(ci_get(current, subhead) or {})
            for sub_key, sub_value in value.items():
                if not wanted or sub_key.lower() in wanted or low in wanted:
                    ci_set(merged, sub_key, copy.deepcopy(sub_value))
            ci_set(current, subhead, merged)
        elif not wanted or low in wanted:
            ci_set(current, key, copy.deepcopy(value))


def _number_used(erp: Erp, form: Form, model: Mapping[str, Any], number: str, fid: int) -> Failure | None:
    material = ref_number(ci_get(model, form.unique_with)) if form.unique_with else ""
    for other in erp.store.by_number(form.form_id, number):
        if other.fid != fid and (not form.unique_with or ref_number(ci_get(other.model, form.unique_with)) == material):
            return Failure(f"违反字段唯一性要求：编码唯一。[{number}]在当前系统中已经被使用。", 11, form.number_key)
    return None


def _check_refs(erp: Erp, form: Form, model: Mapping[str, Any]) -> list[Failure]:
    problems: list[Failure] = []
    places: list[tuple[str, Mapping[str, Any]]] = [("", model)]
    for entity in form.entities:
        places += [(f"第{i}行，", r) for i, r in enumerate(ci_get(model, entity) or [], 1) if isinstance(r, Mapping)]
    check_materials = erp.materials_kept()
    for where, row in places:
        for key, value in row.items():
            low, number = key.lower(), ref_number(value)
            if not number or not is_ref(value):
                continue
            label = _LABELS.get(low, key)
            if low in VALIDATED_REFS and check_materials:
                material = erp.by_number("BD_MATERIAL", number)
                if material is None:
                    problems.append(Failure(f"{where}字段“{label}”的值“{number}”在系统中不存在。", 11, key))
                elif ci_get(material.model, "FForbidStatus") == "B":
                    problems.append(Failure(f"{where}{label}“{number}”已禁用，不能使用。", 11, key))
            elif low == "flot" and form.form_id != "BD_BatchMainFile":
                lot = erp.by_number("BD_BatchMainFile", number, ref_number(ci_get(row, "FMaterialId")))
                if lot is not None and ci_get(lot.model, "FForbidStatus") == "B":
                    problems.append(Failure(f"{where}{label}“{number}”已禁用，不能使用。", 11, key))
    return problems


def _number_rows(erp: Erp, form: Form, model: dict[str, Any], created: bool) -> None:
    defaults = writeback.ENTRY_DEFAULTS.get(form.form_id, {})
    for entity in form.entities:
        rows = ci_get(model, entity)
        if not isinstance(rows, list):
            continue
        for seq, row in enumerate((r for r in rows if isinstance(r, dict)), 1):
            if not to_int(ci_get(row, "FEntryID")):
                ci_pop(row, "FEntryID")
                row["FEntryID"] = erp.new_entry_id(form.form_id)
                for key, value in defaults.items():
                    if ci_key(row, key) is None:
                        row[key] = value
                if form.form_id == "PRD_MO" and ci_key(row, "FBaseUnitQty") is None and ci_key(row, "FQty"):
                    row["FBaseUnitQty"] = ci_get(row, "FQty")
            ci_set(row, "FSeq", seq)
    if created and not form.base and ci_key(model, "FDate") is None:
        model["FDate"] = erp.clock.today()
    if created and form.bill_type and not ci_get(model, "FBillType"):
        model["FBillType"] = {"FNumber": form.bill_type}


def _ordered(form: Form, model: dict[str, Any]) -> dict[str, Any]:
    """Ids, number and status first, entities last, entry rows led by FEntryID and FSeq (as
    the server lists them; only for reading)."""
    first = [k for k in (form.pk, form.number_key, "FDocumentStatus", "FForbidStatus") if k in model]
    last = [k for k in model if form.entity_of(k) or form.subhead_of(k)]
    result = {k: model[k] for k in first}
    result.update({k: v for k, v in model.items() if k not in result and k not in last})
    for key in last:
        rows = model[key]
        result[key] = [{"FEntryID": ci_pop(r, "FEntryID"), "FSeq": ci_pop(r, "FSeq"), **r} if isinstance(r, dict) else r
                       for r in rows] if isinstance(rows, list) and form.entity_of(key) else rows
    return result


def save(erp: Erp, form: Form, model: Any, options: SaveOptions, index: int = 0) -> tuple[Record | None, list[Failure]]:
    """Save one Model (not yet written on failure); the caller puts the record it returns."""
    if not isinstance(model, Mapping) or not model:
        return None, [Failure("data数据包中的参数Model的值不能为空。", 8, None, index)]
    fid = _pk(form, model)
    if fid:
        current = erp.by_fid(form.form_id, fid)
        if current is None:
            return None, [Failure(f"未找到内码为“{fid}”的{form.title}，不能修改。", 10, form.pk, index)]
        record = current.copy()
        state = ci_get(record.model, "FDocumentStatus")
        if state in ("B", "C"):
            done = "已经审核" if state == "C" else "已经提交"
            return None, [Failure(f"{form.number_label}为“{record.number}”的{form.title}，单据{done}，不允许修改！",
                                  11, "", index)]
        merge(form, record.model, normalize(model), options)
        if state == "Z" and not options.draft:
            record.model["FDocumentStatus"] = "A"
    else:
        record = Record(form.form_id, 0, "", {})
        merge(form, record.model, normalize(model), SaveOptions())
        record.model = {form.pk: 0, **record.model, "FDocumentStatus": "Z" if options.draft else "A"}
        if form.base:
            record.model["FForbidStatus"] = "A"
    number = str(ci_get(record.model, form.number_key) or "").strip()
    if not number and form.base:
        return None, [Failure(f"字段“{form.number_label}”是必填项。", 11, form.number_key, index)]
    problems = [] if options.draft else _check_refs(erp, form, record.model)
    used = _number_used(erp, form, record.model, number, record.fid) if number else None
    if used is not None or problems:
        return None, [Failure(p.message, p.code, p.field, index) for p in ([used] if used else []) + problems]
    stamp = erp.clock.stamp()
    if not fid:
        record.fid = erp.new_fid()
        record.model[form.pk] = record.fid
        record.model["FCreateDate"] = stamp
    number = number or record.number or erp.new_number(form)
    _number_rows(erp, form, record.model, created=not fid)
    ci_set(record.model, form.number_key, number)
    record.number = number
    writeback.derive(form.form_id, record.model)
    record.model["FModifyDate"] = stamp
    record.model = _ordered(form, record.model)
    return record, []


def _entity_field(form: Form, name: str) -> tuple[str, str] | None:
    for separator in (".", "_"):
        head, _, rest = name.partition(separator)
        entity = form.entity_of(head) if rest else None
        if entity is not None:
            return entity, rest
    return None


def returned_data(form: Form, model: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``NeedReturnData`` of one bill: the fields asked (``FBillNo``, ``FEntity.FEntryID`` or
    ``FEntity_FEntryID``), shaped as the Model."""
    result: dict[str, Any] = {}
    for name in fields:
        found = _entity_field(form, name)
        if found is None:
            result[name] = ci_get(model, name)
            continue
        entity, sub = found
        rows = [r for r in ci_get(model, entity) or [] if isinstance(r, Mapping)]
        target = result.setdefault(entity, [{} for _ in rows])
        for out, row in zip(target, rows, strict=False):
            out[sub] = ci_get(row, sub)
    return result
