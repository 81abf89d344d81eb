"""A plain-data view of an IDoc for ``bridge idoc show`` (JSON/YAML friendly), and its JSON
text written piece by piece.

:func:`json_chunks` gives exactly the text of ``json.dumps(view, indent=2, ensure_ascii=False)``
(``view`` one IDoc's dict, or the list of them for several IDocs) without building that text or
the dicts of all segments at once: a segment's dict is made when it is written, and each IDoc is
let go once written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from adapters.sap.model import IDoc, Segment

__all__ = ["idoc_to_dict", "json_chunks", "segment_to_dict"]


class _Later:
    """A list in a view whose items are turned into dicts only when written."""

    __slots__ = ("convert", "items")

    def __init__(self, items: Sequence[Any], convert: Callable[[Any], dict[str, Any]]) -> None:
        self.items = items
        self.convert = convert


def _segment_view(segment: Segment) -> dict[str, Any]:
    return {
        "type": segment.segment_type,
        "definition": segment.definition,
        "segnum": segment.segnum,
        "fields": segment.fields(),
        "children": _Later(segment.children, _segment_view),
    }


def _idoc_view(idoc: IDoc) -> dict[str, Any]:
    return {
        "idoc_type": idoc.idoc_type,
        "extension": idoc.extension,
        "control": dict(idoc.control),
        "segments": _Later(idoc.segments, _segment_view),
    }


def _materialised(value: Any) -> Any:
    if isinstance(value, _Later):
        return [_materialised(value.convert(item)) for item in value.items]
    if isinstance(value, dict):
        return {key: _materialised(item) for key, item in value.items()}
    return value


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    """One segment with its fields and, recursively, its children in document order."""
    return _materialised(_segment_view(segment))


def idoc_to_dict(idoc: IDoc) -> dict[str, Any]:
    """The IDoc as ``{"idoc_type", "extension", "control", "segments"}``."""
    return _materialised(_idoc_view(idoc))


def _chunks(value: Any, level: int) -> Iterator[str]:
    """``value``'s JSON text at nesting ``level``, as ``json.dumps(indent=2)`` lays it out."""
    inner = "\n" + "  " * (level + 1)
    if isinstance(value, _Later):
        if not value.items:
            yield "[]"
            return
        yield "["
        for n, item in enumerate(value.items):
            yield "," + inner if n else inner
            yield from _chunks(value.convert(item), level + 1)
        yield "\n" + "  " * level + "]"
    elif isinstance(value, dict) and value and any(isinstance(v, _Later) for v in value.values()):
        yield "{"
        for n, (key, item) in enumerate(value.items()):
            yield ("," + inner if n else inner) + json.dumps(key, ensure_ascii=False) + ": "
            yield from _chunks(item, level + 1)
        yield "\n" + "  " * level + "}"
    else:  # plain data: newlines in the text are only json's own (strings escape theirs)
        text = json.dumps(value, indent=2, ensure_ascii=False)
        yield text.replace("\n", "\n" + "  " * level) if level else text


def json_chunks(idocs: list[IDoc]) -> Iterator[str]:
    """The JSON text of the IDocs' views, in pieces: one IDoc as an object, several as a list.

    The list is emptied as the IDocs are written, so that each IDoc tree can be freed once it
    is out (pass a list nobody else needs).
    """
    if len(idocs) == 1:
        yield from _chunks(_idoc_view(idocs.pop()), 0)
        return
    idocs.reverse()

    def next_view(_: int) -> dict[str, Any]:
        return _idoc_view(idocs.pop())

    yield from _chunks(_Later(range(len(idocs)), next_view), 0)
