"""The registry of named transforms and the checks of their options at load time.

A transform is registered under its YAML name with :func:`transform`; vendor transforms come
from the installed adapters (:func:`all_transforms`). :func:`check_options` refuses an option
the transform does not take, or of the wrong type, when the mapping loads.
"""

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Callable
from types import UnionType
from typing import Any, get_args, get_type_hints

from bridge.canonical.types import MAX_DECIMAL_PLAIN_DIGITS
from bridge.mapping.scalars import TransformError, ascii_digits

__all__ = [
    "MAX_WIDTH",
    "TRANSFORMS",
    "TransformFunc",
    "all_transforms",
    "check_format",
    "check_options",
    "get_transform",
    "transform",
    "transform_arity",
    "transform_options",
]

TransformFunc = Callable[..., Any]

#: name -> function; filled by the ``@transform`` decorator below.
TRANSFORMS: dict[str, TransformFunc] = {}

def transform(name: str) -> Callable[[TransformFunc], TransformFunc]:
    """Register ``func`` as the transform called ``name`` in YAML."""

    def register(func: TransformFunc) -> TransformFunc:
        if name in TRANSFORMS:
            raise RuntimeError(f"transform {name!r} registered twice")
        TRANSFORMS[name] = func
        return func

    return register


def get_transform(name: str) -> TransformFunc | None:
    """The built-in or adapter transform called ``name``, or None."""
    found = TRANSFORMS.get(name)
    return found if found is not None else all_transforms().get(name)


def all_transforms() -> dict[str, TransformFunc]:
    """Every transform a mapping may name: the built-in ones and those adapters bring
    (``sap_date`` comes with the SAP adapter).

    Raises:
        ConfigError: an adapter's transform would shadow another's or a built-in one.
    """
    from bridge.adapter import adapter_transforms

    return {**TRANSFORMS, **adapter_transforms(reserved=tuple(TRANSFORMS))}


def transform_options(func: TransformFunc) -> dict[str, inspect.Parameter]:
    """The YAML options (keyword-only parameters) a transform accepts."""
    return {
        p.name: p
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def transform_arity(func: TransformFunc) -> tuple[int, int | None]:
    """(minimum, maximum or None for *args) number of input values."""
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    has_var = any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(func).parameters.values()
    )
    required = sum(1 for p in params if p.default is inspect.Parameter.empty)
    return required, None if has_var else len(params)


#: Widest text a transform option may ask for (``alpha_pad`` length, a template's width): more
#: is a mapping mistake, and no bound would let one YAML line allocate gigabytes.
MAX_WIDTH = 4096

#: Inclusive limits of the integer options.
OPTION_RANGES: dict[str, tuple[int, int]] = {
    "length": (1, MAX_WIDTH),
    "places": (0, MAX_DECIMAL_PLAIN_DIGITS),
}

_FORMAT_NUMBER = re.compile(r"[0-9]+")


def check_options(func: TransformFunc, options: dict[str, Any]) -> None:
    """Refuse option values a transform cannot run with, at load: wrong type, out of range,
    an empty ``old``, a ``format`` that is not a plain ``{0}``/``{1}`` template.

    Raises:
        TransformError: names the option, what it must be and what it is.
    """
    hints = get_type_hints(func)
    for name, value in options.items():
        expected = hints.get(name, Any)
        if not _fits(value, expected):
            raise TransformError(f"option {name} must be {_type_words(expected)}, not {value!r}")
        if name in OPTION_RANGES:
            low, high = OPTION_RANGES[name]
            if not low <= value <= high:
                raise TransformError(f"option {name} must be from {low} to {high}, not {value}")
    if options.get("old") == "":
        raise TransformError("option old must not be empty")
    if "format" in options:
        check_format(options["format"])


def _fits(value: Any, expected: Any) -> bool:
    if expected is Any:
        return True
    if isinstance(expected, UnionType):
        return any(_fits(value, part) for part in get_args(expected))
    if expected is type(None):
        return value is None
    if expected is int:  # a YAML true is not a length
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _type_words(expected: Any) -> str:
    if isinstance(expected, UnionType):
        return " or ".join(_type_words(part) for part in get_args(expected))
    words = {int: "a whole number", str: "text", bool: "true or false", type(None): "null"}
    return words.get(expected, getattr(expected, "__name__", str(expected)))


def check_format(format: str) -> None:
    """A template fills numbered inputs only: ``{0.__class__}`` would reach Python objects."""
    try:
        parsed = list(string.Formatter().parse(format))
    except ValueError as exc:
        raise TransformError(f"format {format!r} is not a template: {exc}") from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field and not ascii_digits(field):
            raise TransformError(
                f"format {format!r}: {{{field}}} is not an input number such as {{0}} "
                "(names, attributes and indexes are not allowed)"
            )
        if conversion not in (None, "s"):
            raise TransformError(f"format {format!r}: the conversion !{conversion} is not allowed")
        widths = _FORMAT_NUMBER.findall(spec or "")
        if "{" in (spec or "") or any(len(n) > 4 or int(n) > MAX_WIDTH for n in widths):
            raise TransformError(f"format {format!r}: the format spec {spec!r} is not allowed")
