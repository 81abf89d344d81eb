"""Shared value types of the canonical model: decimal strings, quantities, ids, times.

Decimals are exact or refused, never rounded: a value with more than
:data:`MAX_DECIMAL_DIGITS` significant digits, or more than :data:`MAX_DECIMAL_PLAIN_DIGITS`
digits when written out without an exponent, is an error (the bounds keep ``1e999999`` from
becoming a megabyte of zeros and ``1e-9999999`` from becoming ``0``). Only ASCII digits make a
number: ``Decimal()`` itself would read ``"１２"`` (fullwidth) or ``"1_000"``.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Context, Decimal, Inexact, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

__all__ = [
    "MAX_DECIMAL_DIGITS",
    "MAX_DECIMAL_PLAIN_DIGITS",
    "CanonicalModel",
    "DecimalBoundError",
    "DecimalString",
    "Quantity",
    "Timestamp",
    "first_non_ascii_digit",
    "normalise_decimal",
]

#: Pattern a canonical decimal string satisfies: no exponent, no trailing zeros after the point.
DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"

#: Most significant digits a decimal may have (trailing zeros do not count). SAP's widest
#: packed numbers (DEC, QUAN, CURR) hold 31 digits and FLTP 16; 60 carries those, 40-digit
#: values from other systems and their sums with room to spare. Fixed, not configurable: it
#: is part of the canonical contract, and a value beyond it is refused because carrying it
#: would mean rounding it.
MAX_DECIMAL_DIGITS = 60

#: Most digits a decimal may have written out without an exponent, integer and fraction
#: digits together (``0.001`` has 4, ``1E+5`` has 6). This bounds the exponent: SAP's DEC 31
#: needs at most 31 and FLTP quantities stay far below 100, while ``1e999999`` would be a
#: megabyte of zeros. Fixed for the same reason as :data:`MAX_DECIMAL_DIGITS`.
MAX_DECIMAL_PLAIN_DIGITS = 100

# Normalising under this context is exact: a value needing more than MAX_DECIMAL_DIGITS digits
# raises Inexact instead of being rounded (dropping trailing zeros only signals Rounded).
_EXACT = Context(prec=MAX_DECIMAL_DIGITS, traps=[Inexact, InvalidOperation])

# What a decimal string may look like on the way in (JSON, canonical envelopes): ASCII only.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# An int with more bits than this has more than MAX_DECIMAL_PLAIN_DIGITS digits: refused
# before converting it (10**100 has 333 bits).
_MAX_INT_BITS = 4 * MAX_DECIMAL_PLAIN_DIGITS


class DecimalBoundError(ValueError):
    """A decimal is not finite or lies beyond the bounds within which it is carried exactly."""


def _shown(value: Decimal) -> str:
    """The value for an error message, cut in the middle when it is very long."""
    text = str(value)
    return text if len(text) <= 48 else f"{text[:24]}...{text[-12:]} ({len(text)} characters)"


def normalise_decimal(value: Decimal) -> str:
    """Render a Decimal the canonical way, exactly: ``-2.000`` -> ``-2``, ``2E+2`` -> ``200``.

    Raises:
        DecimalBoundError: the value is NaN or infinite, has more than
            :data:`MAX_DECIMAL_DIGITS` significant digits, or more than
            :data:`MAX_DECIMAL_PLAIN_DIGITS` digits written out.
    """
    if not value.is_finite():
        raise DecimalBoundError(f"{value} is not a finite number")
    if value.is_zero():
        return "0"
    adjusted = value.adjusted()  # the exponent of the leading digit: cheap, bounds the work below
    if not -MAX_DECIMAL_PLAIN_DIGITS < adjusted < MAX_DECIMAL_PLAIN_DIGITS:
        raise DecimalBoundError(_too_long(value))
    try:
        reduced = _EXACT.normalize(value)
    except Inexact:
        raise DecimalBoundError(
            f"{_shown(value)} has more than {MAX_DECIMAL_DIGITS} significant digits "
            "(carrying it would round it)"
        ) from None
    text = format(reduced, "f")
    if len(text) - (text[0] == "-") - ("." in text) > MAX_DECIMAL_PLAIN_DIGITS:
        raise DecimalBoundError(_too_long(value))
    return text


def _too_long(value: Decimal) -> str:
    return (
        f"{_shown(value)} is out of range: written out it has more than "
        f"{MAX_DECIMAL_PLAIN_DIGITS} digits"
    )


def first_non_ascii_digit(text: str) -> str | None:
    """Describe the first digit in ``text`` that is not ASCII 0-9, or None.

    ``str.isdigit()`` and ``Decimal()`` accept fullwidth, Arabic-Indic or superscript digits;
    a number from an ERP must not: ``"１２"`` -> ``"'１' (FULLWIDTH DIGIT ONE, U+FF11)"``.
    """
    if text.isascii():
        return None
    for char in text:
        if char.isdigit() and not char.isascii():
            return f"{char!r} ({unicodedata.name(char, 'unnamed')}, U+{ord(char):04X})"
    return None


def _to_decimal(value: Any) -> Decimal:
    if value.__class__ is str:
        if len(value) <= _CACHEABLE_TEXT:
            return _decimal_from_text(value)
        return _decimal_from_text.__wrapped__(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("a quantity must be a decimal string, not a boolean")
    elif isinstance(value, float):
        raise ValueError("a quantity must be a decimal string, not a float (precision)")
    elif isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise DecimalBoundError(
                f"an integer of {value.bit_length()} bits is out of range: written out it has "
                f"more than {MAX_DECIMAL_PLAIN_DIGITS} digits"
            )
        result = Decimal(value)
    elif isinstance(value, str):
        return _decimal_from_text.__wrapped__(str(value))
    else:
        raise ValueError(f"a {type(value).__name__} is not a decimal number")
    normalise_decimal(result)  # refuses what cannot be carried exactly
    return result


# Quantities repeat across documents (the same few values): cache the text -> value step, for
# short texts only (a cache keeps its keys; a hostile envelope could pin megabytes otherwise).
_CACHEABLE_TEXT = 64


@lru_cache(maxsize=4096)
def _decimal_from_text(raw: str) -> Decimal:
    text = raw.strip()
    if not _DECIMAL_TEXT.fullmatch(text):
        shown = repr(text) if len(text) <= 48 else f"{text[:24]!r}... ({len(text)} characters)"
        digit = first_non_ascii_digit(text)
        if digit is not None:
            raise ValueError(f"{shown} is not a decimal number: {digit} is not an ASCII digit 0-9")
        raise ValueError(f"{shown} is not a decimal number")
    try:
        result = Decimal(text)
    except InvalidOperation:  # the syntax is right, so the exponent is beyond what Decimal holds
        raise DecimalBoundError(f"{text[:48]!r} is out of range") from None
    normalise_decimal(result)
    return result


DecimalString = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(normalise_decimal, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["200", "1.5", "-2"]}),
]
"""A Decimal that travels as a normalised decimal string, never a float."""

Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2023-12-11T00:29:41+08:00"]}),
]
"""An ISO 8601 date-time that always carries its UTC offset."""


class CanonicalModel(BaseModel):
    """Base of all canonical models: unknown fields are errors, so mapping typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


class Quantity(CanonicalModel):
    """An amount with its unit; the unit code system is chosen by the mapping's lookups."""

    value: DecimalString = Field(description='Decimal string, e.g. "200" or "1.5".')
    unit: str = Field(min_length=1, description="Unit code, e.g. EA, ST, C62, KGM.")
