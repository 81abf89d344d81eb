"""Numbers as ERPs write them, read exactly: the core of the ``decimal`` family of transforms.

SAP writes ``12.500-`` (trailing minus) and FLTP fields as ``1.000000000000000E+01``; JSON
sources send numbers. A number is an optional leading sign *or* a trailing minus, ASCII digits
with at most one point, an optional exponent, and blanks around it. Refused, naming the value
and the reason: two signs (``-5-``), blanks inside (``1 5``), digits that are not ASCII
(``１２``, ``١٢``), and values the canonical model cannot carry exactly
(:data:`~bridge.canonical.types.MAX_DECIMAL_DIGITS`,
:data:`~bridge.canonical.types.MAX_DECIMAL_PLAIN_DIGITS`). Nothing here rounds: negation is
``copy_negate`` and every rendering is built from the exact canonical text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from bridge.canonical.types import (
    MAX_DECIMAL_PLAIN_DIGITS,
    DecimalBoundError,
    first_non_ascii_digit,
    normalise_decimal,
)
from bridge.mapping.scalars import CACHEABLE_TEXT, TransformError, not_a_field

__all__ = ["MalformedNumber", "canonical_number", "fixed_point", "negated", "read_exact", "read_number"]

_SAP_NUMBER = re.compile(
    r"(?P<sign>[+-]?)(?P<body>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(?P<minus>-?)"
)

# An int with more bits than this has more than MAX_DECIMAL_PLAIN_DIGITS digits (10**100 has 333).
_MAX_INT_BITS = 4 * MAX_DECIMAL_PLAIN_DIGITS

# Quantities repeat across documents (the same few values): caching the pure text -> value
# step saves most of their cost on the hot path.
_CACHE_SIZE = 4096


class MalformedNumber(TransformError):
    """Text that is meant as a number but is malformed: two signs, blanks inside, non-ASCII
    digits, or an exponent beyond range (as opposed to text that is no number at all)."""


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 48 else f"{text[:24]!r}... ({len(text)} characters)"


def _not_a_number(text: str) -> TransformError:
    digit = first_non_ascii_digit(text)
    if digit is not None:
        return MalformedNumber(f"{_shown(text)} is not a number: {digit} is not an ASCII digit 0-9")
    if len(text.split()) > 1 and _SAP_NUMBER.fullmatch("".join(text.split())):
        return MalformedNumber(f"{_shown(text)} is not a number: it has blanks inside")
    return TransformError(f"{_shown(text)} is not a number")


def read_exact(raw: str) -> Decimal | None:
    """The exact value of number text (no bound, no rounding); None when blank.

    Raises:
        MalformedNumber: two signs, blanks inside, non-ASCII digits, exponent out of range.
        TransformError: the text is not a number at all.
    """
    text = raw.strip()
    if not text:
        return None
    match = _SAP_NUMBER.fullmatch(text)
    if match is None:
        raise _not_a_number(text)
    sign, body, minus = match.group("sign", "body", "minus")
    if minus and sign:
        raise MalformedNumber(
            f"{_shown(text)} is not a number: it has two signs (a leading {sign} and a trailing -)"
        )
    try:
        number = Decimal(body)
    except InvalidOperation:  # the syntax is right: the exponent is beyond what Decimal holds
        raise MalformedNumber(f"{_shown(text)} is out of range") from None
    return number.copy_negate() if sign == "-" or minus else number


def _canonical(number: Decimal) -> str:
    try:
        return normalise_decimal(number)
    except DecimalBoundError as exc:
        raise MalformedNumber(str(exc)) from None


def _read_text(raw: str) -> tuple[Decimal, str] | None:
    return _read_cached(raw) if len(raw) <= CACHEABLE_TEXT else _read_cached.__wrapped__(raw)


@lru_cache(maxsize=_CACHE_SIZE)
def _read_cached(raw: str) -> tuple[Decimal, str] | None:
    number = read_exact(raw)
    return None if number is None else (number, _canonical(number))


def read_number(value: Any) -> tuple[Decimal, str] | None:
    """(exact value, canonical text) of an SAP/JSON number; None when absent or blank.

    Raises:
        TransformError: not a number, a malformed one, or beyond the canonical bounds.
    """
    if value.__class__ is str:
        return _read_text(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise TransformError("a boolean is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise MalformedNumber(
                f"an integer of {value.bit_length()} bits is out of range: written out it has "
                f"more than {MAX_DECIMAL_PLAIN_DIGITS} digits"
            )
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text that reads back as this float
    elif isinstance(value, str):
        return _read_text(str(value))
    else:
        raise TransformError(not_a_field(value))
    return number, _canonical(number)


def canonical_number(value: Any) -> str | None:
    """The canonical decimal text of a number (``"12.500-"`` -> ``"-12.5"``); None if absent."""
    found = _read_text(value) if value.__class__ is str else read_number(value)
    return found[1] if found is not None else None


def negated(canonical: str) -> str:
    """The canonical text of the negated value, built from the text (exact by construction)."""
    if canonical == "0":
        return canonical
    return canonical[1:] if canonical[0] == "-" else f"-{canonical}"


def fixed_point(canonical: str, places: int, *, trailing_minus: bool = False) -> str:
    """Canonical text with exactly ``places`` decimals (``"-2.5"``, 3 -> ``"-2.500"``).

    Raises:
        TransformError: the value has more decimals than ``places``: writing it would round it.
    """
    negative = canonical[0] == "-"
    whole, _, fraction = canonical.lstrip("-").partition(".")
    if len(fraction) > places:
        raise TransformError(
            f"{canonical} has {len(fraction)} decimal place{'s' if len(fraction) > 1 else ''}; "
            f"writing it with {places} would round it"
        )
    text = f"{whole}.{fraction.ljust(places, '0')}" if places else whole
    if negative:
        return f"{text}-" if trailing_minus else f"-{text}"
    return text
