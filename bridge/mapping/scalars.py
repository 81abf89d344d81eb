"""What a source value may be when a mapping reads it as one value: a scalar, never a subtree.

Trees hold ``str`` leaves (or JSON numbers and booleans), ``dict`` nodes (IDoc segments are
``dict`` subclasses) and ``list`` for repeated children. A path or transform that expects one
value and finds a node has met a structure mistake (``<AUFNR>208277437<B>9</B></AUFNR>``
makes AUFNR a segment): it is refused with a message saying so, never rendered with
``str()``. Also here: :class:`TransformError` and the ASCII-digit rule shared by the transforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from itertools import islice
from typing import Any

from bridge.canonical.types import first_non_ascii_digit

__all__ = [
    "CACHEABLE_TEXT",
    "SCALAR_TYPES",
    "TransformError",
    "ascii_digits",
    "first_non_ascii_digit",
    "not_a_field",
    "scalar_text",
]

#: Texts longer than this bypass the value caches: a cache keeps its keys, and a hostile
#: document could otherwise pin megabytes of leading zeros in it. Real values are far shorter.
CACHEABLE_TEXT = 64

#: The leaf types a tree may hold (str subclasses such as lxml's smart strings count as str).
SCALAR_TYPES = (str, int, float, Decimal)  # bool is an int


class TransformError(ValueError):
    """A transform could not convert its input; the message says why."""


def not_a_field(value: Any) -> str:
    """Why ``value`` (a node, not a leaf) cannot be read as a field's value."""
    if isinstance(value, Mapping):
        names = ", ".join(str(k) for k in islice(value, 3)) + (", ..." if len(value) > 3 else "")
        kind = getattr(value, "segment_type", None)
        what = f"{kind}, with {names or 'nothing'}" if kind else f"an object with {names or 'nothing'}"
        return f"this is a segment ({what}), not a field: a field holds one value"
    if isinstance(value, list | tuple):
        return f"this is a list of {len(value)} items, not a field: a field holds one value"
    return f"this is a {type(value).__name__}, not a field value"


def scalar_text(value: Any) -> str | None:
    """A scalar as trimmed text, None when absent or blank; TransformError for a node."""
    if value.__class__ is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, SCALAR_TYPES):
        return str(value).strip() or None
    raise TransformError(not_a_field(value))


def ascii_digits(text: str) -> bool:
    """True when ``text`` is only ASCII 0-9 (``str.isdigit`` alone also takes ``１`` and ``²``)."""
    return text.isdigit() and text.isascii()
