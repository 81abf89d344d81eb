"""The named transforms: SAP value conventions, dates, decimals, flags."""

from __future__ import annotations

import pytest

from adapters.sap import transforms as sap_t
from bridge.mapping import transforms as t
from bridge.mapping.transforms import TransformError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("000208277436", "208277436", id="all-digit key loses leading zeros"),
        pytest.param("0000", "0", id="all zeros keeps one zero"),
        pytest.param("D2O_VALVE ", "D2O_VALVE", id="other keys are trimmed, case kept"),
        pytest.param("00A1", "00A1", id="mixed keys keep their zeros"),
        pytest.param(None, None, id="absent stays absent"),
    ],
)
def test_alpha_strips_zeros_of_all_digit_keys_only(raw, expected):
    assert sap_t.alpha(raw) == expected


def test_alpha_pad_pads_digits_and_refuses_overlong_keys():
    assert sap_t.alpha_pad("208277436", length=12) == "000208277436"
    assert sap_t.alpha_pad("R1CH01007", length=18) == "R1CH01007"
    with pytest.raises(TransformError, match="longer than 12"):
        sap_t.alpha_pad("1234567890123", length=12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("1.000", "1", id="trailing zeros go"),
        pytest.param("12.500-", "-12.5", id="SAP trailing minus"),
        pytest.param("1.000000000000000E+01", "10", id="E-notation"),
        pytest.param("200", "200", id="no exponent form for whole numbers"),
        pytest.param("-2.000", "-2", id="normalised negative"),
        pytest.param(" 3560.1 ", "3560.1", id="blanks around"),
        pytest.param("0.000", "0", id="zero"),
        pytest.param("", None, id="empty is absent"),
    ],
)
def test_decimal_reads_sap_number_conventions(raw, expected):
    assert t.decimal(raw) == expected


@pytest.mark.parametrize("raw", ["1,5", "abc", "1.2.3", "--1"])
def test_decimal_rejects_what_is_not_a_number(raw):
    with pytest.raises(TransformError, match="is not a number"):
        t.decimal(raw)


def test_decimal_fixed_writes_sap_quantities():
    assert t.decimal_fixed("3", places=3) == "3.000"
    assert t.decimal_fixed("-2.5", places=3, trailing_minus=True) == "2.500-"


def test_sap_date_treats_zero_dates_as_absent():
    assert sap_t.sap_date("20231211") == "2023-12-11"
    assert sap_t.sap_date("00000000") is None
    with pytest.raises(TransformError, match="not a valid date"):
        sap_t.sap_date("20231345")


@pytest.mark.parametrize(
    ("day", "clock", "tz", "expected"),
    [
        pytest.param("20231211", "002941", "Asia/Shanghai", "2023-12-11T00:29:41+08:00", id="zone applied"),
        pytest.param("20231204", "240000", "UTC", "2023-12-05T00:00:00+00:00", id="240000 is end of day"),
        pytest.param("20231204", None, "UTC", "2023-12-04T00:00:00+00:00", id="no time is midnight"),
        pytest.param("00000000", "000000", "UTC", None, id="zero date is absent"),
        pytest.param("20230701", "120000", "Europe/Berlin", "2023-07-01T12:00:00+02:00", id="summer time"),
    ],
)
def test_sap_datetime_reads_date_and_time_in_the_source_zone(day, clock, tz, expected):
    assert sap_t.sap_datetime(day, clock, tz=tz) == expected


def test_sap_datetime_rejects_a_bad_time():
    with pytest.raises(TransformError, match="HHMMSS"):
        sap_t.sap_datetime("20231211", "2941", tz="UTC")


def test_iso_datetime_with_and_without_zone():
    assert t.iso_datetime("2023-12-11 08:00:00", tz="Asia/Shanghai") == "2023-12-11T08:00:00+08:00"
    assert t.iso_datetime("2023-12-11T00:00:00Z") == "2023-12-11T00:00:00+00:00"
    assert t.iso_datetime("2023-12-11T08:00:00+01:00", tz="Asia/Shanghai") == "2023-12-11T08:00:00+01:00"
    with pytest.raises(TransformError, match="ISO 8601"):
        t.iso_datetime("11.12.2023")


def test_conversions_to_sap_dates_and_times_use_the_target_zone():
    assert sap_t.to_sap_date("2023-12-11T20:00:00Z", tz="Asia/Shanghai") == "20231212"
    assert t.to_iso_date("2023-12-11T20:00:00Z", tz="Asia/Shanghai") == "2023-12-12"
    assert sap_t.to_sap_time("2023-12-11T20:00:00Z", tz="Asia/Shanghai", separator=":") == "04:00:00"


def test_flags_both_ways():
    assert sap_t.sap_flag("X") is True
    assert sap_t.sap_flag("") is False
    assert sap_t.sap_flag(None) is False
    with pytest.raises(TransformError, match="not a flag"):
        sap_t.sap_flag("/")
    assert sap_t.flag_sap(True, true_value="1") == "1"
    assert sap_t.flag_sap(False) is None


def test_text_transforms():
    assert t.upper("ea") == "EA"
    assert t.lower("EN") == "en"
    assert t.concat("A", None, "B", separator="-") == "A-B"
    assert t.template("1", None, format="{0}/{1}") == "1/"
    assert t.truncate("abcdef", length=3) == "abc"
    assert t.default(None, value_if_absent="0001") == "0001"
    with pytest.raises(TransformError, match="required"):
        t.required("")


def test_every_transform_documents_a_yaml_example():
    for name, func in t.all_transforms().items():
        assert func.__doc__, name
        assert "YAML" in func.__doc__, name
