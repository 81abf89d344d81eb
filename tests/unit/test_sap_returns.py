"""What SAP's RETURN messages mean, and the checks made before a call is sent."""

from __future__ import annotations

import pytest

from adapters.sap.bapi_check import check_call, check_value
from adapters.sap.errors import ERRORS
from adapters.sap.returns import failure_of
from adapters.sap.target import SapTargetSettings
from bridge.errors import ConfigError, PermanentError, TransientError


def test_a_lock_is_transient_whatever_its_type_and_wins_over_other_errors() -> None:
    rows = [
        {"TYPE": "E", "ID": "M7", "NUMBER": "096", "MESSAGE": "Goods movement not possible with mvmt type 999"},
        {"TYPE": "E", "ID": "RU", "NUMBER": "505", "MESSAGE": "Order 1001", "FLG_LOCKED": "X"},
    ]
    assert isinstance(failure_of(rows, ERRORS, "post"), TransientError)
    text_lock = [{"TYPE": "E", "ID": "M3", "NUMBER": "024", "MESSAGE": "Material 4711 is locked by user BATCH01"}]
    assert isinstance(failure_of(text_lock, ERRORS, "post"), TransientError)


def test_a_deficit_is_retried_for_a_while_then_permanent() -> None:
    rows = [{"TYPE": "E", "ID": "M7", "NUMBER": "021", "MESSAGE": "Deficit of SL Unrestricted-use 13 L : A706 1110 1001"}]
    assert isinstance(failure_of(rows, ERRORS, "post", failing_for_s=10), TransientError)
    late = failure_of(rows, ERRORS, "post", failing_for_s=16 * 60)
    assert isinstance(late, PermanentError)
    assert "Deficit of SL" in str(late)
    assert "still failing after" in str(late)


def test_a_closed_period_is_permanent_with_sap_s_text() -> None:
    rows = [{"TYPE": "E", "ID": "M7", "NUMBER": "053", "MESSAGE": "Posting only possible in periods 2026/12 and 2026/11 in company code 1000"}]
    error = failure_of(rows, ERRORS, "SAP BAPI_GOODSMVT_CREATE (R-1/issue)")
    assert isinstance(error, PermanentError)
    assert "E M7 053 Posting only possible in periods 2026/12 and 2026/11" in str(error)
    assert "posting period closed" in str(error)


def test_success_and_warnings_are_not_failures() -> None:
    rows = [
        {"TYPE": "I", "ID": "RU", "NUMBER": "100", "MESSAGE": "Confirmation of order 1001 saved"},
        {"TYPE": "W", "ID": "RU", "NUMBER": "200", "MESSAGE": "Quantity exceeds"},
        {"TYPE": "", "NUMBER": "001"},
    ]
    assert failure_of(rows, ERRORS, "post") is None


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (("char", 12, 0), "1234567890123", "longer than 12 characters"),
        (("numeric", 10, 0), "12a", "not all digits"),
        (("date10", 10, 0), "20250106", "not a date YYYY-MM-DD"),
        (("date10", 10, 0), "2025-02-30", "not a calendar date"),
        (("quantum", 13, 3), "3.12345", "more than 3 decimal places"),
        (("quantum", 13, 3), "12345678901234.5", "more than 10 digits before the point"),
        (("time", 8, 0), "25:00:00", "not a time"),
    ],
)
def test_values_sap_would_refuse_are_named(kind: tuple[str, int, int], value: str, problem: str) -> None:
    assert problem in (check_value(kind, value) or "")


def test_values_that_fit_pass() -> None:
    assert check_value(("quantum", 13, 3), "3.000") is None
    assert check_value(("quantum", 13, 3), "-0.5") is None
    assert check_value(("date10", 10, 0), "0000-00-00") is None
    assert check_value(("char", 4, 0), "0010") is None


def test_a_call_s_problems_name_parameter_row_and_field() -> None:
    problems = check_call(
        "BAPI_PRODORDCONF_CREATE_TT",
        {"TIMETICKETS": [{"ORDERID": "1", "YIELD": "1"}, {"ORDERID": "1234567890123", "NOPE": "x"}], "FOO": "1"},
    )
    assert "TIMETICKETS[1].ORDERID: '1234567890123' is longer than 12 characters" in problems
    assert "TIMETICKETS[1].NOPE: BAPI_PP_TIMETICKET has no field NOPE" in problems
    assert "FOO: BAPI_PRODORDCONF_CREATE_TT has no parameter FOO" in problems
    assert "TIMETICKETS: required by BAPI_PRODORDCONF_CREATE_TT" in check_call("BAPI_PRODORDCONF_CREATE_TT", {})


def test_target_settings_refuse_what_cannot_work(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown BAPI BAPI_NOPE"):
        SapTargetSettings(url="https://sap", services={"BAPI_NOPE": {}})
    with pytest.raises(ValueError, match="is not a readable file"):
        SapTargetSettings(url="https://sap", ca_bundle=tmp_path / "missing.pem")
    assert SapTargetSettings(url="https://sap", ca_bundle="").ca_bundle is None
    settings = SapTargetSettings(url="https://sap:44300/", sap_client="200")
    assert settings.endpoint("BAPI_GOODSMVT_CREATE") == (
        "https://sap:44300/sap/bc/srt/rfc/sap/zws_bapi_goodsmvt_create/200/"
        "zws_bapi_goodsmvt_create_sev/zws_bapi_goodsmvt_create_binding?sap-client=200"
    )


def test_a_sap_route_without_its_credentials_does_not_start() -> None:
    from adapters.sap.sink import make_sap_sink
    from bridge.adapter.sink import SinkContext

    settings = SapTargetSettings(url="https://sap", user_env="MY_SAP_USER")
    with pytest.raises(ConfigError, match=r"MY_SAP_USER \(or MY_SAP_USER_FILE\) is not set"):
        make_sap_sink(SinkContext("sap", settings, extra={"env": {}}))
