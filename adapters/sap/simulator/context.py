"""What a BAPI handler gets besides its parameters: the state, the system's settings and the
call's own facts (caller, whether the fault generator put a lock in its way)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.sap.simulator.messages import Message, message
from adapters.sap.simulator.state import SimState

__all__ = ["LOCK_USER", "CallContext", "SystemSettings", "default_open_periods", "parse_periods", "quantity", "today_iso"]

LOCK_USER = "BATCH01"


def default_open_periods(today: dt.date | None = None) -> tuple[str, ...]:
    """The current and the previous month, ``YYYY/MM``, current first."""
    today = today or dt.date.today()
    previous = (today.replace(day=1) - dt.timedelta(days=1))
    return (f"{today:%Y/%m}", f"{previous:%Y/%m}")


def parse_periods(text: str) -> tuple[str, ...]:
    """``2026/12,2026/11`` -> ``("2026/12", "2026/11")``; ValueError naming a bad period."""
    periods = tuple(p.strip() for p in text.split(",") if p.strip())
    for period in periods:
        year, _, month = period.partition("/")
        if not (year.isdigit() and len(year) == 4 and month.isdigit() and 1 <= int(month) <= 12 and len(month) == 2):
            raise ValueError(f"posting period {period!r} is not YYYY/MM")
    if not periods:
        raise ValueError("no posting period given")
    return periods


@dataclass
class SystemSettings:
    """Settings of the simulated system that handlers read."""

    open_periods: tuple[str, ...] = field(default_factory=default_open_periods)
    company_code: str = "1000"

    def period_closed(self, posting_date: str) -> Message | None:
        """E M7 053 when ``posting_date`` (YYYY-MM-DD) lies outside the open periods."""
        if posting_date[:7].replace("-", "/") in self.open_periods:
            return None
        shown = list(self.open_periods[:2]) * (2 if len(self.open_periods) == 1 else 1)
        (y1, m1), (y2, m2) = (p.split("/") for p in shown[:2])
        return message("E", "M7", "053", "Posting only possible in periods &1/&2 and &3/&4 in company code "
                       + self.company_code, y1, m1, y2, m2)


@dataclass
class CallContext:
    state: SimState
    settings: SystemSettings
    user: str = ""
    lock_drawn: bool = False  # the fault generator decided this posting meets a lock
    pause: Callable[[], None] = lambda: None  # the call's latency, spent while its orders are locked


def quantity(text: str) -> Decimal:
    return Decimal(text) if text else Decimal("0")


def today_iso() -> str:
    return dt.date.today().isoformat()
