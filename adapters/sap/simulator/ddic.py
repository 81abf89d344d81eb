"""Checks request values against their DDIC types as SAP does (zeep checks none of this).

A request element becomes plain Python: a field is ``str``, a structure ``dict[str, str]``, a
table ``list[dict[str, str]]``. Anything SAP would refuse raises :class:`FieldError`, which
names the parameter path; the server answers it with a SOAP Fault.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from adapters.sap import bapi_check
from adapters.sap.bapi_interfaces import BAPIS, DATE, INT, NUMC, QUAN, STRUCTURES, TIME, Param

__all__ = ["FieldError", "initial_value", "parse_request"]

_DATE = re.compile(r"\d\d\d\d-\d\d-\d\d")
_TIME = re.compile(r"\d\d:\d\d:\d\d")
_DECIMAL = re.compile(r"-?(\d*)(?:\.(\d*))?")
_INT = re.compile(r"-?\d{1,10}")

Kind = tuple[str, int, int]


class FieldError(ValueError):
    """A value SAP would refuse; the message names the field path."""


def initial_value(kind: Kind) -> str:
    """The value SAP sends for an initial field of this type (``0000-00-00``, zeros, "")."""
    base, length, decimals = kind
    if base == QUAN:
        return "0." + "0" * decimals if decimals else "0"
    return {NUMC: "0" * length, DATE: "0000-00-00", TIME: "00:00:00", INT: "0"}.get(base, "")


def check_value(path: str, value: str, kind: Kind) -> str:
    """``value`` if it fits ``kind``; FieldError naming ``path`` otherwise (the client's checks,
    :func:`adapters.sap.bapi_check.check_value`: what SAP refuses, refused the same way)."""
    problem = bapi_check.check_value(kind, value)
    if problem is not None:
        raise FieldError(f"{path}: {problem}")
    return value


def _text(path: str, element: etree._Element) -> str:
    if len(element):
        raise FieldError(f"{path}: a field holds elements, expected a value")
    return element.text or ""


def _structure(path: str, element: etree._Element, struct: str) -> dict[str, str]:
    fields = STRUCTURES[struct]
    values: dict[str, str] = {}
    for child in element:
        name = etree.QName(child).localname
        kind = fields.get(name)
        if kind is None or etree.QName(child).namespace is not None:
            raise FieldError(f"{path}: unknown field {name} (structure {struct})")
        values[name] = check_value(f"{path}.{name}", _text(f"{path}.{name}", child), kind)
    return values


def _param_value(path: str, element: etree._Element, param: Param) -> Any:
    if param.shape == "field":
        assert isinstance(param.type, tuple)
        return check_value(path, _text(path, element), param.type)
    struct = str(param.type)
    if param.shape == "structure":
        return _structure(path, element, struct)
    rows = []
    for n, item in enumerate(element, start=1):
        if etree.QName(item).localname != "item":
            raise FieldError(f"{path}: table holds <{etree.QName(item).localname}>, expected <item>")
        rows.append(_structure(f"{path}.item[{n}]", item, struct))
    return rows


def parse_request(bapi_name: str, element: etree._Element) -> dict[str, Any]:
    """The request element's parameters as Python values, every value checked.

    Raises:
        FieldError: an unknown parameter or field, a missing required parameter, or a value
            that does not fit its DDIC type.
    """
    params = {p.name: p for p in BAPIS[bapi_name].inputs}
    values: dict[str, Any] = {}
    for child in element:
        name = etree.QName(child).localname
        param = params.get(name)
        if param is None or etree.QName(child).namespace is not None:
            raise FieldError(f"{bapi_name}: unknown parameter {name}")
        values[name] = _param_value(f"{bapi_name}.{name}", child, param)
    missing = [p.name for p in params.values() if not p.optional and p.name not in values]
    if missing:
        raise FieldError(f"{bapi_name}: missing required parameter {', '.join(missing)}")
    return values
