"""The list APIs' conditions and paging, over rows as the list APIs return them.

A list body may carry (reference kingdee-yonyou §2.1, the productionorder/list page):

* ``simpleVOs``: ``[{field, op, value1, value2, logicOp, conditions: [...]}]``, all of them to hold;
  ``op`` one of eq, neq, lt, gt, elt, egt, between, in, nin, like (contains), leftlike (starts
  with), rightlike (ends with), is_null, is_not_null; ``logicOp`` joins the row's own condition
  and its ``conditions`` (and by default);
* ``simple``: ``open_<field>_begin`` / ``open_<field>_end`` (bounds included) and ``<field>: value``;
* top-level keys: the same ``open_..._begin/_end``, ``<field>: value`` (a list: any of them; a
  ``"from|to"`` text: a range), after the API's own renames (``productCode`` -> ``code``; a rename to None: a parameter not modelled).

Empty values (``""``, ``[""]``, ``[0]``) are left out, as the API pages' templates send them. A key
that names no field of the rows matches no row. Fields are found as written, with ``!`` or the
first ``.`` read as ``_`` (``OrderProduct!startDate`` -> ``OrderProduct_startDate``), or as a path
into nested objects (``headItem.define1``). Values compare as numbers when both are numbers, as
times when both are times, else as text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.yonyou.simulator.times import parse_when

__all__ = ["OPS", "QueryError", "condition", "list_data", "select"]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
_MISSING = object()
PAGING = frozenset({"pageIndex", "pageSize", "simple", "simpleVOs", "isSum", "isShowProcess", "isShowMaterial",
                    "isShowByProduct", "isShowActivity"})


class QueryError(ValueError):
    """A condition the server cannot run (an unknown operator, a range without bounds)."""


def value_of(row: Row, field: str) -> Any:
    for name in (field, field.replace("!", "_", 1), field.replace(".", "_", 1)):
        for candidate in (name, name[:1].upper() + name[1:], name[:1].lower() + name[1:]):
            if candidate in row:
                return row[candidate]
    node: Any = row
    for part in field.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, str(value).lower())
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(str(value)))
    if isinstance(value, str):
        when = parse_when(value)
        if when is not None:
            return (2, when)
        try:
            number = Decimal(value.strip())
            if number.is_finite():
                return (1, number)
        except InvalidOperation:
            pass
    return (3, "" if value is None else str(value))


def _compare(left: Any, right: Any) -> int:
    a, b = _key(left), _key(right)
    if a[0] != b[0]:
        a, b = (3, str(left).lower() if isinstance(left, bool) else str(left)), (3, str(right))
    return (a[1] > b[1]) - (a[1] < b[1])


def _many(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value) if isinstance(value, Sequence) else [value]


def _op(op: str, actual: Any, value1: Any, value2: Any) -> bool:
    present = actual is not _MISSING and actual not in (None, "")
    if op == "is_null":
        return not present
    if op == "is_not_null":
        return present
    if actual is _MISSING:
        return op in ("neq", "nin")
    if op in ("in", "nin"):
        hit = any(_compare(actual, v) == 0 for v in _many(value1))
        return hit if op == "in" else not hit
    if op in ("like", "leftlike", "rightlike"):
        text, part = str(actual), str(value1)
        return part in text if op == "like" else text.startswith(part) if op == "leftlike" else text.endswith(part)
    if op == "between":
        if value1 in (None, "") or value2 in (None, ""):
            raise QueryError("between needs value1 and value2")
        return _compare(actual, value1) >= 0 and _compare(actual, value2) <= 0
    order = _compare(actual, value1)
    tests = {"eq": order == 0, "neq": order != 0, "lt": order == -1, "gt": order == 1,
             "elt": order in (-1, 0), "egt": order in (0, 1)}
    if op not in tests:
        raise QueryError(f"不支持的查询操作符[{op}]")
    return tests[op]


OPS = ("eq", "neq", "lt", "gt", "elt", "egt", "between", "in", "nin", "like", "leftlike", "rightlike",
       "is_null", "is_not_null")


def condition(field: str, op: str, value1: Any = None, value2: Any = None) -> Predicate:
    if op not in OPS:
        raise QueryError(f"不支持的查询操作符[{op}]")
    return lambda row: _op(op, value_of(row, field), value1, value2)


def _empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    return isinstance(value, list) and all(v in (None, "", 0) for v in value)


def _vo(vo: Mapping[str, Any]) -> Predicate | None:
    own = None
    if str(vo.get("field") or "") and str(vo.get("op") or ""):
        own = condition(str(vo["field"]), str(vo["op"]), vo.get("value1"), vo.get("value2"))
    nested = [p for p in (_vo(c) for c in vo.get("conditions") or [] if isinstance(c, Mapping)) if p]
    parts = ([own] if own else []) + nested
    if not parts:
        return None
    if str(vo.get("logicOp") or "and").lower() == "or":
        return lambda row: any(p(row) for p in parts)
    return lambda row: all(p(row) for p in parts)


Renames = Mapping[str, "tuple[str, str] | None"]


def _field_conditions(items: Iterable[tuple[str, Any]], renames: Renames) -> list[Predicate]:
    found: list[Predicate] = []
    for key, value in items:
        if key in PAGING or _empty(value):
            continue
        if key in renames:
            renamed = renames[key]
            if renamed is not None:  # None: a parameter the simulator does not model
                found.append(condition(renamed[0], renamed[1], value))
        elif key.startswith("open_") and key.endswith(("_begin", "_end")):
            field, _, edge = key[len("open_"):].rpartition("_")
            found.append(condition(field, "egt" if edge == "begin" else "elt", value))
        elif isinstance(value, list):
            found.append(condition(key, "in", value))
        elif isinstance(value, str) and "|" in value:
            low, _, high = value.partition("|")
            found.append(condition(key, "between", low, high))
        else:
            found.append(condition(key, "eq", value))
    return found


def select(rows: Iterable[Row], body: Mapping[str, Any], renames: Renames | None = None) -> list[Row]:
    """The rows every condition of ``body`` holds for.

    Raises:
        QueryError: a condition the server cannot run.
    """
    renames = renames or {}
    predicates = _field_conditions(body.items(), renames)
    simple = body.get("simple")
    if isinstance(simple, Mapping):
        predicates += _field_conditions(simple.items(), renames)
    for vo in body.get("simpleVOs") or []:
        predicate = _vo(vo) if isinstance(vo, Mapping) else None
        if predicate is not None:
            predicates.append(predicate)
    return [row for row in rows if all(p(row) for p in predicates)]


def _int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def list_data(rows: Sequence[Row], body: Mapping[str, Any], now: str, *, default_size: int = 10) -> dict[str, Any]:
    """The ``data`` of a list reply: one page of ``rows`` (``pageIndex`` from 1)."""
    index, size = _int(body.get("pageIndex"), 1), _int(body.get("pageSize"), default_size)
    count = len(rows)
    pages = math.ceil(count / size) if count else 0
    return {"pageIndex": index, "pageSize": size, "recordCount": count,
            "recordList": [dict(r) for r in rows[(index - 1) * size:index * size]],
            "pageCount": pages, "beginPageIndex": 1, "endPageIndex": pages, "pubts": now}
