"""SAP dates and times and ISO 8601 date-times, read and written without a silent change.

SAP writes dates as ``YYYYMMDD`` (``00000000``: no date) and times as ``HHMMSS``, where
``240000`` is the end of the day. Only ASCII digits are read: ``str.isdigit()`` also passes
superscripts (``²``) and ``int()`` reads fullwidth digits (``２``). Every failure, including a
moment that leaves the years 1 to 9999 when converted to another zone, is a
:class:`~bridge.mapping.scalars.TransformError` naming the value.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.mapping.scalars import CACHEABLE_TEXT, TransformError, ascii_digits, first_non_ascii_digit

__all__ = [
    "in_zone",
    "parse_iso",
    "parse_iso_date",
    "resolve_timezone",
    "sap_date",
    "sap_date_text",
    "sap_moment",
    "sap_time_text",
]

_SAP_EMPTY_DATES = {"00000000", ""}

# Dates and times repeat across documents (today's date, midnight): cache text -> value.
_CACHE_SIZE = 4096


def resolve_timezone(name: str) -> tzinfo:
    """A ``ZoneInfo`` for an IANA name (``Asia/Shanghai``) or ``UTC``; TransformError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        # OSError: a folder of the zone database ("Asia") or an over-long name
        raise TransformError(f"unknown time zone {name!r}") from exc


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


def parse_iso(text: str) -> datetime:
    """An ISO 8601 date-time (``T`` or blank between, offset or ``Z`` optional).

    More than six fraction digits are refused unless the extra ones are zeros: Python
    would cut them off without a word.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TransformError(f"{text!r} is not an ISO 8601 date-time") from exc
    if "." in text or "," in text:
        _check_fraction(text)
    return moment


def _check_fraction(text: str) -> None:
    for separator in ".,":
        _, found, rest = text.partition(separator)
        if not found:
            continue
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if rest[6:digits].strip("0"):
            raise TransformError(
                f"{text!r} has {digits} fraction digits; a time carries 6 (microseconds), "
                "so it would be cut"
            )


def parse_iso_date(text: str) -> date:
    """``YYYY-MM-DD`` (or another ISO 8601 date form Python reads) as a date."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise TransformError(f"{text!r} is not an ISO 8601 date") from exc


def in_zone(text: str, tz: str) -> datetime:
    """An ISO date-time in zone ``tz``: converted when it has an offset, else read in ``tz``."""
    moment = parse_iso(text)
    zone = resolve_timezone(tz)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(zone)
    except OverflowError:
        raise TransformError(f"{text!r} in {tz} falls outside the years 1 to 9999") from None


def sap_date_text(day: date) -> str:
    """``YYYYMMDD`` for any year 1..9999 (``strftime("%Y")`` writes year 1 as ``1`` on Linux)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def sap_time_text(moment: datetime, separator: str = "") -> str:
    """``HHMMSS`` (``HH:MM:SS`` with separator ``:``); the separator is text, never a format."""
    return f"{moment.hour:02d}{separator}{moment.minute:02d}{separator}{moment.second:02d}"
