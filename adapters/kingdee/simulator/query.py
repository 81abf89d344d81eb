"""ExecuteBillQuery (and BillQuery, its keyed-rows twin) over the kept bills.

FieldKeys may name any header field, ``FID`` (on base data also its own key, ``FMATERIALID`` /
``FLOTID``), an entity's ``<Entity>_FEntryId`` / ``<Entity>_FSeq`` (``FTreeEntity_FEntryId``),
entry fields, and sub-fields of references (``FMaterialId.FNumber``, ``FMaterialId.FName``,
``FMaterialId.FIsBatchManage``, ``FMaterialId.FBaseUnitId.FNumber`` for kept materials). A bare
reference (``FMaterialId``) gives the referenced record's internal id, as the real server does
(the FID of a kept material or lot; a made-up id, stable per org, unit or stock, for the rest).
A base-data record's sub-head fields (BD_MATERIAL's ``FBaseUnitId``, ``FIsBatchManage``) read as
header fields. Names of base data the simulator does not keep (orgs, units) are their numbers.

As soon as one key (or a filter or order field) is an entry field, there is one row per entry
row of that entity (a bill without rows gives one row with the entry fields null); fields of a
second entity read null. Quantities are JSON numbers, times zone-less text, statuses letters.
``OrderString`` takes several keys (``FModifyDate ASC, FID ASC``); ``TopRowCount`` caps the rows
before ``StartRow`` / ``Limit`` page them. A field the form does not have: MsgCode 9, wrapped in
a 2-D array as the real server wraps query errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.filter import FilterError, UnknownField, array_filter, parse_filter_fields
from adapters.kingdee.simulator.forms import REF_FORMS, Form
from adapters.kingdee.simulator.replies import failure, wrapped
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import ci_get, ci_key, is_qty_field, is_ref, ref_number, to_int

__all__ = ["execute_bill_query", "lookup"]

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    entity: str | None  # the entity whose rows it reads (None: the header)
    get: Callable[[Record, Row | None], Any]


def lookup(form: Form | None, model: Row, key: str) -> Any:
    """A field of a header, looked for in the sub-heads too (BD_MATERIAL's SubHeadEntity1...)."""
    if ci_key(model, key) is not None or form is None:
        return ci_get(model, key)
    for subhead in form.subheads:
        value = ci_get(model, subhead)
        if isinstance(value, Mapping) and ci_key(value, key) is not None:
            return ci_get(value, key)
    return None


def _value(erp: Erp, form: Form | None, container: Row, key: str) -> Any:
    value = lookup(form, container, key)
    if is_ref(value):
        return erp.ref_id(key, ref_number(value), ref_number(ci_get(container, "FMaterialId")))
    if value is None and is_qty_field(key):
        return 0.0
    if value is None and key.lower() in REF_FORMS:
        return 0  # an empty material or lot field reads as id 0
    return value


def _sub_value(erp: Erp, form: Form | None, container: Row, head: str, path: str) -> Any:
    value = lookup(form, container, head)
    number = ref_number(value) if is_ref(value) else ""
    if not number:
        return None
    sub, _, rest = path.partition(".")
    low = sub.lower()
    if low == "fnumber":
        return number
    material = ref_number(ci_get(container, "FMaterialId"))
    record = erp.referenced(head, number, material)
    if low in ("fid", "fmasterid") or (record is not None and low == erp.forms[record.form_id].pk.lower()):
        return erp.ref_id(head, number, material)
    if record is None:
        return number if low == "fname" else None
    kept = erp.forms[record.form_id]
    if rest:
        return _sub_value(erp, kept, record.model, sub, rest)
    found = _value(erp, kept, record.model, sub)
    return found if found is not None or low != "fname" else number


def _column(erp: Erp, form: Form, header: frozenset[str], entries: Mapping[str, frozenset[str]],
            text: str) -> Column | None:
    name = text.strip()
    low = name.lower()
    if low in ("fid", form.pk.lower()):
        return Column(None, lambda record, _entry: record.fid)
    for entity in form.entities:
        for suffix, key in (("_fentryid", "FEntryID"), ("_fseq", "FSeq")):
            if low == entity.lower() + suffix:
                return Column(entity, lambda _r, entry, k=key: to_int(ci_get(entry, k)) if entry is not None else None)
    head, dot, path = name.partition(".")
    head_low = head.lower()
    if head_low in header:
        entity = None
    else:
        entity = next((e for e, fields in entries.items() if head_low in fields), "")
        if not entity:
            return None

    def get(record: Record, entry: Row | None) -> Any:
        container = record.model if entity is None else entry
        owner = form if entity is None else None
        if container is None:
            return None
        return _sub_value(erp, owner, container, head, path) if dot else _value(erp, owner, container, head)

    return Column(entity, get)


def _sort_key(value: Any) -> tuple[int, int, Any]:
    if value is None:
        return (0, 0, 0)
    if isinstance(value, bool | int | float):
        return (1, 0, float(value))
    return (1, 1, str(value))


def _filter_text(value: Any) -> str:
    if isinstance(value, list):
        return array_filter(value)
    return "" if value is None else str(value)


def execute_bill_query(erp: Erp, args: Any, *, keyed: bool = False) -> Any:
    """The rows (lists in FieldKeys order; dicts when ``keyed``, as BillQuery answers), or the
    refusal wrapped as the server wraps it."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return wrapped(failure("data数据包的格式不正确。", 8))
    if not isinstance(args, Mapping):
        return wrapped(failure("data数据包的格式不正确。", 8))
    form_id = str(ci_get(args, "FormId") or "")
    form = erp.form(form_id)
    if form is None:
        return wrapped(failure(f"标识为“{form_id}”的业务对象不存在，或者被删除。", 4))
    keys = [k.strip() for k in str(ci_get(args, "FieldKeys") or "").split(",") if k.strip()]
    if not keys:
        return wrapped(failure("data数据包中的参数FieldKeys的值不能为空。", 8))
    header, entries = erp.fields(form)
    columns: dict[str, Column] = {}

    def known(text: str) -> bool:
        if text not in columns:
            column = _column(erp, form, header, entries, text)
            if column is None:
                return False
            columns[text] = column
        return True

    orders = [part.split() for part in str(ci_get(args, "OrderString") or "").split(",") if part.strip()]
    try:
        for name in [*keys, *(o[0] for o in orders)]:
            if not known(name):
                raise UnknownField(name)
        predicate, used = parse_filter_fields(_filter_text(ci_get(args, "FilterString")), known)
    except UnknownField as exc:
        return wrapped(failure(exc.args[0], 9))
    except FilterError as exc:
        return wrapped(failure(str(exc), 8))
    needed = list(dict.fromkeys([*keys, *used, *(o[0] for o in orders)]))
    entity = next((columns[n].entity for n in needed if columns[n].entity), None)
    rows: list[dict[str, Any]] = []
    for record in erp.records(form.form_id):
        lines = [r for r in ci_get(record.model, entity) or [] if isinstance(r, Mapping)] if entity else []
        for line in lines or [None]:
            rows.append({n: columns[n].get(record, line if columns[n].entity in (None, entity) else None)
                         for n in needed})
    chosen = [r for r in rows if predicate(r)]
    for order in reversed(orders):
        descending = len(order) > 1 and order[1].upper() == "DESC"
        chosen.sort(key=lambda r, f=order[0]: _sort_key(r[f]), reverse=descending)
    start, limit, top = (to_int(ci_get(args, k)) for k in ("StartRow", "Limit", "TopRowCount"))
    if top:
        chosen = chosen[:top]
    page = chosen[start:start + limit] if limit else chosen[start:]
    return [{k: r[k] for k in keys} if keyed else [r[k] for k in keys] for r in page]
