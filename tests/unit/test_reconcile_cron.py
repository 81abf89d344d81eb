"""Cron schedules (bridge.reconcile.cron): parsing, next runs over month and year ends, leap
years, daylight-saving changes in Europe/Berlin and the DST-free Asia/Shanghai, every error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bridge.errors import ConfigError
from bridge.reconcile.cron import Cron

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def runs(expression: str, start: datetime, n: int) -> list[str]:
    cron = Cron.parse(expression)
    out, moment = [], start
    for _ in range(n):
        moment = cron.next_after(moment)
        out.append(moment.isoformat())
    return out


# ------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("expression", "minutes", "hours", "days", "months", "weekdays"),
    [
        ("* * * * *", range(60), range(24), range(1, 32), range(1, 13), range(7)),
        ("*/15 9-17 * * mon-fri", (0, 15, 30, 45), range(9, 18), range(1, 32), range(1, 13), (1, 2, 3, 4, 5)),
        ("0,30 8,12-14/2 1,15 jan,JUL *", (0, 30), (8, 12, 14), (1, 15), (1, 7), range(7)),
        ("5/20 * 1-31/10 */3 *", (5, 25, 45), range(24), (1, 11, 21, 31), (1, 4, 7, 10), range(7)),
        ("0 0 * * 7", (0,), (0,), range(1, 32), range(1, 13), (0,)),
        ("0 0 * * fri-sun", (0,), (0,), range(1, 32), range(1, 13), (0, 5, 6)),
        ("0 0 * * 0-7/2", (0,), (0,), range(1, 32), range(1, 13), (0, 2, 4, 6)),
        ("0 0 * * */2", (0,), (0,), range(1, 32), range(1, 13), (0, 2, 4, 6)),
        ("  59   23 31 dec   Sat  ", (59,), (23,), (31,), (12,), (6,)),
    ],
)
def test_fields_parse_to_their_values(
    expression: str, minutes: range, hours: range, days: range, months: range, weekdays: range
) -> None:
    cron = Cron.parse(expression)
    assert cron.minutes == tuple(minutes)
    assert cron.hours == tuple(hours)
    assert cron.days == frozenset(days)
    assert cron.months == tuple(months)
    assert cron.weekdays == frozenset(weekdays)
    assert str(cron) == expression.strip()


@pytest.mark.parametrize(
    ("nickname", "expression"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_nicknames_stand_for_their_expressions(nickname: str, expression: str) -> None:
    a, b = Cron.parse(nickname), Cron.parse(expression)
    assert (a.minutes, a.hours, a.days, a.months, a.weekdays) == (b.minutes, b.hours, b.days, b.months, b.weekdays)
    start = datetime(2024, 2, 27, 13, 7, tzinfo=UTC)
    assert runs(nickname, start, 3) == runs(expression, start, 3)


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # Vixie cron: the 1st and the 15th, and every Monday
    assert runs("0 0 1,15 * mon", datetime(2024, 1, 1, tzinfo=UTC), 6) == [
        "2024-01-08T00:00:00+00:00",
        "2024-01-15T00:00:00+00:00",
        "2024-01-22T00:00:00+00:00",
        "2024-01-29T00:00:00+00:00",
        "2024-02-01T00:00:00+00:00",
        "2024-02-05T00:00:00+00:00",
    ]


def test_day_fields_starting_with_a_star_are_both_required() -> None:
    # */2 starts with *: odd days that are Mondays (Vixie's DOM_STAR)
    assert runs("0 0 */2 * mon", datetime(2024, 1, 1, tzinfo=UTC), 3) == [
        "2024-01-15T00:00:00+00:00",
        "2024-01-29T00:00:00+00:00",
        "2024-02-05T00:00:00+00:00",
    ]
    assert runs("0 0 13 * *", datetime(2024, 1, 1, tzinfo=UTC), 1) == ["2024-01-13T00:00:00+00:00"]
    assert runs("0 0 * * fri", datetime(2024, 1, 1, tzinfo=UTC), 1) == ["2024-01-05T00:00:00+00:00"]


# ------------------------------------------------------------------------------------ next runs


def test_next_is_strictly_after_and_seconds_are_dropped() -> None:
    cron = Cron.parse("*/5 * * * *")
    assert cron.next_after(datetime(2024, 5, 1, 10, 5, tzinfo=UTC)) == datetime(2024, 5, 1, 10, 10, tzinfo=UTC)
    assert cron.next_after(datetime(2024, 5, 1, 10, 4, 59, 999, tzinfo=UTC)) == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)


def test_month_ends_and_the_31st() -> None:
    assert runs("0 6 31 * *", datetime(2024, 1, 31, 7, tzinfo=SHANGHAI), 4) == [
        "2024-03-31T06:00:00+08:00",
        "2024-05-31T06:00:00+08:00",
        "2024-07-31T06:00:00+08:00",
        "2024-08-31T06:00:00+08:00",
    ]
    assert runs("30 23 28-31 * *", datetime(2023, 2, 27, tzinfo=SHANGHAI), 3) == [
        "2023-02-28T23:30:00+08:00",
        "2023-03-28T23:30:00+08:00",
        "2023-03-29T23:30:00+08:00",
    ]


def test_year_end_rolls_over() -> None:
    assert runs("59 23 31 12 *", datetime(2023, 12, 31, 23, 59, tzinfo=SHANGHAI), 2) == [
        "2024-12-31T23:59:00+08:00",
        "2025-12-31T23:59:00+08:00",
    ]
    assert runs("0 0 * * *", datetime(2023, 12, 31, 12, tzinfo=SHANGHAI), 1) == ["2024-01-01T00:00:00+08:00"]


def test_leap_years_february_29th() -> None:
    assert runs("0 0 29 2 *", datetime(2023, 1, 1, tzinfo=BERLIN), 3) == [
        "2024-02-29T00:00:00+01:00",
        "2028-02-29T00:00:00+01:00",
        "2032-02-29T00:00:00+01:00",
    ]
    # 2100 is not a leap year: 2096 is followed by 2104
    assert runs("0 0 29 2 *", datetime(2096, 3, 1, tzinfo=UTC), 1) == ["2104-02-29T00:00:00+00:00"]
    # the last days of February, leap or not
    assert runs("0 12 28,29 feb *", datetime(2023, 2, 1, tzinfo=UTC), 4) == [
        "2023-02-28T12:00:00+00:00",
        "2024-02-28T12:00:00+00:00",
        "2024-02-29T12:00:00+00:00",
        "2025-02-28T12:00:00+00:00",
    ]


def test_result_is_in_the_zone_of_the_moment() -> None:
    cron = Cron.parse("0 8 * * *")
    # 08:00 in Shanghai is 00:00 UTC; asked with a UTC moment, the schedule is read in UTC
    after = cron.next_after(datetime(2024, 6, 1, 9, tzinfo=SHANGHAI))
    assert after.tzinfo is SHANGHAI
    assert after == datetime(2024, 6, 2, 8, tzinfo=SHANGHAI)
    assert cron.next_after(datetime(2024, 6, 1, 9, tzinfo=UTC)).isoformat() == "2024-06-02T08:00:00+00:00"
    fixed = timezone(timedelta(hours=-5))
    assert cron.next_after(datetime(2024, 6, 1, 9, tzinfo=fixed)).isoformat() == "2024-06-02T08:00:00-05:00"


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Cron.parse("* * * * *").next_after(datetime(2024, 1, 1))


def test_shanghai_has_no_dst_every_day_is_24_hours() -> None:
    cron = Cron.parse("30 2 * * *")
    moment = datetime(2024, 1, 1, tzinfo=SHANGHAI)
    seen = []
    for _ in range(366):
        moment = cron.next_after(moment)
        seen.append(moment)
    assert all(b - a == timedelta(days=1) for a, b in pairwise(seen))
    assert {m.utcoffset() for m in seen} == {timedelta(hours=8)}
    assert runs("*/30 * * * *", datetime(2024, 3, 31, 1, 45, tzinfo=SHANGHAI), 3) == [
        "2024-03-31T02:00:00+08:00",
        "2024-03-31T02:30:00+08:00",
        "2024-03-31T03:00:00+08:00",
    ]


# ---------------------------------------------------------------------- DST in Europe/Berlin
# 2024-03-31 02:00 CET -> 03:00 CEST (02:xx does not exist); 2024-10-27 03:00 CEST -> 02:00 CET


def test_spring_forward_every_so_often_skips_the_missing_hour() -> None:
    assert runs("*/30 * * * *", datetime(2024, 3, 31, 1, 0, tzinfo=BERLIN), 4) == [
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T03:30:00+02:00",
        "2024-03-31T04:00:00+02:00",
    ]
    # elapsed time between runs around the jump: 30 minutes, never a run that does not exist
    assert runs("45 * * * *", datetime(2024, 3, 31, 1, 0, tzinfo=BERLIN), 2) == [
        "2024-03-31T01:45:00+01:00",
        "2024-03-31T03:45:00+02:00",
    ]


def test_spring_forward_a_fixed_time_in_the_gap_runs_once_when_the_clocks_jump() -> None:
    assert runs("30 2 * * *", datetime(2024, 3, 30, 3, 0, tzinfo=BERLIN), 3) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
        "2024-04-02T02:30:00+02:00",
    ]
    # several fixed times in the gap: still one run at the jump
    assert runs("0,15,30 2 * * *", datetime(2024, 3, 31, 1, 0, tzinfo=BERLIN), 2) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:00:00+02:00",
    ]


def test_fall_back_every_so_often_runs_in_both_passes() -> None:
    assert runs("0 * * * *", datetime(2024, 10, 27, 0, 30, tzinfo=BERLIN), 5) == [
        "2024-10-27T01:00:00+02:00",
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T03:00:00+01:00",
        "2024-10-27T04:00:00+01:00",
    ]
    got = [datetime.fromisoformat(s) for s in runs("*/20 * * * *", datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN), 9)]
    assert [b - a for a, b in pairwise(got)] == [timedelta(minutes=20)] * 8


def test_fall_back_from_inside_the_repeated_hour() -> None:
    cron = Cron.parse("10 * * * *")
    first_pass = datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN)  # fold=0: CEST
    assert cron.next_after(first_pass).isoformat() == "2024-10-27T02:10:00+01:00"
    assert cron.next_after(first_pass).fold == 1
    second_pass = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN)
    assert cron.next_after(second_pass).isoformat() == "2024-10-27T03:10:00+01:00"
    # asked with the equivalent UTC instants, the answers are the same instants
    assert cron.next_after(first_pass.astimezone(UTC).astimezone(BERLIN)) == cron.next_after(first_pass)


def test_fall_back_a_fixed_time_runs_in_the_first_pass_only() -> None:
    assert runs("30 2 * * *", datetime(2024, 10, 26, 3, 0, tzinfo=BERLIN), 3) == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
        "2024-10-29T02:30:00+01:00",
    ]
    second_pass = datetime(2024, 10, 27, 2, 10, fold=1, tzinfo=BERLIN)
    assert Cron.parse("30 2 * * *").next_after(second_pass).isoformat() == "2024-10-28T02:30:00+01:00"


def test_runs_are_strictly_increasing_over_a_berlin_year() -> None:
    for expression in ("*/15 * * * *", "30 2 * * *", "0 * * * *", "0 1-3 * * *"):
        cron = Cron.parse(expression)
        moment = datetime(2024, 1, 1, tzinfo=BERLIN)
        end = datetime(2025, 1, 1, tzinfo=BERLIN)
        count = 0
        while moment.astimezone(UTC) < end.astimezone(UTC):
            after = cron.next_after(moment)
            # in UTC: Python compares two times of one tzinfo by wall clock, ignoring fold
            assert after.astimezone(UTC) > moment.astimezone(UTC), (expression, moment)
            moment = after
            count += after.astimezone(UTC) < end.astimezone(UTC)
        if expression == "30 2 * * *":
            assert count == 366  # every day once, the day of the jump included
        if expression == "0 * * * *":
            assert count == 366 * 24 - 1  # every hour of the leap year after the first midnight


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field '61': 61 is out of 0-59"),
        ("* 24 * * *", "hour field '24': 24 is out of 0-23"),
        ("* * 0 * *", "day-of-month field '0': 0 is out of 1-31"),
        ("* * 32 * *", "day-of-month field '32': 32 is out of 1-31"),
        ("* * * 13 *", "month field '13': 13 is out of 1-12"),
        ("* * * 0 *", "month field '0': 0 is out of 1-12"),
        ("* * * * 8", "day-of-week field '8': 8 is out of 0-7"),
        ("1,61 * * * *", "minute field '1,61': 61 is out of 0-59"),
        ("50-70 * * * *", "minute field '50-70': 70 is out of 0-59"),
        ("x * * * *", "minute field 'x': 'x' is not a number"),
        ("* mon * * *", "hour field 'mon': 'mon' is not a number"),
        ("* * * foo *", "month field 'foo': 'foo' is not a number or a month name (jan-dec)"),
        ("* * * * funday", "day-of-week field 'funday': 'funday' is not a number or a day name (sun-sat)"),
        ("* * * * jan", "day-of-week field 'jan': 'jan' is not a number or a day name (sun-sat)"),
        ("-5 * * * *", "minute field '-5': '' is not a number"),
        ("5-2 * * * *", "minute field '5-2': range 5-2 is reversed"),
        ("* * * dec-jan *", "month field 'dec-jan': range dec-jan is reversed"),
        ("*/0 * * * *", "minute field '*/0': step 0 is out of 1-59"),
        ("*/60 * * * *", "minute field '*/60': step 60 is out of 1-59"),
        ("* */24 * * *", "hour field '*/24': step 24 is out of 1-23"),
        ("* * * * */7", "day-of-week field '*/7': step 7 is out of 1-6"),
        ("*/x * * * *", "minute field '*/x': step 'x' is not a number"),
        ("*/ * * * *", "minute field '*/': step '' is not a number"),
        ("1,,2 * * * *", "minute field '1,,2': empty list item"),
        ("1, * * * *", "minute field '1,': empty list item"),
        ("? * * * *", "minute field '?': '?' is not a number"),
        ("* * *", "cron expression '* * *': expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
        ("* * * * * *", "cron expression '* * * * * *': expected 5 fields (minute hour day-of-month month "
                        "day-of-week), got 6"),
        ("", "cron expression '': expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        ("@reboot", "cron expression '@reboot': unknown nickname (use @yearly, @monthly, @weekly, @daily or @hourly)"),
        ("0 0 30 2 *", "day-of-month field '30': no such day in month field '2', the job would never run"),
        ("0 0 31 apr,jun,sep,nov *", "day-of-month field '31': no such day in month field 'apr,jun,sep,nov', "
                                     "the job would never run"),
    ],
)
def test_errors_name_the_field_and_the_bad_value(expression: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Cron.parse(expression)
    assert str(caught.value) == message


def test_impossible_day_of_month_is_fine_when_day_of_week_may_match_instead() -> None:
    # OR rule: Feb 30 never comes, but Mondays in February do
    assert runs("0 0 30 2 mon", datetime(2024, 1, 1, tzinfo=UTC), 1) == ["2024-02-05T00:00:00+00:00"]


def test_control_characters_in_a_bad_value_stay_on_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        Cron.parse("1\x1b[2J * * * *")
    assert "\x1b" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_non_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be text"):
        Cron.parse(5)  # type: ignore[arg-type]
