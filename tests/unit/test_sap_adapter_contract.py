"""The SAP adapter keeps the adapter contract, and its error table says what SAP's answers mean."""

from __future__ import annotations

import pytest

from adapters.sap.adapter import adapter
from adapters.sap.errors import DEFICIT_RETRY_S, ERRORS
from bridge.adapter import ErrorFacts, ErrorKind
from bridge.errors import ConfigError, PermanentError, TransientError
from tests.contract import AdapterContract

from ..conftest import DATA, MAPPINGS


class TestSapAdapterContract(AdapterContract):
    adapter = adapter
    samples = (
        *sorted((DATA / "sap" / "xml").glob("*.xml")),
        *sorted((MAPPINGS / "sap" / "cases").glob("*.xml")),
        *sorted((MAPPINGS / "sap" / "cases").glob("*.idoc")),
    )


@pytest.mark.parametrize(
    ("facts", "kind"),
    [
        pytest.param(ErrorFacts(message_type="E", flags=frozenset({"FLG_LOCKED"})), ErrorKind.TRANSIENT, id="lock flag beats type E"),
        pytest.param(ErrorFacts(message_type="E", text="Order 1000042 is locked by user SMITH"), ErrorKind.TRANSIENT, id="lock text beats type E"),
        pytest.param(ErrorFacts(message_type="E", code="M7/053"), ErrorKind.PERMANENT, id="period closed"),
        pytest.param(ErrorFacts(message_type="A", code="RU/999"), ErrorKind.PERMANENT, id="type A"),
        pytest.param(ErrorFacts(message_type="W", code="RU/100"), ErrorKind.PERMANENT, id="unknown: the default"),
        pytest.param(ErrorFacts(status=401), ErrorKind.CONFIGURATION, id="credentials"),
        pytest.param(ErrorFacts(status=500), ErrorKind.TRANSIENT, id="SOAP fault over 500 without RETURN"),
    ],
)
def test_sap_answers_are_classified(facts: ErrorFacts, kind: ErrorKind) -> None:
    assert ERRORS.kind(facts) is kind


def test_a_stock_deficit_is_retried_for_a_bounded_time_then_dead_lettered() -> None:
    deficit = ErrorFacts(message_type="E", code="M7/021", text="Deficit of SL Unrestricted-use 13 L : A706 1110 1001")
    assert isinstance(ERRORS.error(deficit, "goods movement", failing_for_s=60), TransientError)
    late = ERRORS.error(deficit, "goods movement", failing_for_s=DEFICIT_RETRY_S + 1)
    assert isinstance(late, PermanentError)
    assert "still failing after 900 s" in str(late)
    assert "M7 021" in str(late)


def test_the_error_names_the_call_and_the_reason() -> None:
    error = ERRORS.error(ErrorFacts(status=401), "BAPI_PRODORDCONF_CREATE_TT for order 1000042")
    assert isinstance(error, ConfigError)
    assert str(error) == (
        "BAPI_PRODORDCONF_CREATE_TT for order 1000042 (configuration: SAP refused the credentials "
        "(HTTP 401/403): check the user, password and its roles)"
    )


@pytest.mark.parametrize(
    ("row", "named"),
    [
        pytest.param({"kind": "sometimes", "code": "M7/021"}, "kind: Input should be", id="kind"),
        pytest.param({"kind": "transient"}, "must match on something", id="matches nothing"),
        pytest.param({"kind": "transient", "http_status": [599, 500]}, "http_status", id="backwards range"),
        pytest.param({"kind": "transient", "code": "M7/021", "retry_for": "a while"}, "retry_for", id="duration"),
        pytest.param({"kind": "transient", "code": "M7/021", "colour": "red"}, "colour", id="unknown key"),
    ],
)
def test_a_bad_override_row_is_a_config_error_naming_it(row: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        ERRORS.with_overrides([row], setting="targets.sap.errors")
    assert str(caught.value).startswith("targets.sap.errors[0]: ")
