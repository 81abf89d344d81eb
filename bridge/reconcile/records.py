"""What one side of a reconciliation holds about one business key: a :class:`Record`.

A record carries the key (the business key fields in the job's declared order), named
quantities (:class:`Amount`: an exact Decimal with its unit), the material the quantities are
of (for unit conversions), the version and/or time it was last seen (for ``stale``) and a
reference to where it came from (document number, file and line) for the report.

Quantities enter through :func:`amount`, which reads text exactly and refuses what is not a
number by name; a Decimal built elsewhere must stay within the canonical model's bounds
(:func:`bridge.canonical.types.normalise_decimal`), which keep every sum and difference the
engine computes exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from bridge.canonical.types import DecimalBoundError, first_non_ascii_digit, normalise_decimal
from bridge.errors import ConfigError

__all__ = ["EXACT", "Amount", "Record", "amount", "finite_decimal", "version_key"]

#: Arithmetic on quantities: values are bounded to 100 digits written out, so sums and
#: differences need at most a few hundred; anything that would still round raises instead.
EXACT = Context(prec=400, traps=[Inexact, InvalidOperation])

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CACHEABLE_TEXT = 64
# Plain text this short has fewer digits than the canonical bounds allow: no need to check them.
_WITHIN_BOUNDS = 60


class Amount(NamedTuple):
    """A quantity: an exact value and its unit code (``Amount(Decimal("12.5"), "KG")``)."""

    value: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{normalise_decimal(self.value)} {self.unit}"

    def __reduce__(self) -> tuple[type[Amount], tuple[Decimal, str]]:
        # twice as fast to pickle as a NamedTuple's default (external sort runs)
        return (Amount, (self.value, self.unit))


# Not frozen: a frozen dataclass takes twice as long to build, and millions are built per run.
@dataclass(slots=True)
class Record:
    """One side's fact about one business key; not to be changed once made.

    Attributes:
        key: the business key fields in the job's declared order, e.g. ``("430094", "0010")``
            for (order_id, operation_id); all text, compared in code-point order.
        values: value name -> :class:`Amount` (``{"yield": Amount(Decimal("12"), "PCS")}``).
        material: the material the quantities are of, for its unit conversions (None: only the
            global conversions apply).
        version: the version the side holds, ordered by :func:`version_key`.
        seen_at: when the side last changed the record (timezone-aware).
        ref: where it came from, for the report (``"mes.jsonl:17"``, ``"4900000012/2026"``).
    """

    key: tuple[str, ...]
    values: Mapping[str, Amount] = field(default_factory=dict)
    material: str | None = None
    version: str | None = None
    seen_at: datetime | None = None
    ref: str = ""

    def __reduce__(self) -> tuple[type[Record], tuple[object, ...]]:
        # A plain constructor call pickles faster than the slots state dance (external sort runs).
        return (Record, (self.key, self.values, self.material, self.version, self.seen_at, self.ref))


def amount(value: object, unit: object, *, name: str = "value") -> Amount:
    """An :class:`Amount` from text, a Decimal or an int, exactly.

    ``name`` names the value in the error (``"yield"``, ``"column qty"``).

    Raises:
        ConfigError: the value is not a number (floats and booleans included: a float is not
            exact), lies beyond the canonical bounds, or the unit is not non-empty text.
    """
    if not isinstance(unit, str) or not unit.strip():
        raise ConfigError(f"{name}: the unit must be non-empty text, got {_shown(unit)}")
    try:
        return Amount(_decimal(value), unit.strip())
    except (ValueError, DecimalBoundError) as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _decimal(value: object) -> Decimal:
    if value.__class__ is str:
        return _from_text(value) if len(value) <= _CACHEABLE_TEXT else _from_text.__wrapped__(value)
    if isinstance(value, bool):
        raise ValueError(f"{value} is a boolean, not a number")
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a float, not an exact decimal")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
        normalise_decimal(number)  # refuses NaN, infinities and values beyond the bounds
        return number
    raise ValueError(f"{_shown(value)} is not a number")


@lru_cache(maxsize=4096)
def _from_text(raw: str) -> Decimal:
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        digit = first_non_ascii_digit(text)
        why = f": {digit} is not an ASCII digit 0-9" if digit else ""
        raise ValueError(f"{_shown(text)} is not a number{why}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{_shown(text)} is out of range") from None
    if len(text) > _WITHIN_BOUNDS or "e" in text or "E" in text:
        normalise_decimal(number)
    return number


def finite_decimal(value: Fraction) -> Decimal | None:
    """``value`` as a Decimal when it has a finite decimal expansion (3/8), else None (1/12)."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return None
    return EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 50 else f"{text[:40]}... ({len(text)} characters)"


def version_key(version: str) -> tuple[int, int, str]:
    """Sort key of a version, the ledger's order (:mod:`bridge.ledger.versions`): all-digit
    strings as numbers of any length (``"0009" < "10"``), other text after them in string order.

    Kept here rather than imported: importing the ledger package loads SQLAlchemy (~45 MB).
    """
    if version.isascii() and version.isdigit():
        significant = version.lstrip("0") or "0"
        return (0, len(significant), significant)
    return (1, 0, version)
