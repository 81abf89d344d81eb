"""greater_than / less_than compare exact decimals; malformed numbers are errors, not "no"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.conditions import compile_condition
from bridge.mapping.paths import Scope

FORTY_NINES = "9" * 40


def compare(op: str, limit: object, value: object) -> bool:
    predicate = compile_condition({"path": "F", op: limit}, "m.yaml:7")
    return predicate({"F": value}, Scope({}, {}))


@pytest.mark.parametrize(
    ("op", "limit", "value", "expected"),
    [
        pytest.param("greater_than", FORTY_NINES, FORTY_NINES + "1", True, id="beyond 28 digits, no rounding"),
        pytest.param("greater_than", "0." + "0" * 39 + "1", "0", False, id="tiny limit is not zero"),
        pytest.param("less_than", 0, "5-", True, id="SAP trailing minus is negative"),
        pytest.param("greater_than", 12, "12.500", True, id="decimal"),
        pytest.param("greater_than", 12, "1e9999999", True, id="huge exponent compares exactly"),
        pytest.param("greater_than", 0, "N/A", False, id="text that is no number does not hold"),
        pytest.param("greater_than", 0, "NaN", False, id="NaN is not a number"),
        pytest.param("greater_than", 0, True, False, id="a boolean is not a number"),
    ],
)
def test_comparisons_are_exact(op, limit, value, expected):
    assert compare(op, limit, value) is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("-5-", "two signs", id="two signs"),
        pytest.param("1 5", "blanks inside", id="blank inside"),
        pytest.param("１２", "FULLWIDTH DIGIT ONE", id="fullwidth, which Decimal() reads as 12"),
    ],
)
def test_a_malformed_number_in_a_comparison_is_a_mapping_error(value, message):
    with pytest.raises(MappingError, match=f"path F, value .*{message}"):
        compare("greater_than", 0, value)


@pytest.mark.parametrize("limit", ["NaN", "Infinity", "sNaN", "１２", "-5-", "", [1], True])
def test_a_limit_that_is_not_a_number_fails_at_load(limit):
    with pytest.raises(MappingDefinitionError, match="m.yaml:7: greater_than: "):
        compile_condition({"path": "F", "greater_than": limit}, "m.yaml:7")


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False, allow_infinity=False))
def test_property_comparisons_agree_with_exact_decimal_order(limit, value):
    assert compare("greater_than", str(limit), str(value)) is (value > limit)
    assert compare("less_than", str(limit), str(value)) is (value < limit)
