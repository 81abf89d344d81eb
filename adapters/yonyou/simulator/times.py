"""YonBIP's times: server-local (Asia/Shanghai) ``yyyy-MM-dd HH:mm:ss`` text in lists and details,
epoch milliseconds in some save replies, dates sent as ``yyyy-MM-dd`` or with a time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "Clock", "epoch_ms", "later", "now_text", "parse_when", "to_text"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
FORMAT = "%Y-%m-%d %H:%M:%S"
_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")
Clock = Callable[[], float]


def now_text(clock: Clock) -> str:
    return datetime.fromtimestamp(clock(), SHANGHAI).strftime(FORMAT)


def parse_when(value: Any) -> datetime | None:
    """``value`` as a naive server-local datetime when it is a date or date-time text."""
    if not isinstance(value, str) or not _WHEN.match(value.strip()):
        return None
    text = value.strip()
    date, _, time = text.partition(" ")
    time = (time.split(".")[0] + ":00:00")[:8] if time else "00:00:00"
    return datetime.strptime(f"{date} {time}", FORMAT)


def to_text(value: Any) -> str | None:
    """A date the client sent, as the server keeps it: ``2021-05-08`` -> ``2021-05-08 00:00:00``,
    epoch milliseconds -> server-local text; None when it is neither."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, SHANGHAI).strftime(FORMAT)
    when = parse_when(value)
    return when.strftime(FORMAT) if when else None


def epoch_ms(text: Any) -> Any:
    """Server-local text as epoch milliseconds (what some save replies echo); other values as they are."""
    when = parse_when(text)
    return int(when.replace(tzinfo=SHANGHAI).timestamp() * 1000) if when else text


def later(clock: Clock, previous: str | None) -> str:
    """Now, but never at or before ``previous`` (a document's last ``pubts``): a change is always
    seen by a poller asking from the previous pubts on."""
    now = now_text(clock)
    if previous and now <= previous:
        when = parse_when(previous)
        if when is not None:
            return (when + timedelta(seconds=1)).strftime(FORMAT)
    return now
