"""Seeding: records made through the same Save as a client's, then taken to a status by the same
Submit / Audit / UnAudit (so that a seeded, audited stock-in writes back to its order).

A PRD_MO model's entry rows may carry ``"Components": [{PRD_PPBOM entry model}, ...]`` (the
simulator's own key, not K/3's): seeding the order then makes one PRD_PPBOM per such row, as K/3
Cloud makes an order's material list, with the order's number, entry seq and ids, and brings it to
the order's status. The seed file of ``bridge simulate kingdee --seed`` is
``{"BD_MATERIAL": [model, ...], "PRD_MO": [...], "BD_BatchMainFile": [...]}``, seeded in the
file's order, each record audited unless its model says otherwise in ``FDocumentStatus``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.operations import transition
from adapters.kingdee.simulator.saving import SaveOptions, save
from adapters.kingdee.simulator.values import ci_get, ci_pop, ref_number, to_int

__all__ = ["STEPS", "load_seed_file", "row_model", "seed_bill"]

#: The operations that take a newly saved record (status A) to a status.
STEPS = {"Z": (), "A": (), "B": ("Submit",), "C": ("Submit", "Audit"), "D": ("Submit", "Audit", "UnAudit")}


def seed_bill(erp: Erp, form_id: str, model: Mapping[str, Any], status: str = "C") -> tuple[int, str]:
    """Save ``model`` (create, or update when it has an FID) and take it to ``status``.

    Raises:
        ValueError: the form is unknown, the status is not one of Z A B C D, or the server refused.
    """
    form = erp.form(form_id)
    if form is None:
        raise ValueError(f"unknown form {form_id!r} (known: {', '.join(sorted(erp.forms))})")
    if status not in STEPS:
        raise ValueError(f"status {status!r} is not one of {', '.join(STEPS)}")
    model = copy.deepcopy(dict(model))
    components = [ci_pop(r, "Components") for r in ci_get(model, "FTreeEntity") or [] if isinstance(r, dict)] \
        if form_id == "PRD_MO" else []
    with erp.lock, erp.transaction():
        record, problems = save(erp, form, model, SaveOptions(draft=status == "Z"))
        if record is None:
            raise ValueError(f"seeding {form_id}: " + "; ".join(p.message for p in problems))
        erp.put(record, "Seed")
        for step in STEPS[status]:
            current = erp.by_fid(form_id, record.fid)
            problem = transition(erp, form, current, step) if current else None
            if problem is not None:
                raise ValueError(f"seeding {form_id} {record.number}: {problem.message}")
        rows = [r for r in ci_get(record.model, "FTreeEntity") or [] if isinstance(r, dict)]
        for row, parts in zip(rows, components, strict=False):
            if parts:
                seed_bill(erp, "PRD_PPBOM", _material_list(record.model, record.fid, record.number, row, parts), status)
    return record.fid, record.number


def _material_list(order: Mapping[str, Any], fid: int, number: str, row: Mapping[str, Any],
                   parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    seq, entry_id = to_int(ci_get(row, "FSeq")), to_int(ci_get(row, "FEntryID"))
    link = {"FMoBillNo": number, "FMoId": fid, "FMoEntryId": entry_id, "FMoEntrySeq": seq}
    header = {"FMOBillNO": number, "FMOEntrySeq": seq, "FMOEntryID": entry_id, "FMoId": fid,
              "FMaterialID": ci_get(row, "FMaterialId"), "FQty": ci_get(row, "FQty"), "FUnitID": ci_get(row, "FUnitId"),
              "FPrdOrgId": ci_get(order, "FPrdOrgId"), "FMOType": ci_get(order, "FBillType"), "FDate": ci_get(order, "FDate")}
    entries = [{**link, **copy.deepcopy(dict(p))} for p in parts]
    for entry in entries:
        if ci_get(entry, "FNeedQty") is None and ci_get(entry, "FMustQty") is not None:
            entry["FNeedQty"] = ci_get(entry, "FMustQty")
    return {**{k: v for k, v in header.items() if v is not None}, "FEntity": entries}


def row_model(form_id: str, erp: Erp, row: Mapping[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A flat row keyed as FieldKeys name them (``FBillNo``, ``FQty``, ``FMaterialId.FNumber``) as
    a Save model with one entry row, its status, and the server-set times it gives."""
    form = erp.forms[form_id]
    header, entry, times = {}, {}, {}
    status = "C"
    entity = next(iter(form.entities), "")
    entry_fields = form.entry_fields.get(entity, frozenset())
    for key, value in row.items():
        head, dot, sub = key.partition(".")
        low = head.lower()
        if low == "fdocumentstatus":
            status = str(value)
            continue
        if low in ("fmodifydate", "fcreatedate", "fapprovedate"):
            times[head] = value
            continue
        target = entry if low in entry_fields and low not in form.header else header
        target[head] = {sub: value} if dot else value
    if entry and entity:
        header[entity] = [entry]
    return header, status, times


def _present(erp: Erp, form_id: str, model: Mapping[str, Any]) -> bool:
    form = erp.form(form_id)
    number = str(ci_get(model, form.number_key) or "") if form else ""
    material = ref_number(ci_get(model, "FMaterialId")) if form and form.unique_with else ""
    return bool(number) and erp.by_number(form_id, number, material) is not None


def load_seed_file(target: Any, path: str | Path) -> int:
    """Seed the records of a seed file into a data center (an :class:`Erp`, or a simulator: its
    ``erp``); how many were seeded (a record whose number the store already has is left as it
    is: a kept store started again with the same seed).

    Raises:
        ValueError: the file is not such an object, or a record is refused.
    """
    erp: Erp = getattr(target, "erp", target)
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"seed file {path}: {exc}") from None
    if not isinstance(content, Mapping):
        raise ValueError(f"seed file {path}: expected an object of forms, each a list of models")
    with erp.lock:
        return _seed_all(erp, path, content)


def _seed_all(erp: Erp, path: Path, content: Mapping[str, Any]) -> int:
    count = 0
    for form_id, models in content.items():
        if not isinstance(models, list):
            raise ValueError(f"seed file {path}: {form_id} is not a list of models")
        for model in models:
            if not isinstance(model, Mapping):
                raise ValueError(f"seed file {path}: a {form_id} model is not an object")
            fields = dict(model)
            status = str(ci_pop(fields, "FDocumentStatus") or "C")
            if _present(erp, form_id, fields):
                continue
            seed_bill(erp, form_id, fields, status)
            count += 1
    return count

