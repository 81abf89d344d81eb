"""Numbers are exact or refused: the decimal transforms and the canonical DecimalString."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.canonical.types import (
    DECIMAL_PATTERN,
    MAX_DECIMAL_DIGITS,
    MAX_DECIMAL_PLAIN_DIGITS,
    Quantity,
    normalise_decimal,
)
from bridge.mapping import transforms as t
from bridge.mapping.numbers import MalformedNumber
from bridge.mapping.transforms import TransformError

CANONICAL = re.compile(DECIMAL_PATTERN)
FORTY_DIGITS = "1234567890123456789012345678901234567890"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(FORTY_DIGITS, FORTY_DIGITS, id="a 40-digit GAMNG keeps its tail"),
        pytest.param(f"{FORTY_DIGITS}.000", FORTY_DIGITS, id="40 digits with trailing zeros"),
        pytest.param(
            "0.1234567890123456789012345678901",
            "0.1234567890123456789012345678901",
            id="31 decimals are not rounded",
        ),
        pytest.param(f"{FORTY_DIGITS}-", f"-{FORTY_DIGITS}", id="40 digits with SAP trailing minus"),
        pytest.param("1" + "0" * 99, "1" + "0" * 99, id="100 digits written out is the bound"),
        pytest.param("1" + "0" * 200 + "E-200", "1", id="many trailing zeros are not significant"),
        pytest.param("0E+9999999", "0", id="zero with any exponent is zero"),
    ],
)
def test_decimal_is_exact_beyond_28_digits(raw, expected):
    assert t.decimal(raw) == expected
    exact = Decimal(raw.rstrip("-"))
    assert Decimal(t.decimal(raw)) == (exact.copy_negate() if raw.endswith("-") else exact)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("1e-9999999", "out of range", id="tiny value is not silently zero"),
        pytest.param("1e999999", "out of range", id="huge exponent is not a megabyte of digits"),
        pytest.param("1e9999999", "out of range", id="huger exponent is not a traceback"),
        pytest.param("1e99999999999999999999", "out of range", id="exponent beyond Decimal"),
        pytest.param("1" * (MAX_DECIMAL_DIGITS + 1), "more than 60 significant digits", id="61 digits"),
        pytest.param("0." + "1" * (MAX_DECIMAL_DIGITS + 1), "more than 60 significant digits", id="61 decimals"),
        pytest.param("1E+100", "out of range", id="101 digits written out"),
        pytest.param("1E-100", "out of range", id="101 digits after the point"),
    ],
)
def test_decimal_refuses_values_it_cannot_carry_exactly(raw, message):
    with pytest.raises(MalformedNumber, match=message):
        t.decimal(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("-5-", r"'-5-' is not a number: it has two signs", id="minus both sides"),
        pytest.param("+5-", r"'\+5-' is not a number: it has two signs", id="plus then trailing minus"),
        pytest.param("1 5", r"'1 5' is not a number: it has blanks inside", id="blank inside"),
        pytest.param("12 500-", r"it has blanks inside", id="blank inside a SAP number"),
        pytest.param("１２", r"'１' \(FULLWIDTH DIGIT ONE, U\+FF11\) is not an ASCII digit", id="fullwidth"),
        pytest.param("١٢", r"'١' \(ARABIC-INDIC DIGIT ONE, U\+0661\) is not an ASCII digit", id="arabic-indic"),
        pytest.param("1²", r"'²' \(SUPERSCRIPT TWO, U\+00B2\) is not an ASCII digit", id="superscript"),
        pytest.param("٣.٥", r"ARABIC-INDIC DIGIT THREE", id="arabic-indic decimal"),
    ],
)
def test_malformed_numbers_are_refused_naming_the_value(raw, message):
    with pytest.raises(MalformedNumber, match=message):
        t.decimal(raw)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(float("nan"), id="float NaN"),
        pytest.param(float("inf"), id="float infinity"),
        pytest.param(Decimal("NaN"), id="Decimal NaN"),
        pytest.param(Decimal("sNaN"), id="signalling NaN"),
        pytest.param(10**101, id="huge int"),
        pytest.param(10**5000, id="enormous int, refused before converting"),
        pytest.param(True, id="boolean"),
    ],
)
def test_decimal_refuses_non_finite_and_out_of_range_json_numbers(value):
    with pytest.raises(TransformError):
        t.decimal(value)


def test_negate_and_integer_are_exact_beyond_28_digits():
    assert t.negate(FORTY_DIGITS) == f"-{FORTY_DIGITS}"
    assert t.negate(f"-{FORTY_DIGITS}") == FORTY_DIGITS
    assert t.negate("0.000-") == "0"
    assert t.integer(FORTY_DIGITS) == int(FORTY_DIGITS)
    assert t.integer("1.000000000000000E+39") == 10**39
    with pytest.raises(TransformError, match="not a whole number"):
        t.integer("1." + "0" * 40 + "1")


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        pytest.param("3", {"places": 3}, "3.000", id="pads with zeros"),
        pytest.param("-2.5", {"places": 3, "trailing_minus": True}, "2.500-", id="trailing minus"),
        pytest.param("1.2300", {"places": 3}, "1.230", id="trailing zeros are not decimals"),
        pytest.param(FORTY_DIGITS, {"places": 3}, f"{FORTY_DIGITS}.000", id="40 digits exactly"),
        pytest.param("-0", {"places": 2}, "0.00", id="negative zero is zero"),
        pytest.param("1E+2", {"places": 0}, "100", id="no places, no point"),
    ],
)
def test_decimal_fixed_writes_exact_sap_quantities(raw, options, expected):
    assert t.decimal_fixed(raw, **options) == expected


@pytest.mark.parametrize(
    ("raw", "places"),
    [
        pytest.param("1.23456", 3, id="the issue's input: would be 1.235"),
        pytest.param("0.0005", 3, id="would be 0.000"),
        pytest.param("-2.5", 0, id="would be -2"),
    ],
)
def test_decimal_fixed_refuses_to_round(raw, places):
    with pytest.raises(TransformError, match=f"writing it with {places} would round it"):
        t.decimal_fixed(raw, places=places)


def test_normalise_decimal_gives_the_same_text_as_before_for_exact_values():
    """Byte identity: what ``Decimal.normalize()`` gave exactly stays the same text."""

    def before(value: Decimal) -> str:
        return "0" if value.is_zero() else format(value.normalize(), "f")

    for text in ["-2.000", "1E+2", "12.500", "0.000", "3560.1", "1.000000000000000E+01", "-0", "-0.5", "1" * 28]:
        assert normalise_decimal(Decimal(text)) == before(Decimal(text))


# --- DecimalString, the canonical side (also reads envelopes coming from outside) -------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(FORTY_DIGITS, FORTY_DIGITS, id="40 digits"),
        pytest.param("0.1234567890123456789012345678901", "0.1234567890123456789012345678901", id="31 decimals"),
        pytest.param("-2.000", "-2", id="trailing zeros"),
        pytest.param("1E+2", "100", id="exponent"),
        pytest.param(" 12 ", "12", id="blanks around"),
        pytest.param(12, "12", id="an int"),
        pytest.param(Decimal(FORTY_DIGITS), FORTY_DIGITS, id="a Decimal"),
    ],
)
def test_decimal_string_is_exact(value, expected):
    assert Quantity(value=value, unit="EA").model_dump(mode="json")["value"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("1e-9999999", "out of range", id="tiny"),
        pytest.param("1e999999", "out of range", id="huge exponent"),
        pytest.param("1e9999999", "out of range", id="huger exponent"),
        pytest.param("1e99999999999999999999", "out of range", id="beyond Decimal"),
        pytest.param("0." + "1" * 61, "more than 60 significant digits", id="61 digits"),
        pytest.param("１２", "FULLWIDTH DIGIT ONE", id="fullwidth digits"),
        pytest.param("1_000", "not a decimal number", id="underscore, which Decimal() accepts"),
        pytest.param("1 5", "not a decimal number", id="blank inside"),
        pytest.param("NaN", "not a decimal number", id="NaN"),
        pytest.param("Infinity", "not a decimal number", id="infinity"),
        pytest.param("12-", "not a decimal number", id="SAP trailing minus is not canonical"),
        pytest.param(10**101, "out of range", id="huge int"),
        pytest.param(Decimal("1e999999"), "out of range", id="huge Decimal"),
        pytest.param(Decimal("NaN"), "not a finite number", id="Decimal NaN"),
        pytest.param(1.5, "not a float", id="float"),
        pytest.param([1], "not a decimal number", id="a list"),
    ],
)
def test_decimal_string_refuses_what_it_cannot_carry_exactly(value, message):
    with pytest.raises(ValidationError, match=message):
        Quantity(value=value, unit="EA")


# --- properties -------------------------------------------------------------------------------


def _bounds(coefficient: int, exponent: int) -> bool:
    """Whether coefficient * 10**exponent is within the canonical bounds (an oracle by integers)."""
    if coefficient == 0:
        return True
    while coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    digits = len(str(coefficient))
    whole = max(digits + exponent, 1)
    fraction = max(-exponent, 0)
    return digits <= MAX_DECIMAL_DIGITS and whole + fraction <= MAX_DECIMAL_PLAIN_DIGITS


@st.composite
def numbers(draw: st.DrawFn, sap: bool = True) -> tuple[str, Decimal, bool]:
    """(text, exact value, within bounds) in the forms ERPs write."""
    coefficient = draw(st.one_of(st.integers(0, 10**30), st.integers(0, 10**75)))
    exponent = draw(st.integers(-130, 130))
    negative = draw(st.booleans())
    exact = Decimal((1 if negative else 0, tuple(int(d) for d in str(coefficient)), exponent))
    form = draw(st.sampled_from(["E", "e", "plain", "plain-zeros"]))
    if form in ("E", "e"):
        body = f"{coefficient}{form}{exponent:+d}" if draw(st.booleans()) else f"{coefficient}{form}{exponent}"
    else:
        body = format(exact.copy_abs(), "f")
        if form == "plain-zeros" and "." in body:
            body += "0" * draw(st.integers(0, 3))
        body = "0" * draw(st.integers(0, 2)) + body
    if negative:
        text = f"{body}-" if sap and draw(st.booleans()) else f"-{body}"
    else:
        text = f"+{body}" if draw(st.booleans()) else body
    return text, exact, _bounds(coefficient, exponent)


@settings(max_examples=400, deadline=None)
@given(numbers())
def test_property_decimal_is_exact_within_the_bounds_and_refused_beyond(case):
    text, exact, within = case
    if within:
        out = t.decimal(text)
        assert Decimal(out) == exact
        assert CANONICAL.fullmatch(out), out
        assert t.negate(text) == ("0" if out == "0" else out[1:] if out[0] == "-" else f"-{out}")
    else:
        with pytest.raises(MalformedNumber):
            t.decimal(text)


NON_ASCII_DIGITS = "０１２３４５６７８９٠١٢٣٤٥٦٧٨٩۰۱۲۳४५६৭¹²³⁴⁰₁₂"


@st.composite
def malformed(draw: st.DrawFn) -> str:
    """A valid number made malformed in one of the ways ERPs (or people) do it."""
    text, _exact, _within = draw(numbers())
    body = text.strip("+-")
    spoil = draw(st.sampled_from(["two signs", "blank inside", "non-ASCII digit"]))
    if spoil == "two signs":
        return f"{draw(st.sampled_from(['-', '+']))}{body}-"
    if spoil == "blank inside":
        if sum(ch.isdigit() for ch in body) < 2:
            body += "0"
        inner = [i for i, ch in enumerate(body) if ch.isdigit() and i > 0]
        at = draw(st.sampled_from(inner))
        return f"{body[:at]}{draw(st.sampled_from([' ', '  ', chr(0x3000), chr(0xA0)]))}{body[at:]}"
    at = draw(st.sampled_from([i for i, ch in enumerate(body) if ch.isdigit()]))
    return f"{body[:at]}{draw(st.sampled_from(NON_ASCII_DIGITS))}{body[at + 1 :]}"


@settings(max_examples=300, deadline=None)
@given(malformed())
def test_property_malformed_numbers_are_refused_never_converted(text):
    with pytest.raises(MalformedNumber) as caught:
        t.decimal(text)
    assert repr(text.strip())[:20] in str(caught.value) or "out of range" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(numbers(sap=False))
def test_property_decimal_string_round_trip_through_the_canonical_model_is_exact(case):
    text, exact, within = case
    if not within:
        with pytest.raises(ValidationError):
            Quantity(value=text, unit="EA")
        return
    model = Quantity(value=text, unit="EA")
    wire = model.model_dump_json()
    dumped = model.model_dump(mode="json")["value"]
    assert Decimal(dumped) == exact
    assert CANONICAL.fullmatch(dumped)
    assert dumped == t.decimal(text)
    again = Quantity.model_validate_json(wire)
    assert again.value == exact
    assert again.model_dump_json() == wire


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**110), 10**110))
def test_property_integers_are_exact_or_refused(number):
    within = len(str(abs(number))) <= MAX_DECIMAL_PLAIN_DIGITS and _bounds(abs(number), 0)
    if within:
        assert Quantity(value=number, unit="EA").model_dump(mode="json")["value"] == str(number)
        assert t.decimal(number) == str(number)
    else:
        with pytest.raises(ValidationError):
            Quantity(value=number, unit="EA")
        with pytest.raises(TransformError):
            t.decimal(number)


def test_long_number_texts_are_read_but_not_kept_in_the_cache():
    from bridge.canonical import types
    from bridge.mapping import numbers

    padded = "0" * 100_000 + "1.5"
    numbers._read_cached.cache_clear()
    types._decimal_from_text.cache_clear()
    assert t.decimal(padded) == "1.5"
    assert Quantity(value=padded, unit="EA").model_dump(mode="json")["value"] == "1.5"
    assert numbers._read_cached.cache_info().currsize == 0
    assert types._decimal_from_text.cache_info().currsize == 0
