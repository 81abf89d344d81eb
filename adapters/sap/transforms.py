"""Mapping transforms for SAP values: ALPHA keys, checkboxes, ``YYYYMMDD`` dates, ``HHMMSS``
times. The SAP adapter brings them (:data:`TRANSFORMS`); mappings name them like any other
(``transform: sap_date``). Like every transform, each raises only
:class:`~bridge.mapping.scalars.TransformError` on bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from adapters.sap.dates import sap_date as _sap_date
from adapters.sap.dates import sap_date_text, sap_moment, sap_time_text
from bridge.mapping.scalars import CACHEABLE_TEXT, TransformError, ascii_digits
from bridge.mapping.scalars import scalar_text as _text
from bridge.mapping.times import in_zone, parse_iso_date
from bridge.mapping.transforms import truth

__all__ = [
    "TRANSFORMS",
    "alpha",
    "alpha_pad",
    "flag_sap",
    "sap_date",
    "sap_datetime",
    "sap_flag",
    "to_sap_date",
    "to_sap_time",
]


def alpha(value: Any) -> str | None:
    """SAP ALPHA output: an all-digit key loses its leading zeros; other keys are trimmed.

    Only ASCII digits make a numeric key, as in SAP: a key with fullwidth or other non-ASCII
    digits (``０００１２``) is text and is kept as it is.

    YAML: ``order_id: {path: E1AFKOL.AUFNR, transform: alpha}`` (``000208277436`` -> ``208277436``)
    """
    text = _text(value)
    if text is None:
        return None
    if ascii_digits(text):
        return text.lstrip("0") or "0"
    return text


def alpha_pad(value: Any, *, length: int) -> str | None:
    """SAP ALPHA input: an all-digit key is left-padded with zeros to ``length``.

    Only ASCII digits make a numeric key (as in SAP): other keys, including ones with
    fullwidth digits, are kept as they are.

    YAML: ``ORDERID: {path: payload.order_id, transform: {name: alpha_pad, length: 12}}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) > length:
        raise TransformError(f"{text!r} is longer than {length} characters")
    return text.zfill(length) if ascii_digits(text) else text

def sap_flag(value: Any) -> bool:
    """SAP checkbox: ``X`` is true, blank or absent is false. YAML: ``{path: XCHPF, transform: sap_flag}``"""
    return truth(value)


def flag_sap(value: Any, *, true_value: str = "X", false_value: str | None = None) -> str | None:
    """A boolean as an SAP checkbox: true -> ``X`` (or ``true_value``), false -> absent
    (or ``false_value``).

    YAML: ``FIN_CONF: {path: payload.final, transform: {name: flag_sap, true_value: "1"}}``
    """
    if value is None:
        return false_value
    return true_value if sap_flag(value) else false_value

def sap_date(value: Any) -> str | None:
    """``YYYYMMDD`` to ISO ``YYYY-MM-DD``; ``00000000`` is absent.

    YAML: ``required_on: {path: BDTER, transform: sap_date}``
    """
    text = _text(value)
    if text is None:
        return None
    return _sap_date_iso(text) if len(text) <= CACHEABLE_TEXT else _sap_date_iso.__wrapped__(text)


@lru_cache(maxsize=4096)  # dates repeat across documents (today, the order's due date)
def _sap_date_iso(text: str) -> str | None:
    parsed = _sap_date(text)
    return parsed.isoformat() if parsed else None


def sap_datetime(date_value: Any, time_value: Any = None, *, tz: str = "UTC") -> str | None:
    """SAP date + time read in the source's zone to ISO 8601 with offset.

    ``00000000`` makes the result absent; ``240000`` is the end of that day (next day 00:00);
    a missing time is 00:00. ``tz`` defaults to the mapping's ``source.timezone``.
    ``99991231`` with ``240000`` is refused with a clear error: that moment (10000-01-01
    00:00) has no ISO 8601 timestamp, and any other rendering would change the value.

    YAML: ``planned_start: {transform: sap_datetime, args: [E1AFKOL.GSTRS, E1AFKOL.GSUZS]}``
    """
    text = _text(date_value)
    if text is None:
        return None
    return sap_moment(text, _text(time_value), tz)

def to_sap_date(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date or date-time (converted to ``tz``) as SAP ``YYYYMMDD``.

    YAML: ``POSTG_DATE: {path: payload.posting_date, transform: to_sap_date}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        return sap_date_text(parse_iso_date(text))
    return sap_date_text(in_zone(text, tz).date())

def to_sap_time(value: Any, *, tz: str = "UTC", separator: str = "") -> str | None:
    """An ISO date-time converted to ``tz``, as SAP ``HHMMSS`` (``HH:MM:SS`` with separator ":").

    SAP times hold whole seconds: a fraction of a second is not written.

    YAML: ``EXEC_FIN_TIME: {path: payload.finished_at, transform: {name: to_sap_time, separator: ":"}}``
    """
    text = _text(value)
    if text is None:
        return None
    return sap_time_text(in_zone(text, tz), separator)


#: name -> function, as mappings name them.
TRANSFORMS: dict[str, Callable[..., Any]] = {
    "alpha": alpha,
    "alpha_pad": alpha_pad,
    "sap_flag": sap_flag,
    "flag_sap": flag_sap,
    "sap_date": sap_date,
    "sap_datetime": sap_datetime,
    "to_sap_date": to_sap_date,
    "to_sap_time": to_sap_time,
}
