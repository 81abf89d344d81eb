"""K/3 Cloud JSON with exact numbers: the ``kingdee-json`` payload format.

A Save ``Model`` carries quantities as JSON numbers (``"FQuaQty": 300``). The canonical model
carries decimals as strings, and Python's ``json`` writes a :class:`~decimal.Decimal` only by way
of a float (``0.1 + 0.2`` -> ``0.30000000000000004``). So the ``kingdee_number`` transforms
(:mod:`adapters.kingdee.transforms`) mark a value as a :class:`KingdeeNumber`: a ``str`` holding
canonical decimal text, equal to that text (mapping test cases compare it as a string), and
:func:`dumps` writes it as a JSON number, digit for digit. Any other JSON writer (the built-in
``json`` payload format, ``json.dumps``) writes it as a string, which K/3 Cloud converts too.

:func:`render_kingdee_json` is the payload format (registered as ``kingdee-json`` in
:mod:`adapters.kingdee.adapter`): the Save ``Model`` object as UTF-8 JSON. :func:`dumps` writes
any JSON-like value that way, e.g. a whole request body with the Model inside.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bridge.canonical.types import DecimalBoundError, normalise_decimal
from bridge.errors import ValidationError, shown

__all__ = ["KingdeeNumber", "dumps", "render_kingdee_json"]

_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_MAX_DEPTH = 64


class KingdeeNumber(str):
    """Decimal text that :func:`dumps` writes as a JSON number (``KingdeeNumber("0.1")``)."""

    __slots__ = ()


def _path(parts: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _write(value: Any, out: list[str], where: tuple[str | int, ...]) -> None:
    if len(where) > _MAX_DEPTH:
        raise ValidationError(f"payload {_path(where[:_MAX_DEPTH])}: nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, KingdeeNumber):
        if not _JSON_NUMBER.fullmatch(value):
            raise ValidationError(f"payload {_path(where)}: {shown(str(value))!r} is not a number")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif value is None or isinstance(value, bool):
        out.append("null" if value is None else ("true" if value else "false"))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        try:
            out.append(normalise_decimal(value))
        except DecimalBoundError as exc:
            raise ValidationError(f"payload {_path(where)}: {exc}") from None
    elif isinstance(value, float):  # only a mapping's own constant can be one
        if not math.isfinite(value):
            raise ValidationError(f"payload {_path(where)}: {value} is not a JSON number")
        out.append(repr(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise ValidationError(f"payload {_path(where)}: the key {key!r} is not text")
            out.append(("," if position else "") + json.dumps(key, ensure_ascii=False) + ":")
            _write(item, out, (*where, key))
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, out, (*where, position))
        out.append("]")
    else:
        raise ValidationError(f"payload {_path(where)}: a value of type {type(value).__name__} is not a JSON value")


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` with :class:`KingdeeNumber` and Decimal values as exact
    JSON numbers and text as it is (not ASCII-escaped).

    Raises:
        ValidationError: a value JSON cannot carry (NaN, an object, a non-text key), naming its path.
    """
    out: list[str] = []
    _write(value, out, ())
    return "".join(out)


def render_kingdee_json(document: str, payload: dict[str, Any]) -> bytes:
    """The ``kingdee-json`` payload format: the Save ``Model`` of ``document`` (a form id such as
    PRD_MORPT) as UTF-8 JSON with exact numbers.

    Raises:
        ValidationError: see :func:`dumps`, or text that is not valid Unicode.
    """
    text = dumps(payload)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{document} payload: text that is not valid Unicode ({exc.reason})") from None
