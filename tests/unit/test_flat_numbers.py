"""SEGNUM, PSGNUM and HLEVEL are ASCII digits: anything else is a typed error naming line and segment."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import parse_idoc_flat
from bridge.errors import DecodeError

DATA = Path(__file__).parents[1] / "data"
LINES = (DATA / "sap" / "flat" / "zbrtest01.txt").read_text(encoding="utf-8").split("\n")
COLUMNS = {"SEGNUM": (49, 6), "PSGNUM": (55, 6), "HLEVEL": (61, 2)}


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([DATA / "sap" / "we60"], include_shipped=False)


def with_number(name: str, value: str, line_no: int = 4) -> bytes:
    offset, width = COLUMNS[name]
    assert len(value) == width
    lines = list(LINES)
    line = lines[line_no - 1]
    lines[line_no - 1] = line[:offset] + value + line[offset + width :]
    return "\n".join(lines).encode("utf-8")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("SEGNUM", "00000³", id="superscript-three-in-segnum"),
        pytest.param("SEGNUM", "¹²³⁴⁵⁶", id="superscripts-only"),
        pytest.param("PSGNUM", "00000²", id="superscript-two-in-psgnum"),
        pytest.param("HLEVEL", "0²", id="superscript-in-hlevel"),
        pytest.param("SEGNUM", "０００００４", id="fullwidth-digits"),
        pytest.param("SEGNUM", "٠٠٠٠٠٤", id="arabic-indic-digits"),
        pytest.param("PSGNUM", "0002 3", id="a-blank-inside"),
        pytest.param("HLEVEL", "-3", id="a-sign"),
        pytest.param("SEGNUM", "00004 ", id="a-blank-at-the-end"),
    ],
)
def test_numbers_that_are_not_ascii_digits_are_a_decode_error_naming_line_segment_and_field(
    registry, name: str, value: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_idoc_flat(with_number(name, value), registry, source="num.txt")
    error = caught.value
    assert error.segment == "E2ZSTS (line 4)"
    assert f"line 4: {name} {value!r} is not a number of {len(value)} ASCII digits" in str(error)
    assert str(error).startswith("num.txt: DOCNUM 0000000000123456: ")


def test_blank_numbers_are_allowed_and_replaced_by_positions(registry) -> None:
    (idoc,) = parse_idoc_flat(with_number("SEGNUM", "      "), registry)
    assert idoc.root["E1ZOPR"][0]["E1ZSTS"][0].segnum == 3


UNICODE_DIGITS = [chr(c) for c in range(0x80, 0x10000) if unicodedata.category(chr(c)) in ("Nd", "No")]


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(COLUMNS)),
    line_no=st.integers(min_value=2, max_value=11),
    digits=st.data(),
)
def test_any_non_ascii_digit_in_any_number_is_a_decode_error_never_a_crash(
    registry, name: str, line_no: int, digits: st.DataObject
) -> None:
    width = COLUMNS[name][1]
    position = digits.draw(st.integers(0, width - 1), label="position")
    odd = digits.draw(st.sampled_from(UNICODE_DIGITS), label="digit")
    offset = COLUMNS[name][0]
    original = LINES[line_no - 1][offset : offset + width]
    value = original[:position] + odd + original[position + 1 :]
    with pytest.raises(DecodeError, match=f"line {line_no}: {name} .* is not a number"):
        parse_idoc_flat(with_number(name, value, line_no), registry)
