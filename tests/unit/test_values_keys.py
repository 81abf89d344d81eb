"""SAP ALPHA keys: only ASCII digits make a numeric key; other keys are text, kept as they are."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap import transforms as sap_t


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("０００１２", "０００１２", id="fullwidth digits are text: zeros kept, as SAP does"),
        pytest.param("٠٠١٢", "٠٠١٢", id="arabic-indic digits are text"),
        pytest.param("00¹²", "00¹²", id="superscripts are text"),
        pytest.param("000１２", "000１２", id="mixed ASCII and fullwidth is text"),
        pytest.param("00012", "12", id="ASCII digits lose their zeros"),
    ],
)
def test_alpha_treats_only_ascii_digit_keys_as_numbers(raw, expected):
    assert sap_t.alpha(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("１２", "１２", id="fullwidth digits are not zero-filled"),
        pytest.param("¹²", "¹²", id="superscripts are not zero-filled"),
        pytest.param("12", "00012", id="ASCII digits are zero-filled"),
    ],
)
def test_alpha_pad_zero_fills_ascii_digit_keys_only(raw, expected):
    assert sap_t.alpha_pad(raw, length=5) == expected


KEY_CHARS = "0123456789０１２٠١²³AZ_ -"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=KEY_CHARS, min_size=1, max_size=14))
def test_property_alpha_and_alpha_pad_follow_sap_alpha(key):
    text = key.strip()
    if not text:
        assert sap_t.alpha(key) is None
        return
    numeric = text.isascii() and text.isdigit()
    assert sap_t.alpha(key) == (str(int(text)) if numeric else text)
    if len(text) <= 14:
        padded = sap_t.alpha_pad(key, length=14)
        assert padded == (text.rjust(14, "0") if numeric else text)
        if numeric:
            assert sap_t.alpha(padded) == sap_t.alpha(key)
