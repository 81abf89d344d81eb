"""ISO 8601 dates and date-times and time zones, read without a silent change.

Every failure, including a moment that leaves the years 1 to 9999 when converted to another
zone, is a :class:`~bridge.mapping.scalars.TransformError` naming the value. Vendor date
formats (SAP's ``YYYYMMDD``) live in their adapters.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.mapping.scalars import TransformError

__all__ = ["in_zone", "parse_iso", "parse_iso_date", "resolve_timezone"]


def resolve_timezone(name: str) -> tzinfo:
    """A ``ZoneInfo`` for an IANA name (``Asia/Shanghai``) or ``UTC``; TransformError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        # OSError: a folder of the zone database ("Asia") or an over-long name
        raise TransformError(f"unknown time zone {name!r}") from exc


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
