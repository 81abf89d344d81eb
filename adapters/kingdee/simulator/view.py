"""View: a whole bill in the shape the real server gives it (real PRD_MO and BD_MATERIAL replies,
reference kingdee-yonyou §1.4): un-prefixed names (``BillNo``, ``DocumentStatus``, ``Id``, and
``FFormId`` at the top of a bill), entities without the F (``TreeEntity`` for ``FTreeEntity``,
``Entity``, ``PPBomEntry``), each row with ``Id`` and ``Seq``, references as objects
(``{"Id", "msterID", "Number", "Name": [{"Key": 2052, "Value": ...}], "MultiLanguageText"}``)
beside their ``<X>_Id``, a kept material with its sub-heads (``MaterialBase[0].BaseUnitId``,
``MaterialStock[0].IsBatchManage``, ``StoreURNum``...), a lot as ``Lot`` + ``Lot_Id`` +
``Lot_Text``, localized texts (names, descriptions) as ``[{"Key": 2052, "Value": ...}]``,
quantities as floats and times as zone-less text. Custom fields (``F_ABC_X``) keep their name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.forms import Form
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import ci_get, is_qty_field, is_ref, ref_number, to_float

__all__ = ["render", "view_key"]

LCID = 2052
_LOCALIZED = frozenset({"fname", "fspecification", "fdescription", "fmemo"})
_USERS = ("CreatorId", "ModifierId", "ApproverId")
_TOP = {"fid", "fbillno", "fnumber", "fdocumentstatus", "fforbidstatus", "fname", "fspecification", "fcreatedate",
        "fmodifydate", "fapprovedate"}
_USER_ID = 100001


def view_key(key: str) -> str:
    """``FBillNo`` -> ``BillNo``; custom ``F_ABC_X`` and other names stay as they are."""
    if key.lower() in ("fid", "fentryid"):
        return "Id"
    if len(key) > 1 and key[0] == "F" and (key[1].isupper() or key[1].isdigit()):
        return key[1:]
    return key


def _localized(value: Any) -> list[dict[str, Any]]:
    text = "" if value is None else str(value)
    return [{"Key": LCID, "Value": text}] if text else []


def _ref_object(erp: Erp, key: str, number: str, material: str) -> dict[str, Any] | None:
    if not number:
        return None
    record = erp.referenced(key, number, material)
    if record is None:
        ref_id = erp.ref_id(key, number, material)
        if not ref_id:
            return None  # a lot the lot master does not have: only Lot_Text
        return {"Id": ref_id, "msterID": ref_id, "MultiLanguageText": [{"PkId": ref_id, "LocaleId": LCID, "Name": number}],
                "Name": _localized(number), "Number": number}
    model = record.model
    name, spec = ci_get(model, "FName") or number, ci_get(model, "FSpecification") or ""
    result: dict[str, Any] = {"Id": record.fid, "msterID": record.fid,
                              "MultiLanguageText": [{"PkId": record.fid, "LocaleId": LCID, "Name": name,
                                                     **({"Specification": spec} if spec else {})}],
                              "Name": _localized(name), "Number": number}
    form = erp.forms[record.form_id]
    if form.subheads:
        result["Specification"] = _localized(spec)
        result["ForbidStatus"] = ci_get(model, "FForbidStatus") or "A"
        for subhead, view_name in form.subheads.items():
            value = ci_get(model, subhead)
            if isinstance(value, Mapping):
                result[view_name] = [{"Id": record.fid, **_fields(erp, value, ())}]
    return result


def _fields(erp: Erp, row: Mapping[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    material = ref_number(ci_get(row, "FMaterialId"))
    for key, value in row.items():
        low = key.lower()
        if low in skip:
            continue
        name = view_key(key)
        if is_ref(value):
            number = ref_number(value)
            obj = _ref_object(erp, key, number, material)
            result[f"{name}_Id"] = obj["Id"] if obj else 0
            result[name] = obj
            if low == "flot":
                result[f"{name}_Text"] = number or " "
        elif low in _LOCALIZED:
            result[name] = _localized(value)
        elif low.endswith("_link") and isinstance(value, list):
            result[key.split("_")[0].upper() + "_Link"] = [_link(v) for v in value if isinstance(v, Mapping)]
        elif isinstance(value, list):
            result[name] = [_fields(erp, v, ()) if isinstance(v, Mapping) else v for v in value]
        elif isinstance(value, Mapping):
            result[name] = _fields(erp, value, ())
        elif is_qty_field(key) and isinstance(value, int | float) and not isinstance(value, bool):
            result[name] = to_float(value)
        else:
            result[name] = value
    return result


def _link(row: Mapping[str, Any]) -> dict[str, Any]:
    """A link row: ``FEntity_Link_FSBillId`` -> ``SBillId``."""
    return {view_key(k.rsplit("_", 1)[-1]) if "_Link_" in k else view_key(k): v for k, v in row.items()}


def _user(erp: Erp) -> dict[str, Any]:
    return {"Id": _USER_ID, "Name": erp.user, "UserAccount": erp.user}


def _row(erp: Erp, form: Form, entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
    result = {"Id": ci_get(row, "FEntryID"), "Seq": ci_get(row, "FSeq"), **_fields(erp, row, ("fentryid", "fseq"))}
    if "flot" in form.entry_fields.get(entity, ()) and "Lot_Text" not in result:
        result.update({"Lot_Id": 0, "Lot": None, "Lot_Text": " "})  # as the server shows a row without a lot
    return result


def _entries(erp: Erp, form: Form, model: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entity, view_name in form.entities.items():
        rows = ci_get(model, entity)
        result[view_name] = [_row(erp, form, entity, r) for r in rows if isinstance(r, Mapping)] \
            if isinstance(rows, list) else []
    return result


def render(erp: Erp, record: Record) -> dict[str, Any]:
    """The View ``Result.Result`` object of ``record``."""
    form = erp.forms[record.form_id]
    model = record.model
    audited = ci_get(model, "FDocumentStatus") == "C"
    top: dict[str, Any] = {"Id": record.fid}
    if form.base:
        name = ci_get(model, "FName") or ""
        top.update({"msterID": record.fid, "DocumentStatus": ci_get(model, "FDocumentStatus"),
                    "ForbidStatus": ci_get(model, "FForbidStatus") or "A",
                    "MultiLanguageText": [{"PkId": record.fid, "LocaleId": LCID, "Name": name}],
                    "Name": _localized(name), "Number": record.number,
                    "Specification": _localized(ci_get(model, "FSpecification"))})
    else:
        top.update({"FFormId": form.form_id, "BillNo": record.number, "DocumentStatus": ci_get(model, "FDocumentStatus")})
    user = _user(erp)
    for role in _USERS:
        present = role != "ApproverId" or audited
        top[f"{role}_Id"], top[role] = (user["Id"], user) if present else (0, None)
    top.update({"CreateDate": ci_get(model, "FCreateDate"), "ModifyDate": ci_get(model, "FModifyDate"),
                "ApproveDate": ci_get(model, "FApproveDate")})
    skip = (*_TOP, form.pk.lower(), *(e.lower() for e in form.entities), *(s.lower() for s in form.subheads))
    top.update(_fields(erp, model, skip))
    for subhead, view_name in form.subheads.items():
        value = ci_get(model, subhead)
        top[view_name] = [{"Id": record.fid, **_fields(erp, value, ())}] if isinstance(value, Mapping) else []
    top.update(_entries(erp, form, model))
    return top
