"""SAP dates and times, read and written without a silent change.

SAP writes dates as ``YYYYMMDD`` (``00000000``: no date) and times as ``HHMMSS``, where
``240000`` is the end of the day. Only ASCII digits are read: ``str.isdigit()`` also passes
superscripts (``²``) and ``int()`` reads fullwidth digits (``２``). Every failure is a
:class:`~bridge.mapping.scalars.TransformError` naming the value.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from bridge.mapping.scalars import CACHEABLE_TEXT, TransformError, ascii_digits, first_non_ascii_digit
from bridge.mapping.times import resolve_timezone

__all__ = ["sap_date", "sap_date_text", "sap_moment", "sap_time_text"]

_SAP_EMPTY_DATES = {"00000000", ""}

# Dates and times repeat across documents (today's date, midnight): cache text -> value.
_CACHE_SIZE = 4096


def _digits_hint(text: str) -> str:
    digit = first_non_ascii_digit(text)
    return f": {digit} is not an ASCII digit 0-9" if digit else ""


def sap_date(text: str) -> date | None:
    """``YYYYMMDD`` as a date; None for SAP's empty date (all zeros)."""
    if text in _SAP_EMPTY_DATES or set(text) == {"0"}:
        return None
    if len(text) != 8 or not ascii_digits(text):
        raise TransformError(f"{text!r} is not an SAP date (YYYYMMDD){_digits_hint(text)}")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a valid date: {exc}") from exc


def _sap_time(text: str | None) -> tuple[time, int]:
    """(time of day, extra days): ``240000`` is the end of the day, i.e. next day 00:00."""
    if text is None or text == "":
        return time(0, 0), 0
    clock = text.replace(":", "")
    if len(clock) != 6 or not ascii_digits(clock):
        raise TransformError(f"{text!r} is not an SAP time (HHMMSS){_digits_hint(text)}")
    if clock == "240000":
        return time(0, 0), 1
    try:
        return time(int(clock[:2]), int(clock[2:4]), int(clock[4:])), 0
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a valid time: {exc}") from exc


def sap_moment(date_text: str, time_text: str | None, tz: str) -> str | None:
    """SAP date + time read in zone ``tz``, as ISO 8601 with offset (see :func:`_sap_moment`)."""
    if len(date_text) > CACHEABLE_TEXT or (time_text is not None and len(time_text) > CACHEABLE_TEXT):
        return _sap_moment.__wrapped__(date_text, time_text, tz)
    return _sap_moment(date_text, time_text, tz)


@lru_cache(maxsize=_CACHE_SIZE)
def _sap_moment(date_text: str, time_text: str | None, tz: str) -> str | None:
    """SAP date + time read in zone ``tz``, as ISO 8601 with offset; None for an empty date.

    ``99991231`` + ``240000`` (SAP's "valid forever") is refused: its moment is
    10000-01-01 00:00, which neither an ISO 8601 timestamp with four-digit years nor the
    canonical model can carry. Writing 9999-12-31T23:59:59 instead, or the same instant with
    another offset, would silently change the value or the zone, so the mapping has to say
    what it means (e.g. ``when: {path: GLTRS, not_equals: "99991231"}``).
    """
    day = sap_date(date_text)
    if day is None:
        return None
    clock, extra_days = _sap_time(time_text)
    if extra_days:
        if day == date.max:
            raise TransformError(
                f"{date_text} {time_text} is the end of 9999-12-31, i.e. 10000-01-01 00:00, beyond the "
                "last moment a timestamp can carry; map SAP's 'valid forever' explicitly"
            )
        day += timedelta(days=extra_days)
    return datetime.combine(day, clock, resolve_timezone(tz)).isoformat()


def sap_date_text(day: date) -> str:
    """``YYYYMMDD`` for any year 1..9999 (``strftime("%Y")`` writes year 1 as ``1`` on Linux)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def sap_time_text(moment: datetime, separator: str = "") -> str:
    """``HHMMSS`` (``HH:MM:SS`` with separator ``:``); the separator is text, never a format."""
    return f"{moment.hour:02d}{separator}{moment.minute:02d}{separator}{moment.second:02d}"
