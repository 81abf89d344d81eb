"""The registry of named transforms a mapping may use (``transform: sap_date``).

Every transform is a plain function registered under its YAML name. Its first positional
parameters receive the input value(s) (one for ``path:``, several for ``args:``); its
keyword-only parameters are the options written in YAML (``{name: alpha_pad, length: 12}``).
A transform receives ``None`` for an absent value and, unless it is about absence
(``default``, ``required``), returns ``None`` for it. Bad input raises :class:`TransformError`;
the compiler turns that into a :class:`~bridge.errors.MappingError` naming mapping, field,
path and value.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.canonical.types import normalise_decimal

__all__ = ["TRANSFORMS", "TransformError", "get_transform", "resolve_timezone", "transform"]

TransformFunc = Callable[..., Any]

#: name -> function; filled by the ``@transform`` decorator below.
TRANSFORMS: dict[str, TransformFunc] = {}


class TransformError(ValueError):
    """A transform could not convert its input; the message says why."""


def transform(name: str) -> Callable[[TransformFunc], TransformFunc]:
    """Register ``func`` as the transform called ``name`` in YAML."""

    def register(func: TransformFunc) -> TransformFunc:
        if name in TRANSFORMS:
            raise RuntimeError(f"transform {name!r} registered twice")
        TRANSFORMS[name] = func
        return func

    return register


def get_transform(name: str) -> TransformFunc | None:
    """The function registered as ``name``, or None."""
    return TRANSFORMS.get(name)


def transform_options(func: TransformFunc) -> dict[str, inspect.Parameter]:
    """The YAML options (keyword-only parameters) a transform accepts."""
    return {
        p.name: p
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def transform_arity(func: TransformFunc) -> tuple[int, int | None]:
    """(minimum, maximum or None for *args) number of input values."""
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    has_var = any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(func).parameters.values()
    )
    required = sum(1 for p in params if p.default is inspect.Parameter.empty)
    return required, None if has_var else len(params)


def resolve_timezone(name: str) -> tzinfo:
    """A ``ZoneInfo`` for an IANA name (``Asia/Shanghai``) or ``UTC``; TransformError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TransformError(f"unknown time zone {name!r}") from exc


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --- identifiers and text ------------------------------------------------------------------


@transform("alpha")
def alpha(value: Any) -> str | None:
    """SAP ALPHA output: an all-digit key loses its leading zeros; other keys are trimmed.

    YAML: ``order_id: {path: E1AFKOL.AUFNR, transform: alpha}`` (``000208277436`` -> ``208277436``)
    """
    text = _text(value)
    if text is None:
        return None
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text


@transform("alpha_pad")
def alpha_pad(value: Any, *, length: int) -> str | None:
    """SAP ALPHA input: an all-digit key is left-padded with zeros to ``length``.

    YAML: ``ORDERID: {path: payload.order_id, transform: {name: alpha_pad, length: 12}}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) > length:
        raise TransformError(f"{text!r} is longer than {length} characters")
    return text.zfill(length) if text.isdigit() else text


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
    parts = [str(v) for v in values if v is not None and v != ""]
    return separator.join(parts) if parts else None


@transform("template")
def template(*values: Any, format: str) -> str | None:
    """Fill ``{0}``, ``{1}``... in ``format`` with the inputs (absent inputs become empty).

    YAML: ``{transform: {name: template, format: "{0}-{1}"}, args: [AUFNR, VORNR]}``
    """
    try:
        return format.format(*("" if v is None else v for v in values)) or None
    except (IndexError, KeyError, ValueError) as exc:
        raise TransformError(f"template {format!r} does not fit {len(values)} inputs") from exc


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


# --- numbers -------------------------------------------------------------------------------

_SAP_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?-?$")


def parse_decimal(value: Any) -> Decimal | None:
    """Parse SAP / JSON numbers: trailing minus (``12-``), E-notation, blanks; None if absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TransformError("a boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return _parse_number_text(str(value))


# Quantities and dates repeat across documents (the same few units of measure, today's
# date): caching the pure text -> value step saves most of their cost on the hot path.
_CACHE_SIZE = 4096


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_number_text(raw: str) -> Decimal | None:
    text = raw.strip().replace(" ", "")
    if not text:
        return None
    if not _SAP_NUMBER.match(text):
        raise TransformError(f"{text!r} is not a number")
    negative = text.endswith("-")
    if negative:
        text = text[:-1]
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise TransformError(f"{text!r} is not a number") from exc
    return -number if negative else number


@transform("decimal")
def decimal(value: Any) -> str | None:
    """A canonical decimal string from SAP/JSON numbers: ``"12.500-"`` -> ``"-12.5"``,
    ``"1.000000000000000E+01"`` -> ``"10"``.

    YAML: ``value: {path: E1AFKOL.GAMNG, transform: decimal}``
    """
    number = parse_decimal(value)
    return normalise_decimal(number) if number is not None else None


@transform("decimal_fixed")
def decimal_fixed(value: Any, *, places: int = 3, trailing_minus: bool = False) -> str | None:
    """A decimal with exactly ``places`` decimals, as SAP quantity fields carry them.

    YAML: ``YIELD: {path: payload.yield_quantity.value, transform: {name: decimal_fixed, places: 3}}``
    """
    number = parse_decimal(value)
    if number is None:
        return None
    text = f"{abs(number):.{places}f}"
    if number < 0:
        return f"{text}-" if trailing_minus else f"-{text}"
    return text


@transform("negate")
def negate(value: Any) -> str | None:
    """Flip the sign of a number (for reversals). YAML: ``transform: [decimal, negate]``"""
    number = parse_decimal(value)
    return normalise_decimal(-number) if number is not None else None


@transform("integer")
def integer(value: Any) -> int | None:
    """A whole number; fails on fractions. YAML: ``transform: integer``"""
    number = parse_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise TransformError(f"{value!r} is not a whole number")
    return int(number)


# --- flags ---------------------------------------------------------------------------------

_TRUE = {"x", "true", "1", "yes", "y"}
_FALSE = {"", "false", "0", "no", "n"}


@transform("sap_flag")
def sap_flag(value: Any) -> bool:
    """SAP checkbox: ``X`` is true, blank or absent is false. YAML: ``{path: XCHPF, transform: sap_flag}``"""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
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
    return sap_flag(value)


@transform("flag_sap")
def flag_sap(value: Any, *, true_value: str = "X", false_value: str | None = None) -> str | None:
    """A boolean as an SAP checkbox: true -> ``X`` (or ``true_value``), false -> absent
    (or ``false_value``).

    YAML: ``FIN_CONF: {path: payload.final, transform: {name: flag_sap, true_value: "1"}}``
    """
    if value is None:
        return false_value
    return true_value if sap_flag(value) else false_value


# --- dates and times -----------------------------------------------------------------------

_SAP_EMPTY_DATES = {"00000000", ""}


def _sap_date(text: str) -> date | None:
    if text in _SAP_EMPTY_DATES or set(text) == {"0"}:
        return None
    if len(text) != 8 or not text.isdigit():
        raise TransformError(f"{text!r} is not an SAP date (YYYYMMDD)")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a valid date: {exc}") from exc


def _sap_time(text: str | None) -> tuple[time, int]:
    """(time of day, extra days): ``240000`` is the end of the day, i.e. next day 00:00."""
    if text is None or text == "":
        return time(0, 0), 0
    text = text.replace(":", "")
    if len(text) != 6 or not text.isdigit():
        raise TransformError(f"{text!r} is not an SAP time (HHMMSS)")
    hours, minutes, seconds = int(text[:2]), int(text[2:4]), int(text[4:])
    if text == "240000":
        return time(0, 0), 1
    try:
        return time(hours, minutes, seconds), 0
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a valid time: {exc}") from exc


@transform("sap_date")
def sap_date(value: Any) -> str | None:
    """``YYYYMMDD`` to ISO ``YYYY-MM-DD``; ``00000000`` is absent.

    YAML: ``required_on: {path: BDTER, transform: sap_date}``
    """
    text = _text(value)
    if text is None:
        return None
    parsed = _sap_date(text)
    return parsed.isoformat() if parsed else None


@transform("sap_datetime")
def sap_datetime(date_value: Any, time_value: Any = None, *, tz: str = "UTC") -> str | None:
    """SAP date + time read in the source's zone to ISO 8601 with offset.

    ``00000000`` makes the result absent; ``240000`` is the end of that day (next day 00:00);
    a missing time is 00:00. ``tz`` defaults to the mapping's ``source.timezone``.

    YAML: ``planned_start: {transform: sap_datetime, args: [E1AFKOL.GSTRS, E1AFKOL.GSUZS]}``
    """
    text = _text(date_value)
    if text is None:
        return None
    return _sap_datetime_text(text, _text(time_value), tz)


@lru_cache(maxsize=_CACHE_SIZE)
def _sap_datetime_text(date_text: str, time_text: str | None, tz: str) -> str | None:
    day = _sap_date(date_text)
    if day is None:
        return None
    clock, extra_days = _sap_time(time_text)
    moment = datetime.combine(day + timedelta(days=extra_days), clock, resolve_timezone(tz))
    return moment.isoformat()


@transform("iso_datetime")
def iso_datetime(value: Any, *, tz: str = "UTC") -> str | None:
    """ISO 8601 (``2023-12-11 00:29:41`` or with ``T``, offset or ``Z`` optional) to ISO with
    offset; a value without a zone is read in ``tz`` (the source's zone by default).

    YAML: ``finished_at: {path: FFinishTime, transform: iso_datetime}``
    """
    text = _text(value)
    if text is None:
        return None
    moment = _parse_iso(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=resolve_timezone(tz))
    return moment.isoformat()


@transform("iso_date")
def iso_date(value: Any) -> str | None:
    """The date part of an ISO date or date-time: ``2023-12-11T08:00:00`` -> ``2023-12-11``.

    YAML: ``posting_date: {path: FDate, transform: iso_date}``
    """
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise TransformError(f"{text!r} is not an ISO 8601 date") from exc


def _parse_iso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TransformError(f"{text!r} is not an ISO 8601 date-time") from exc


def _as_datetime(value: Any, tz: str) -> datetime | None:
    """An ISO date-time in ``tz`` (converted if it has an offset, else read in ``tz``)."""
    text = _text(value)
    if text is None:
        return None
    moment = _parse_iso(text)
    zone = resolve_timezone(tz)
    return moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)


@transform("to_sap_date")
def to_sap_date(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date or date-time (converted to ``tz``) as SAP ``YYYYMMDD``.

    YAML: ``POSTG_DATE: {path: payload.posting_date, transform: to_sap_date}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        try:
            return date.fromisoformat(text).strftime("%Y%m%d")
        except ValueError as exc:
            raise TransformError(f"{text!r} is not an ISO 8601 date") from exc
    moment = _as_datetime(text, tz)
    return moment.strftime("%Y%m%d") if moment else None


@transform("to_iso_date")
def to_iso_date(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date-time converted to ``tz``, as ``YYYY-MM-DD`` (SAP SOAP date fields).

    YAML: ``EXEC_FIN_DATE: {path: payload.finished_at, transform: {name: to_iso_date, tz: Europe/Berlin}}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        return iso_date(text)
    moment = _as_datetime(text, tz)
    return moment.date().isoformat() if moment else None


@transform("to_sap_time")
def to_sap_time(value: Any, *, tz: str = "UTC", separator: str = "") -> str | None:
    """An ISO date-time converted to ``tz``, as SAP ``HHMMSS`` (``HH:MM:SS`` with separator ":").

    YAML: ``EXEC_FIN_TIME: {path: payload.finished_at, transform: {name: to_sap_time, separator: ":"}}``
    """
    moment = _as_datetime(value, tz)
    if moment is None:
        return None
    return moment.strftime(f"%H{separator}%M{separator}%S")
