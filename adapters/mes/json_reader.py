"""Hardened JSON reading for what the MES sends: strict UTF-8, a size limit checked before
parsing, no duplicate keys, no ``NaN``/``Infinity``, bounded nesting and number sizes.

Python's ``json`` module takes a duplicate key silently (the last one wins), reads ``NaN``
and ``Infinity``, keeps lone surrogates (``"\\ud800"``) that no UTF-8 writer can write back,
and turns ``3560.1`` into a float. Every one of those would change what the MES meant without a
word, so each is refused here with the JSON path of the value (``$.consumed_lots[1].lot``).
Numbers with a fraction or exponent are read as exact :class:`~decimal.Decimal` values.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bridge.errors import DecodeError, shown
from bridge.limits import check_size

__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "json_path", "load_json", "split_array"]

#: The deepest nesting accepted: a work report or an envelope is 4-5 levels deep.
MAX_DEPTH = 64
#: The longest number text accepted; the canonical model carries at most 100 digits.
MAX_NUMBER_CHARS = 120


class _Refused(ValueError):
    """Raised from inside the parser's hooks; turned into a DecodeError by :func:`load_json`."""


class _Object(dict[str, Any]):
    """A JSON object that remembers the first key it was given twice."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.duplicate: str | None = None
        for key, value in pairs:
            if key in self and self.duplicate is None:
                self.duplicate = key
            self[key] = value


def _number(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters is longer than {MAX_NUMBER_CHARS}")
    return Decimal(text)


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters is longer than {MAX_NUMBER_CHARS}")
    return int(text)


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_Object, parse_float=_number, parse_int=_integer, parse_constant=_constant
)


def json_path(parts: tuple[str | int, ...]) -> str:
    """``("consumed_lots", 1, "lot")`` -> ``$.consumed_lots[1].lot``."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(shown(part, 40), ensure_ascii=False)}]"
    return text


def _text(data: bytes, source: str | None) -> str:
    if data.startswith(codecs.BOM_UTF8):  # .NET writers add one; RFC 8259 lets a parser ignore it
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise DecodeError(
            f"not UTF-8: byte 0x{byte:02X} at offset {exc.start} ({exc.reason}); JSON from the MES "
            "must be UTF-8",
            source=source,
        ) from None


def load_json(data: bytes, *, source: str | None = None, max_bytes: int | None = None) -> Any:
    """Parse JSON bytes strictly (see the module docstring).

    Args:
        data: the document's bytes.
        source: where they came from (file name, message id), for errors.
        max_bytes: the size limit (default: ``BRIDGE_MAX_DOCUMENT_BYTES``), checked first.

    Raises:
        DecodeError: too large, not UTF-8, not JSON, or JSON this reader refuses; the message
            names the line and column or the JSON path.
    """
    check_size(data, max_bytes, source=source)
    text = _text(data, source)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source=source) from None
    except _Refused as exc:
        raise DecodeError(f"not accepted as JSON: {exc}", source=source) from None
    except RecursionError:
        raise DecodeError(f"not accepted as JSON: nested deeper than {MAX_DEPTH} levels", source=source) from None
    _check_tree(value, source)
    return value


def _check_tree(root: Any, source: str | None) -> None:
    """Refuse duplicate keys, lone surrogates and deep nesting, naming the path (iterative:
    the tree may be as deep as the parser allowed)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise DecodeError(f"{json_path(path[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels", source=source)
        if isinstance(value, str):
            _check_text(value, path, source)
        elif isinstance(value, _Object):
            if value.duplicate is not None:
                raise DecodeError(
                    f"{json_path((*path, value.duplicate))}: the key appears twice in one object "
                    "(which one is meant cannot be told)",
                    source=source,
                )
            for key, item in reversed(value.items()):
                _check_text(key, (*path, key), source)
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(value))))


def _check_text(text: str, path: tuple[str | int, ...], source: str | None) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DecodeError(
            f"{json_path(path)}: a lone surrogate \\u{ord(text[exc.start]):04x} (an escape of half "
            "a UTF-16 pair) is not text",
            source=source,
        ) from None


def split_array(data: bytes) -> Iterator[bytes]:
    """The elements of a JSON array as the exact bytes that were sent, one by one.

    Call it only on bytes :func:`load_json` accepted as an array: then every element parses.
    """
    text = _text(data, None)
    position = _skip_blank(text, 0) + 1  # past "["
    while True:
        position = _skip_blank(text, position)
        if text[position] == "]":
            return
        _, end = _DECODER.raw_decode(text, position)
        yield text[position:end].encode("utf-8")
        position = _skip_blank(text, end)
        if text[position] == ",":
            position += 1


def _skip_blank(text: str, position: int) -> int:
    while text[position] in " \t\r\n":
        position += 1
    return position
