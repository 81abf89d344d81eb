"""Configuration errors as operators read them: the dotted setting, its value (secrets masked)
and where it came from (``in bridge.yaml:12``, ``from BRIDGE_PREFETCH``, ``default``)."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bridge.redaction import MASK, Secret, is_secret_key, redact, redact_data

__all__ = ["describe", "origin"]


def _describe(
    error: Any, file_data: Any, origins: Mapping[tuple[Any, ...], str], path: str | Path | None
) -> str:
    ctx = error.get("ctx") or {}
    loc = tuple(ctx.get("loc", error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting" + _suggestion(loc)
    where = _origin(loc, file_data, origins, path)
    value = ctx.get("value", error.get("input"))
    if error["type"] == "missing" or (value is None and where == "default"):
        # Nothing was given: point at the block that lacks it.
        block = _origin(loc[:-1], file_data, origins, path) if len(loc) > 1 else "default"
        reason = "required" if error["type"] == "missing" else message
        text = f"{_dotted(loc)} is not set ({block}): {reason}"
    else:
        text = f"{_dotted(loc)} = {_shown(loc, value)} ({where}): {message}"
    related = ctx.get("related")
    if related:
        text += f" [{_dotted(related)}: {_origin(tuple(related), file_data, origins, path)}]"
    return redact(text)  # the second line: patterns over the whole message


def _origin(
    loc: tuple[Any, ...], file_data: Any, origins: Mapping[tuple[Any, ...], str], path: str | Path | None
) -> str:
    for size in range(len(loc), 0, -1):
        if loc[:size] in origins:
            return origins[loc[:size]]
    node, line = file_data, None
    for step in loc:
        if isinstance(node, dict) and step in node:
            line = getattr(node, "key_lines", {}).get(step, line)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            line = getattr(node, "line", line)
        else:
            return "default"
    return f"in {path}:{line}" if line else f"in {path}"


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text


def _shown(loc: tuple[Any, ...], value: Any) -> str:
    """The value as an error shows it: secrets masked before any text is made of it, then cut."""
    return _short(repr(redact_data(_masked(loc, value))))


def _masked(loc: tuple[Any, ...], value: Any) -> Any:
    """``value`` (the input at ``loc``) with every secret setting in it masked, by type and by name."""
    if loc and isinstance(loc[-1], str) and is_secret_key(loc[-1]) and value is not None:
        return MASK
    annotation = _annotation_at(loc)
    if isinstance(annotation, type) and issubclass(annotation, Secret):
        return annotation.mask(value) if isinstance(value, str) else MASK
    if isinstance(value, Mapping):
        return {key: _masked((*loc, key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked((*loc, index), item) for index, item in enumerate(value)]
    return value


def _short(text: str) -> str:
    """``text`` cut to 80 characters (always after redaction: a cut secret no longer matches a pattern)."""
    return text if len(text) <= 80 else text[:77] + "..."


def _suggestion(loc: tuple[Any, ...]) -> str:
    """' (did you mean ...?)' from the fields of the model that holds the unknown key."""
    model = _annotation_at(loc[:-1])
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _annotation_at(loc: tuple[Any, ...]) -> Any:
    """The type of the setting at ``loc``, following models, tuples and dicts (None if lost)."""
    from bridge.config import Settings  # the root model; imported late: it imports this module

    annotation: Any = Settings
    for step in loc:
        annotation = _without_none(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(step) if isinstance(step, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif origin in (dict, tuple, list):
            annotation = typing.get_args(annotation)[-1 if origin is dict else 0]
        else:
            return None
    return _without_none(annotation)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


describe = _describe
origin = _origin
