"""The shape of a source document for ``bridge mapping lint`` and ``coverage``: which names exist
where, merged from what describes the document.

A :class:`Shape` is one name in the document tree (the root, a segment, an object key, a field)
with the names found below it. Lists are transparent, as they are to mapping paths: the elements
of a repeated segment or a JSON array merge into one shape. Three sources build shapes:

* sample trees (the decoded inputs of a mapping's test cases): :func:`add_sample`;
* IDoc type definitions (the segments and fields a WE60 export lists): :func:`add_idoc_definition`;
* a pydantic model (the canonical envelope a reverse mapping reads): :func:`model_shape`.

A shape is *open* when any name below it is accepted: a free-form object of the canonical model
(``descriptions``), a segment whose definition lists no fields and that no sample shows, or a
document nothing describes.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["Shape", "add_idoc_definition", "add_sample", "model_shape", "open_unseen", "unwrap"]


class Shape:
    """One name of a document tree and the names below it.

    Attributes:
        name: the key (``E1AFKOL``, ``MaterialId``); empty for the root.
        path: the keys from the root to here.
        children: the shapes below, by name.
        scalar: holds a value (a field) in a sample, a definition or the model.
        branch: holds names (a segment or an object) somewhere.
        segment: is an IDoc segment (messages say segment/field instead of key).
        seen: a sample has this name (with any value, null included).
        sampled: a sample holds a value here (not null, not empty): what coverage lists.
        defined: a definition or the model names it (not only the samples).
        listed: a definition or the model lists the names below it, so a name missing here is
            wrong (a segment whose definition gives no fields is not listed: only its samples
            say which fields it has).
        open: any name below is accepted.
        partial: an IDoc segment whose definition lists only some of its fields (marked so in
            the definition file): a name missing there may well exist.
    """

    __slots__ = (
        "branch",
        "children",
        "defined",
        "listed",
        "name",
        "open",
        "partial",
        "path",
        "sampled",
        "scalar",
        "seen",
        "segment",
    )

    def __init__(self, name: str = "", path: tuple[str, ...] = ()) -> None:
        self.name = name
        self.path = path
        self.children: dict[str, Shape] = {}
        self.scalar = False
        self.branch = False
        self.segment = False
        self.seen = False
        self.sampled = False
        self.defined = False
        self.listed = False
        self.open = False
        self.partial = False

    def child(self, name: str) -> Shape:
        """The shape below called ``name``, made when new."""
        found = self.children.get(name)
        if found is None:
            found = self.children[name] = Shape(name, (*self.path, name))
        return found

    @property
    def dotted(self) -> str:
        """``E1AFKOL.E1AFFLL``; empty for the root."""
        return ".".join(self.path)

    def walk(self) -> Iterator[Shape]:
        """This shape and every one below it, depth first in name order of insertion."""
        stack = [self]
        while stack:
            shape = stack.pop()
            yield shape
            stack.extend(reversed(shape.children.values()))

    def __repr__(self) -> str:
        return f"Shape({self.dotted or '<root>'}, {sorted(self.children)})"


def add_sample(root: Shape, tree: Any) -> None:
    """Merge one decoded document tree into ``root`` (iteratively: trees may be deep)."""
    stack: list[tuple[Shape, Any]] = [(root, tree)]
    while stack:
        shape, value = stack.pop()
        shape.seen = True
        if isinstance(value, list):
            stack.extend((shape, item) for item in value)
            continue
        if isinstance(value, Mapping):
            shape.branch = True
            if hasattr(value, "segment_type"):  # an IDoc segment (adapters keep the type on it)
                shape.segment = True
            for key, item in value.items():
                stack.append((shape.child(str(key)), item))
            continue
        if value is not None:
            shape.scalar = True
            if value != "":
                shape.sampled = True


def add_idoc_definition(root: Shape, definition: Any) -> list[Shape]:
    """Merge an IDoc type definition (segments with ``segment_type``, ``parent_type`` and
    ``fields``, as the SAP adapter's definition registry gives them) into ``root``.

    Returns:
        the segments whose definition lists no field (see :func:`open_unseen`).
    """
    by_type: dict[str, list[Any]] = {}
    for segment in getattr(definition, "segments", {}).values():
        by_type.setdefault(segment.segment_type, []).append(segment)
    placed: dict[str, Shape] = {}

    def place(segment_type: str, seen: frozenset[str]) -> Shape:
        if segment_type in placed:
            return placed[segment_type]
        parent_type = next((s.parent_type for s in by_type[segment_type] if s.parent_type), None)
        if parent_type in by_type and parent_type not in seen:
            parent = place(parent_type, seen | {segment_type})
        else:
            parent = root
        shape = placed[segment_type] = parent.child(segment_type)
        return shape

    fieldless = []
    partial = partial_segments(getattr(definition, "source", None))
    for segment_type, variants in by_type.items():
        shape = place(segment_type, frozenset())
        shape.branch = shape.segment = shape.defined = True
        names = [f.name for variant in variants for f in getattr(variant, "fields", ())]
        if segment_type in partial:
            shape.partial = True
        elif names:
            shape.listed = True
        else:
            fieldless.append(shape)
        for name in names:
            field = shape.child(name)
            field.scalar = field.defined = True
    root.branch = root.defined = root.listed = True
    return fieldless


_PARTIAL = re.compile(r"^#\s*erp-mes-bridge:\s*partial\s+(?P<segments>.+)$")


def partial_segments(source: str | None) -> set[str]:
    """The segment types a definition file marks as listing only some of their fields
    (``# erp-mes-bridge: partial E1AFKOL E1AFPOL``: the shipped definitions written from public
    layouts); a real WE60 export has no such line."""
    if not source:
        return set()
    try:
        with open(source, encoding="utf-8", errors="replace") as handle:
            head = [next(handle, "") for _ in range(200)]
    except OSError:
        return set()
    found: set[str] = set()
    for line in head:
        match = _PARTIAL.match(line.strip())
        if match:
            found.update(match["segments"].split())
    return found


def open_unseen(fieldless: list[Shape]) -> None:
    """Open the segments whose definition lists no field and that no sample shows: nothing
    says which fields they have (the shipped definitions give some segments' place only)."""
    for shape in fieldless:
        if not shape.seen:
            shape.open = True


def model_shape(model: type[BaseModel]) -> Shape:
    """The shape of a pydantic model's JSON form (aliases as keys; dicts are open)."""
    root = Shape()
    root.branch = root.defined = root.listed = True
    _add_model(root, model, frozenset())
    return root


def _add_model(shape: Shape, model: type[BaseModel], seen: frozenset[type[BaseModel]]) -> None:
    for name, info in model.model_fields.items():
        key = info.alias or name
        child = shape.child(key)
        child.defined = True
        kind, inner = unwrap(info.annotation)
        if kind == "dict":
            child.branch = child.open = True
        elif inner is not None and inner not in seen:
            child.branch = child.listed = True
            _add_model(child, inner, seen | {model})
        else:
            child.scalar = True


def unwrap(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """``(kind, model)`` of a field's type: kind ``list``, ``dict`` or ``one``; the pydantic
    model inside (of the items for lists and dicts), or None for values."""
    kind = "one"
    for _ in range(10):  # Optional[list[Annotated[Model, ...]]] and the like, a few levels deep
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                break
            annotation = options[0]
        elif origin in (list, tuple, set, frozenset):
            kind = "list"
            args = typing.get_args(annotation)
            annotation = args[0] if args else Any
        elif origin is dict:
            kind = "dict"
            args = typing.get_args(annotation)
            annotation = args[1] if len(args) == 2 else Any
        else:
            break
    model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return kind, model
