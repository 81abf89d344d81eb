"""The built-in named transforms a mapping may use (``transform: decimal``).

Vendor transforms (``sap_date``, ``alpha``) come with their adapters (see :mod:`bridge.adapter`)
and are found through :func:`get_transform` and :func:`all_transforms` like the built-in ones.

Every transform is a plain function registered under its YAML name. Its first positional
parameters receive the input value(s) (one for ``path:``, several for ``args:``); its
keyword-only parameters are the options written in YAML (``{name: alpha_pad, length: 12}``).
A transform receives ``None`` for an absent value and, unless it is about absence
(``default``, ``required``), returns ``None`` for it. Bad input raises :class:`TransformError`;
the compiler turns that into a :class:`~bridge.errors.MappingError` naming mapping, field,
path and value. No input makes a transform raise anything else: a number is exact or refused
(:mod:`bridge.mapping.numbers`), a date is read from ASCII digits only
(:mod:`bridge.mapping.times`), and a segment where a value was expected is refused
(:mod:`bridge.mapping.scalars`). Option values are checked when the mapping loads
(:func:`check_options`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.mapping.numbers import canonical_number, fixed_point, negated, read_number
from bridge.mapping.scalars import SCALAR_TYPES, TransformError, not_a_field
from bridge.mapping.scalars import scalar_text as _text
from bridge.mapping.times import in_zone, parse_iso, parse_iso_date, resolve_timezone
from bridge.mapping.transform_registry import (
    MAX_WIDTH,
    TRANSFORMS,
    all_transforms,
    check_options,
    get_transform,
    transform,
    transform_arity,
    transform_options,
)

__all__ = [
    "MAX_WIDTH",
    "TRANSFORMS",
    "TransformError",
    "all_transforms",
    "check_options",
    "get_transform",
    "resolve_timezone",
    "transform",
    "transform_arity",
    "transform_options",
    "truth",
]

def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, SCALAR_TYPES):
        return value
    raise TransformError(not_a_field(value))


# --- identifiers and text ------------------------------------------------------------------


@transform("strip")
def strip(value: Any) -> str | None:
    """Trim surrounding blanks; an empty result is absent. YAML: ``transform: strip``"""
    return _text(value)


@transform("upper")
def upper(value: Any) -> str | None:
    """Upper-case text. YAML: ``transform: upper``"""
    text = _text(value)
    return text.upper() if text is not None else None


@transform("lower")
def lower(value: Any) -> str | None:
    """Lower-case text. YAML: ``language: {path: SPRAS_ISO, transform: lower}``"""
    text = _text(value)
    return text.lower() if text is not None else None


@transform("truncate")
def truncate(value: Any, *, length: int) -> str | None:
    """Cut text to at most ``length`` characters. YAML: ``{name: truncate, length: 40}``"""
    text = _text(value)
    return text[:length] if text is not None else None


@transform("to_string")
def to_string(value: Any) -> str | None:
    """Render any scalar as text (``true`` -> ``"true"``). YAML: ``transform: to_string``"""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


@transform("concat")
def concat(*values: Any, separator: str = "") -> str | None:
    """Join the present inputs with ``separator``; absent when all are absent.

    YAML: ``{transform: {name: concat, separator: "/"}, args: [E1AFKOL.AUFNR, E1AFVOL.VORNR]}``
    """
    parts = [str(_scalar(v)) for v in values if v is not None and v != ""]
    return separator.join(parts) if parts else None


@transform("template")
def template(*values: Any, format: str) -> str | None:
    """Fill ``{0}``, ``{1}``... in ``format`` with the inputs (absent inputs become empty).

    YAML: ``{transform: {name: template, format: "{0}-{1}"}, args: [AUFNR, VORNR]}``
    """
    filled = tuple("" if v is None else _scalar(v) for v in values)
    try:
        return format.format(*filled) or None
    except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise TransformError(f"template {format!r} does not fit {len(values)} inputs: {exc}") from exc


@transform("default")
def default(value: Any, *, value_if_absent: Any) -> Any:
    """Use ``value_if_absent`` when the input is absent. Prefer the field key ``default:``.

    YAML: ``{path: LGORT, transform: {name: default, value_if_absent: "0001"}}``
    """
    return value_if_absent if value is None or value == "" else value


@transform("required")
def required(value: Any) -> Any:
    """Fail when the input is absent. Prefer the field key ``required: true``.

    YAML: ``{path: E1AFKOL.WERKS, transform: required}``
    """
    if value is None or value == "":
        raise TransformError("a value is required but the source has none")
    return value


@transform("replace")
def replace(value: Any, *, old: str, new: str) -> str | None:
    """Replace every ``old`` with ``new``. YAML: ``{name: replace, old: "-", new: ""}``"""
    text = _text(value)
    return text.replace(old, new) if text is not None else None


# --- numbers (exact or refused: see bridge.mapping.numbers) ----------------------------------


def parse_decimal(value: Any) -> Decimal | None:
    """The exact value of an SAP/JSON number (``12-``, E-notation, blanks); None if absent."""
    found = read_number(value)
    return found[0] if found is not None else None


@transform("decimal")
def decimal(value: Any) -> str | None:
    """A canonical decimal string from SAP/JSON numbers: ``"12.500-"`` -> ``"-12.5"``,
    ``"1.000000000000000E+01"`` -> ``"10"``. Exact: a value beyond the canonical bounds
    (60 significant digits, 100 digits written out), with two signs, blanks inside or
    non-ASCII digits is refused, never rounded.

    YAML: ``value: {path: E1AFKOL.GAMNG, transform: decimal}``
    """
    return canonical_number(value)


@transform("decimal_fixed")
def decimal_fixed(value: Any, *, places: int = 3, trailing_minus: bool = False) -> str | None:
    """A decimal with exactly ``places`` decimals, as SAP quantity fields carry them; a value
    with more decimals is refused (``1.23456`` with 3 places), never rounded.

    YAML: ``YIELD: {path: payload.yield_quantity.value, transform: {name: decimal_fixed, places: 3}}``
    """
    found = read_number(value)
    if found is None:
        return None
    return fixed_point(found[1], places, trailing_minus=trailing_minus)


@transform("negate")
def negate(value: Any) -> str | None:
    """Flip the sign of a number (for reversals). YAML: ``transform: [decimal, negate]``"""
    found = read_number(value)
    return negated(found[1]) if found is not None else None


@transform("integer")
def integer(value: Any) -> int | None:
    """A whole number; fails on fractions. YAML: ``transform: integer``"""
    found = read_number(value)
    if found is None:
        return None
    if "." in found[1]:
        raise TransformError(f"{value!r} is not a whole number")
    return int(found[1])


# --- flags ---------------------------------------------------------------------------------

_TRUE = {"x", "true", "1", "yes", "y"}
_FALSE = {"", "false", "0", "no", "n"}


def truth(value: Any) -> bool:
    """true/false, 1/0, yes/no, X/blank (any case) as a boolean; absent is false.

    Raises:
        TransformError: any other value.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"{value!r} is not a flag (expected X or blank)")


@transform("boolean")
def boolean(value: Any) -> bool | None:
    """true/false, 1/0, yes/no, X/blank to a boolean; absent stays absent. YAML: ``transform: boolean``"""
    if value is None:
        return None
    return truth(value)


# --- dates and times (see bridge.mapping.times; vendor formats come with their adapters) -----


@transform("iso_datetime")
def iso_datetime(value: Any, *, tz: str = "UTC") -> str | None:
    """ISO 8601 (``2023-12-11 00:29:41`` or with ``T``, offset or ``Z`` optional) to ISO with
    offset; a value without a zone is read in ``tz`` (the source's zone by default).

    YAML: ``finished_at: {path: FFinishTime, transform: iso_datetime}``
    """
    text = _text(value)
    if text is None:
        return None
    moment = parse_iso(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=resolve_timezone(tz))
    return moment.isoformat()


@transform("iso_date")
def iso_date(value: Any) -> str | None:
    """The date part of an ISO date or date-time: ``2023-12-11T08:00:00`` -> ``2023-12-11``
    (the whole text must be a valid date or date-time).

    YAML: ``posting_date: {path: FDate, transform: iso_date}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        return parse_iso_date(text).isoformat()
    return parse_iso(text).date().isoformat()


@transform("to_iso_date")
def to_iso_date(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date-time converted to ``tz``, as ``YYYY-MM-DD`` (SAP SOAP date fields).

    YAML: ``EXEC_FIN_DATE: {path: payload.finished_at, transform: {name: to_iso_date, tz: Europe/Berlin}}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        return parse_iso_date(text).isoformat()
    return in_zone(text, tz).date().isoformat()
