"""Mapping transforms for YonBIP values: its two ways of writing a time, and a sum.

YonBIP writes a moment as wall-clock text in the tenant's zone (``"2021-03-24 11:40:13"``,
``"2021-02-23 00:00:00.000"``, a date alone ``"2021-05-08"``) or, in the echo of a write, as
epoch milliseconds (``1620614915000`` as a JSON number, ``"1618811946000"`` as text). Both are
read here, exactly, with ASCII digits only; a value wrapped in a second pair of quotes
(``"\\"2021-09-29 00:00:00\\""``, as the batch-number save reply writes it) is read as the
text inside. Epoch milliseconds have 13 digits (2001-09-09 to 2286-11-20); other digit strings
(``20210324``, epoch seconds) are refused rather than guessed at. Every failure is a
:class:`~bridge.mapping.scalars.TransformError` naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

from bridge.canonical.types import MAX_DECIMAL_PLAIN_DIGITS
from bridge.mapping.numbers import canonical_number, read_number
from bridge.mapping.scalars import SCALAR_TYPES, TransformError, not_a_field
from bridge.mapping.times import in_zone, parse_iso_date, resolve_timezone

__all__ = [
    "TRANSFORMS",
    "read_moment",
    "yonyou_add",
    "yonyou_date",
    "yonyou_datetime",
    "yonyou_format_datetime",
]

_TEXT = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[ T](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<ms>[0-9]{1,3}))?)?)?"
)
_EPOCH_MS = re.compile(r"[0-9]{13}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Sums are exact: far more digits than two canonical numbers have, and Inexact is an error.
_SUM = Context(prec=2 * MAX_DECIMAL_PLAIN_DIGITS + 4, traps=[Inexact, InvalidOperation])


def _raw_text(value: Any) -> str | None:
    """The value as trimmed text (a JSON number as its digits), outer quotes removed; None if blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TransformError(f"{value!r} is not a date or time")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):  # 1.6205760E+12: a JSON number with an exponent
        if not value.is_finite() or value.adjusted() > 20 or value != value.to_integral_value():
            raise TransformError(f"{value} is not a whole number of epoch milliseconds")
        return format(value.to_integral_value(), "f")
    if not isinstance(value, SCALAR_TYPES):
        raise TransformError(not_a_field(value))
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text or None


def read_moment(value: Any, tz: str) -> datetime | None:
    """A YonBIP time as an aware datetime in zone ``tz``: wall-clock text is read in ``tz``,
    epoch milliseconds are converted to it. None when the value is absent.

    Raises:
        TransformError: anything else (the message names the value and the forms accepted).
    """
    text = _raw_text(value)
    if text is None:
        return None
    zone = resolve_timezone(tz)
    if _EPOCH_MS.fullmatch(text):
        try:
            return (_EPOCH + timedelta(milliseconds=int(text))).astimezone(zone)
        except OverflowError:
            raise TransformError(f"{text!r} in {tz} falls outside the years 1 to 9999") from None
    found = _TEXT.fullmatch(text)
    if found is None:
        shown = repr(text) if len(text) <= 48 else f"{text[:24]!r}... ({len(text)} characters)"
        raise TransformError(
            f"{shown} is not a YonBIP time (yyyy-MM-dd HH:mm:ss, yyyy-MM-dd or 13-digit epoch milliseconds)"
        )
    parts = {k: int(v) if v else 0 for k, v in found.groupdict().items() if k != "ms"}
    millis = int((found["ms"] or "0").ljust(3, "0"))
    try:
        moment = datetime(
            parts["y"], parts["mo"], parts["d"], parts["h"], parts["mi"], parts["s"], millis * 1000
        )
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a valid date or time: {exc}") from None
    return moment.replace(tzinfo=zone)


def yonyou_datetime(value: Any, *, tz: str = "UTC") -> str | None:
    """A YonBIP time (wall-clock text or epoch milliseconds) as ISO 8601 with offset; text is
    read in ``tz`` (the source's zone by default).

    YAML: ``planned_start: {path: startDate, transform: yonyou_datetime}``
    (``"2021-03-24 00:00:00"`` -> ``"2021-03-24T00:00:00+08:00"``; ``1620576000000`` ->
    ``"2021-05-10T00:00:00+08:00"``)
    """
    moment = read_moment(value, tz)
    return moment.isoformat() if moment is not None else None


def yonyou_date(value: Any, *, tz: str = "UTC") -> str | None:
    """The date of a YonBIP time in ``tz``, as ``YYYY-MM-DD``: the date written in the text,
    or the local date of epoch milliseconds.

    YAML: ``expires_on: {path: invaliddate, transform: yonyou_date}``
    """
    moment = read_moment(value, tz)
    return moment.date().isoformat() if moment is not None else None


def yonyou_format_datetime(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date or date-time as YonBIP writes a time, ``yyyy-MM-dd HH:mm:ss`` in ``tz``
    (converted when it has an offset; a date alone is its midnight).

    YAML: ``vouchdate: {path: payload.posting_date, transform: yonyou_format_datetime}``
    """
    text = _raw_text(value)
    if text is None:
        return None
    if len(text) == 10:
        day: date = parse_iso_date(text)
        return f"{day.isoformat()} 00:00:00"
    return in_zone(text, tz).strftime("%Y-%m-%d %H:%M:%S")


def yonyou_add(*values: Any) -> str | None:
    """The exact sum of the present numbers, as a canonical decimal; absent when all are.

    YAML: ``quantity: {transform: yonyou_add, args: [payload.yield_quantity.value, payload.scrap_quantity.value]}``
    """
    total: Decimal | None = None
    for value in values:
        found = read_number(value)
        if found is None:
            continue
        try:
            total = found[0] if total is None else _SUM.add(total, found[0])
        except (Inexact, InvalidOperation):
            raise TransformError(f"the sum of {values!r} cannot be carried exactly") from None
    return None if total is None else canonical_number(total)


TRANSFORMS: dict[str, Callable[..., Any]] = {
    "yonyou_add": yonyou_add,
    "yonyou_date": yonyou_date,
    "yonyou_datetime": yonyou_datetime,
    "yonyou_format_datetime": yonyou_format_datetime,
}
