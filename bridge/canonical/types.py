"""Shared value types of the canonical model: decimal strings, quantities, ids, times."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
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

__all__ = ["CanonicalModel", "DecimalString", "Quantity", "Timestamp", "normalise_decimal"]

#: Pattern a canonical decimal string satisfies: no exponent, no trailing zeros after the point.
DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"


def normalise_decimal(value: Decimal) -> str:
    """Render a Decimal the canonical way: ``-2.000`` -> ``-2``, ``2E+2`` -> ``200``."""
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("a quantity must be a decimal string, not a boolean")
    elif isinstance(value, float):
        raise ValueError("a quantity must be a decimal string, not a float (precision)")
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a decimal number") from exc
    else:
        raise ValueError(f"{value!r} is not a decimal number")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal number")
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
