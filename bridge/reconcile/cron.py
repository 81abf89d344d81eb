"""Cron schedules for reconciliation jobs: the standard five fields, in the plant's local time.

``minute hour day-of-month month day-of-week``, each ``*``, a number, a range ``1-5``, a step
``*/15``, ``1-30/5`` or ``5/15`` (from 5 to the end), or a comma list of these; months and days
may be named (``jan``-``dec``, ``sun``-``sat``, any case; ``mon-fri``, ``fri-sun``); day-of-week
7 is Sunday, as 0 is. ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) and ``@hourly`` stand for their usual expressions.

Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither field starts
with ``*``) a day matches if *either* does (``0 0 1 * mon``: the 1st and every Monday); otherwise
both must (``0 0 */2 * mon``: odd days that are Mondays).

Times are wall-clock times in the zone of the moment given to :meth:`Cron.next_after` (a
``zoneinfo`` zone). Around daylight-saving changes, also as Vixie cron does, a schedule whose
minute or hour field starts with ``*`` ("every so often") keeps its rhythm, while a fixed-time
schedule ("at 02:30") runs once a day:

* spring forward (Europe/Berlin, 02:00 -> 03:00): wall times in the skipped hour do not exist.
  Every-so-often schedules skip them; a fixed-time schedule runs once at the moment the clocks
  jump (03:00 local), so a daily 02:30 job still runs that day.
* fall back (03:00 -> 02:00): wall times in the repeated hour happen twice. Every-so-often
  schedules run in both passes (``0 * * * *`` at 02:00 CEST and at 02:00 CET); a fixed-time
  schedule runs in the first pass only.

Expressions that can never run (``0 0 30 2 *``) and every malformed field raise
:class:`~bridge.errors.ConfigError` naming the field and the bad value.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from bridge.errors import ConfigError, shown

__all__ = ["Cron"]

_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_NAMES = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAY_NAMES = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_NUMBER = re.compile(r"[0-9]{1,9}")
#: The longest a clock is ever set back (Lord Howe 30 min, Troll 2 h): how far back a search looks.
_MAX_SHIFT = timedelta(hours=3)
_SEARCH_YEARS = 400  # the Gregorian cycle: every date falls on every weekday within it
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February as in a leap year


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    kind: str = ""  # what a name is, for messages


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, "month name (jan-dec)"),
    _Field("day-of-week", 0, 7, _DAY_NAMES, "day name (sun-sat)"),
)


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression (make one with :meth:`parse`).

    Attributes:
        text: the expression as written.
        minutes, hours, days, months, weekdays: the values each field allows (weekdays 0-6,
            0 = Sunday).
        days_star, weekdays_star: the field starts with ``*`` (Vixie's day-matching rule).
        rhythmic: the minute or hour field starts with ``*`` (how DST changes are handled).
    """

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]
    days_star: bool
    weekdays_star: bool
    rhythmic: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse a five-field expression or an ``@nickname``.

        Raises:
            ConfigError: wrong number of fields, a bad field (named, with its value), an unknown
                nickname, or a schedule that never runs.
        """
        if not isinstance(text, str):
            raise ConfigError(f"cron expression must be text, not {type(text).__name__}")
        expression = text.strip()
        if expression.startswith("@"):
            if expression.lower() not in _NICKNAMES:
                raise ConfigError(
                    f"cron expression '{shown(expression)}': unknown nickname "
                    "(use @yearly, @monthly, @weekly, @daily or @hourly)"
                )
            expression = _NICKNAMES[expression.lower()]
        parts = expression.split()
        if len(parts) != len(_FIELDS):
            raise ConfigError(
                f"cron expression '{shown(text)}': expected 5 fields "
                f"(minute hour day-of-month month day-of-week), got {len(parts)}"
            )
        minutes, hours, days, months, weekdays = (
            _parse_field(spec, part) for spec, part in zip(_FIELDS, parts, strict=True)
        )
        weekdays = {0 if day == 7 else day for day in weekdays}
        cron = cls(
            text=text.strip(),
            minutes=tuple(sorted(minutes)),
            hours=tuple(sorted(hours)),
            days=frozenset(days),
            months=tuple(sorted(months)),
            weekdays=frozenset(weekdays),
            days_star=parts[2].startswith("*"),
            weekdays_star=parts[4].startswith("*"),
            rhythmic=parts[0].startswith("*") or parts[1].startswith("*"),
        )
        if cron._days_and_weekdays() and not any(
            day <= _DAYS_IN_MONTH[month - 1] for month in cron.months for day in cron.days
        ):
            raise ConfigError(
                f"day-of-month field '{shown(parts[2])}': no such day in month field "
                f"'{shown(parts[3])}', the job would never run"
            )
        return cron

    def __str__(self) -> str:
        return self.text

    # ----------------------------------------------------------------------------- matching

    def _days_and_weekdays(self) -> bool:
        """Both day fields must match (one starts with ``*``); else either suffices."""
        return self.days_star or self.weekdays_star

    def _day_matches(self, day: date) -> bool:
        in_month = day.day in self.days
        in_week = day.isoweekday() % 7 in self.weekdays
        return (in_month and in_week) if self._days_and_weekdays() else (in_month or in_week)

    def _next_wall(self, after: datetime) -> datetime:
        """The first matching wall time (naive, whole minute) strictly after ``after``."""
        t = after.replace(second=0, microsecond=0, fold=0) + timedelta(minutes=1)
        last_year = after.year + _SEARCH_YEARS
        while t.year <= last_year:
            if t.month not in self.months:
                i = bisect_left(self.months, t.month)
                t = (
                    datetime(t.year, self.months[i], 1)
                    if i < len(self.months)
                    else datetime(t.year + 1, self.months[0], 1)
                )
                continue
            if not self._day_matches(t.date()):
                t = datetime.combine(t.date() + timedelta(days=1), datetime.min.time())
                continue
            if t.hour not in self.hours:
                i = bisect_left(self.hours, t.hour)
                if i == len(self.hours):
                    t = datetime.combine(t.date() + timedelta(days=1), datetime.min.time())
                else:
                    t = t.replace(hour=self.hours[i], minute=0)
                continue
            i = bisect_left(self.minutes, t.minute)
            if i == len(self.minutes):
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            return t.replace(minute=self.minutes[i])
        raise ConfigError(f"cron expression '{shown(self.text)}' matches no time within {_SEARCH_YEARS} years")

    # ----------------------------------------------------------------------------- next run

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` the schedule runs, in ``moment``'s zone.

        Args:
            moment: a timezone-aware datetime; its ``tzinfo`` (a ``zoneinfo`` zone, the
                plant's) gives the wall clock the fields are read on.

        Returns:
            An aware datetime with the same ``tzinfo`` (``fold`` set in a repeated hour). Compare
            such times in UTC: Python compares two datetimes of one ``tzinfo`` by their wall
            clocks and ignores ``fold``, so 02:00 of the second pass sorts before 02:45 of the first.

        Raises:
            ValueError: ``moment`` is naive.
        """
        zone = moment.tzinfo
        if zone is None or moment.utcoffset() is None:
            raise ValueError(f"Cron.next_after needs a timezone-aware datetime, got {moment.isoformat()}")
        now = moment.astimezone(UTC)
        # a clock set back within _MAX_SHIFT repeats wall times before moment's own: look back that far
        rewind = max(timedelta(0), _offset(zone, now) - _offset(zone, now + _MAX_SHIFT))
        wall = moment.replace(tzinfo=None, fold=0) - rewind - timedelta(minutes=1)
        best: datetime | None = None
        best_wall = wall
        while True:
            wall = self._next_wall(wall)
            if best is not None and (wall - best_wall > _MAX_SHIFT or not _repeated(wall, zone)):
                return best.astimezone(zone)
            for instant, second_pass in self._instants(wall, zone):
                if instant > now and (best is None or instant < best):
                    best, best_wall = instant, wall
                    if not second_pass:  # first-pass instants come in wall order: none later is earlier
                        return best.astimezone(zone)

    def _instants(self, wall: datetime, zone: tzinfo) -> list[tuple[datetime, bool]]:
        """The UTC instants a matching wall time stands for, each flagged if it is a second pass."""
        first = wall.replace(tzinfo=zone, fold=0)
        second = wall.replace(tzinfo=zone, fold=1)
        first_utc, second_utc = first.astimezone(UTC), second.astimezone(UTC)
        if first_utc == second_utc:
            return [(first_utc, False)]
        if first_utc.astimezone(zone).replace(tzinfo=None) != wall:  # in a gap: it never shows
            return [] if self.rhythmic else [(_gap_end(zone, second_utc, first_utc), False)]
        if self.rhythmic:
            return [(first_utc, False), (second_utc, True)]
        return [(first_utc, False)]


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _repeated(wall: datetime, zone: tzinfo) -> bool:
    """The wall time occurs twice (the hour after clocks are set back)."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and first.astimezone(UTC).astimezone(zone).replace(
        tzinfo=None
    ) == wall


def _gap_end(zone: tzinfo, low: datetime, high: datetime) -> datetime:
    """The instant the clocks jumped, between ``low`` (old offset) and ``high`` (new offset), UTC."""
    before = _offset(zone, low)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _parse_field(spec: _Field, text: str) -> set[int]:
    where = f"{spec.name} field '{shown(text)}'"
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ConfigError(f"{where}: empty list item")
        body, slash, step_text = item.partition("/")
        star_high = 6 if spec.name == "day-of-week" else spec.high
        if body == "*":
            low, high = spec.low, star_high
        elif "-" in body:
            start, _, end = body.partition("-")
            low, high = _value(spec, where, start), _value(spec, where, end)
            if spec.name == "day-of-week" and high == 0 and low > 0:
                high = 7  # fri-sun
            if low > high:
                raise ConfigError(f"{where}: range {start}-{end} is reversed")
        else:
            low = _value(spec, where, body)
            high = star_high if slash else low
        step = 1
        if slash:
            if not _NUMBER.fullmatch(step_text):
                raise ConfigError(f"{where}: step '{shown(step_text)}' is not a number")
            step = int(step_text)
            widest = star_high - spec.low
            if not 1 <= step <= widest:
                raise ConfigError(f"{where}: step {step} is out of 1-{widest}")
        values.update(range(low, high + 1, step))
    return values


def _value(spec: _Field, where: str, text: str) -> int:
    if _NUMBER.fullmatch(text):
        number = int(text)
        if not spec.low <= number <= spec.high:
            raise ConfigError(f"{where}: {number} is out of {spec.low}-{spec.high}")
        return number
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    what = f"a number or a {spec.kind}" if spec.kind else "a number"
    raise ConfigError(f"{where}: '{shown(text)}' is not {what}")
