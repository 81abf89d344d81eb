"""SAP dates and times, ISO date-times and zone conversions: exact output or TransformError."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap import transforms as sap_t
from bridge.mapping import transforms as t
from bridge.mapping.transforms import TransformError

ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]


@pytest.mark.parametrize(
    ("day", "clock", "tz", "message"),
    [
        pytest.param("99991231", "240000", "Asia/Shanghai", "end of 9999-12-31", id="SAP valid-forever"),
        pytest.param("99991231", "24:00:00", "UTC", "end of 9999-12-31", id="valid-forever with colons"),
        pytest.param("20231211", "¹²0000", "UTC", r"'¹' \(SUPERSCRIPT ONE", id="superscript hours"),
        pytest.param("20231211", "０８００００", "UTC", "FULLWIDTH DIGIT ZERO", id="fullwidth time"),
        pytest.param("2023121²", "000000", "UTC", r"'²' \(SUPERSCRIPT TWO", id="superscript date"),
        pytest.param("２０２３１２１１", None, "UTC", "FULLWIDTH DIGIT TWO", id="fullwidth date, not 2023-12-11"),
        pytest.param("20231211", "240001", "UTC", "not a valid time", id="past the end of the day"),
        pytest.param("20230229", "000000", "UTC", "not a valid date", id="no leap day"),
    ],
)
def test_sap_datetime_refuses_what_it_cannot_represent_exactly(day, clock, tz, message):
    with pytest.raises(TransformError, match=message):
        sap_t.sap_datetime(day, clock, tz=tz)


@pytest.mark.parametrize(
    ("day", "clock", "tz", "expected"),
    [
        pytest.param("99991231", "235959", "Asia/Shanghai", "9999-12-31T23:59:59+08:00", id="last second"),
        pytest.param("99991230", "240000", "UTC", "9999-12-31T00:00:00+00:00", id="end of the day before"),
        pytest.param("00010101", "000000", "UTC", "0001-01-01T00:00:00+00:00", id="first day"),
        pytest.param("20231211", "08:00:00", "UTC", "2023-12-11T08:00:00+00:00", id="time with colons"),
    ],
)
def test_sap_datetime_reads_the_extremes_exactly(day, clock, tz, expected):
    assert sap_t.sap_datetime(day, clock, tz=tz) == expected


@pytest.mark.parametrize(
    ("func", "value", "tz", "message"),
    [
        pytest.param(sap_t.to_sap_date, "0001-01-01T00:00:00+14:00", "UTC", "outside the years 1 to 9999", id="to UTC"),
        pytest.param(t.to_iso_date, "0001-01-01T00:00:00+14:00", "UTC", "outside the years", id="iso date"),
        pytest.param(sap_t.to_sap_time, "0001-01-01T00:00:00+14:00", "UTC", "outside the years", id="sap time"),
        pytest.param(sap_t.to_sap_date, "9999-12-31T23:00:00-05:00", "Asia/Shanghai", "outside the years", id="year 10000"),
        pytest.param(sap_t.to_sap_date, "2023-12-11T08:00:00.1234567Z", "UTC", "7 fraction digits", id="nanoseconds"),
        pytest.param(sap_t.to_sap_date, "2023-12-11T24:00:00Z", "UTC", "not an ISO 8601", id="hour 24"),
        pytest.param(sap_t.to_sap_date, "２０２３-１２-１１T08:00:00Z", "UTC", "not an ISO 8601", id="fullwidth"),
    ],
)
def test_zone_conversions_of_extreme_moments_are_typed_errors(func, value, tz, message):
    with pytest.raises(TransformError, match=message):
        func(value, tz=tz)


@pytest.mark.parametrize(
    ("func", "value", "tz", "expected"),
    [
        pytest.param(sap_t.to_sap_date, "0001-01-01T12:00:00Z", "UTC", "00010101", id="year 1 has four digits"),
        pytest.param(sap_t.to_sap_date, "0001-01-01", "UTC", "00010101", id="a year-1 date"),
        pytest.param(sap_t.to_sap_date, "0999-06-01T00:00:00Z", "UTC", "09990601", id="year 999"),
        pytest.param(sap_t.to_sap_date, "9999-12-31T20:00:00Z", "Pacific/Kiritimati", None, id="into year 10000"),
        pytest.param(sap_t.to_sap_date, "9999-12-31T08:00:00Z", "Asia/Shanghai", "99991231", id="last day"),
        pytest.param(t.to_iso_date, "0001-01-01T23:00:00-05:00", "UTC", "0001-01-02", id="year 1 to UTC"),
        pytest.param(sap_t.to_sap_time, "0001-01-01T12:34:56Z", "UTC", "123456", id="year-1 time"),
    ],
)
def test_zone_conversions_of_extreme_moments_are_exact(func, value, tz, expected):
    if expected is None:
        with pytest.raises(TransformError, match="outside the years"):
            func(value, tz=tz)
    else:
        assert func(value, tz=tz) == expected


def test_a_separator_is_text_not_a_strftime_directive():
    assert sap_t.to_sap_time("2023-12-11T20:00:00Z", tz="Asia/Shanghai", separator="%") == "04%00%00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-12-11T08:00:00", "2023-12-11", id="date-time"),
        pytest.param("2023-12-11", "2023-12-11", id="date"),
        pytest.param("2023-12-11 08:00:00.000000000", "2023-12-11", id="zero nanoseconds"),
    ],
)
def test_iso_date_takes_the_date_of_a_valid_value(value, expected):
    assert t.iso_date(value) == expected


@pytest.mark.parametrize("value", ["2023-12-11garbage", "2023-12-11T25:00:00", "11.12.2023"])
def test_iso_date_refuses_a_value_that_is_not_iso_8601_as_a_whole(value):
    with pytest.raises(TransformError, match="ISO 8601"):
        t.iso_date(value)


@pytest.mark.parametrize("name", ["Asia", "", "../etc", "UTC\x00", "/etc/passwd", "a" * 300, "No/Such_Zone"])
def test_an_unknown_zone_is_a_transform_error_whatever_the_name(name):
    with pytest.raises(TransformError, match="unknown time zone"):
        t.resolve_timezone(name)


# --- properties -------------------------------------------------------------------------------

DIGITS = "0123456789０１２３４５６７８９¹²³٠١٢"


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=DIGITS, min_size=8, max_size=8),
    st.one_of(st.none(), st.text(alphabet=DIGITS + ":", min_size=0, max_size=8)),
    st.sampled_from(ZONES),
)
def test_property_sap_datetime_reads_ascii_digits_only(day, clock, tz):
    """Whatever the digits, the result is the exact moment of the ASCII reading or an error."""
    try:
        out = sap_t.sap_datetime(day, clock, tz=tz)
    except TransformError:
        return
    if out is None:  # SAP's empty date: no moment, whatever the time says
        assert set(day) == {"0"}
        return
    assert day.isascii()
    assert clock is None or clock.isascii()
    moment = datetime.fromisoformat(out)
    start = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    digits = (clock or "").replace(":", "")
    if digits == "240000":
        assert moment.date() == start + timedelta(days=1)
        assert moment.hour == 0
    else:
        assert moment.date() == start
        assert (moment.hour, moment.minute, moment.second) == (
            (int(digits[:2]), int(digits[2:4]), int(digits[4:])) if digits else (0, 0, 0)
        )


@settings(max_examples=400, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(-14 * 60, 14 * 60),
    st.sampled_from(ZONES),
)
def test_property_zone_conversions_are_exact_or_typed_errors(moment, offset_minutes, tz):
    instant = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = instant.isoformat()
    try:
        local = instant.astimezone(t.resolve_timezone(tz))
    except OverflowError:  # the instant has no date in that zone within the years 1 to 9999
        local = None
    if local is None:
        for func in (sap_t.to_sap_date, t.to_iso_date, sap_t.to_sap_time):
            with pytest.raises(TransformError, match="outside the years 1 to 9999"):
                func(text, tz=tz)
        return
    day = sap_t.to_sap_date(text, tz=tz)
    assert day == f"{local.year:04d}{local.month:02d}{local.day:02d}"
    assert len(day) == 8
    assert day.isascii()
    assert t.to_iso_date(text, tz=tz) == local.date().isoformat()
    assert sap_t.to_sap_time(text, tz=tz) == f"{local.hour:02d}{local.minute:02d}{local.second:02d}"


def test_the_moments_an_offset_can_push_past_year_9999_are_refused():
    assert sap_t.to_sap_date(datetime(9999, 12, 31, 23, 0, tzinfo=UTC).isoformat(), tz="UTC") == "99991231"
    with pytest.raises(TransformError, match="outside the years"):
        sap_t.to_sap_date(datetime(9999, 12, 31, 23, 0, tzinfo=UTC).isoformat(), tz="Asia/Shanghai")
