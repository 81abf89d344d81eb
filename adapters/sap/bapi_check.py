"""Check a BAPI call's values against the BAPI's DDIC types before it is sent.

zeep checks neither length, pattern nor digits (reference §5.3); SAP refuses what does not fit,
so the client refuses it first, naming the parameter, row and field. The simulator uses the same
checks to refuse what SAP would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.sap.bapi_interfaces import BAPIS, STRUCTURES, Param

__all__ = ["check_call", "check_value"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_QUANTITY = re.compile(r"^-?(\d*)(?:\.(\d*))?$")


def check_value(kind: tuple[str, int, int], value: Any) -> str | None:
    """Why ``value`` does not fit the simple type ``kind``, or None."""
    name, length, scale = kind
    text = value if isinstance(value, str) else str(value)
    if name == "char":
        return f"{text!r} is longer than {length} characters" if len(text) > length else None
    if name == "numeric":
        if text and not (text.isascii() and text.isdigit()):
            return f"{text!r} is not all digits (numeric{length})"
        return f"{text!r} is longer than {length} digits" if len(text) > length else None
    if name == "int":
        return None if re.fullmatch(r"-?\d{1,10}", text) else f"{text!r} is not an integer"
    if name == "quantum":
        match = _QUANTITY.fullmatch(text)
        if match is None or not (match.group(1) or match.group(2)):
            return f"{text!r} is not a decimal number"
        whole, fraction = match.group(1).lstrip("0"), (match.group(2) or "").rstrip("0")
        if len(fraction) > scale:
            return f"{text!r} has more than {scale} decimal places (quantum{length}.{scale})"
        if len(whole) > length - scale:
            return f"{text!r} has more than {length - scale} digits before the point (quantum{length}.{scale})"
        return None
    if name == "date10":
        if text == "0000-00-00":
            return None  # SAP's initial date
        if not _DATE.fullmatch(text):
            return f"{text!r} is not a date YYYY-MM-DD"
        try:
            date.fromisoformat(text)
        except ValueError:
            return f"{text!r} is not a calendar date"
        return None
    if name == "time":
        if not _TIME.fullmatch(text) or int(text[:2]) > 24 or int(text[3:5]) > 59 or int(text[6:]) > 59:
            return f"{text!r} is not a time HH:MM:SS"
        return None
    return f"unknown DDIC type {name}"


def _check_structure(struct: str, row: Mapping[str, Any], where: str, problems: list[str]) -> None:
    fields = STRUCTURES[struct]
    for field, value in row.items():
        if value is None:
            continue
        kind = fields.get(field)
        if kind is None:
            problems.append(f"{where}.{field}: {struct} has no field {field}")
            continue
        problem = check_value(kind, value)
        if problem:
            problems.append(f"{where}.{field}: {problem}")


def _check_param(param: Param, value: Any, problems: list[str]) -> None:
    if param.shape == "field":
        assert isinstance(param.type, tuple)
        problem = check_value(param.type, value)
        if problem:
            problems.append(f"{param.name}: {problem}")
    elif param.shape == "structure":
        if not isinstance(value, Mapping):
            problems.append(f"{param.name}: a structure {param.type} is a mapping of fields")
            return
        _check_structure(str(param.type), value, param.name, problems)
    else:
        rows = value.get("item", []) if isinstance(value, Mapping) else value
        if not isinstance(rows, list):
            problems.append(f"{param.name}: a table of {param.type} is a list of rows")
            return
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                problems.append(f"{param.name}[{index}]: a row of {param.type} is a mapping of fields")
                continue
            _check_structure(str(param.type), row, f"{param.name}[{index}]", problems)


def check_call(bapi: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem of a call's input values (empty when SAP would take them)."""
    interface = BAPIS[bapi]
    known = {p.name: p for p in interface.inputs}
    problems: list[str] = []
    for name, value in params.items():
        param = known.get(name)
        if param is None:
            problems.append(f"{name}: {bapi} has no parameter {name}")
        elif value is not None:
            _check_param(param, value, problems)
    for param in interface.inputs:
        empty = params.get(param.name) in (None, [], {}, "")
        if not param.optional and empty:
            problems.append(f"{param.name}: required by {bapi}")
    return problems
