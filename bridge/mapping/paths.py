"""Paths into a source tree, compiled into small getter functions.

A path is dotted names (``E1AFKOL.E1JSTKL.STAT``, ``payload.order_id``) walked from the current
element. A list on the way is entered element by element: a single-value read takes the first
element, an all-values read takes every one. Prefixes: ``$root.`` (the document), ``$parent.``
(the element around the current foreach element; repeatable), ``$doc.`` (source facts) and the
lone ``$index`` (1-based position in the current foreach). An empty string counts as absent.

A single-value read (``one``) must end at a field: when it reaches a segment, an object or a
list instead (``<AUFNR>208277437<B>9</B></AUFNR>`` makes AUFNR a segment), it raises a
MappingError naming the path and saying so, rather than handing the subtree on as a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.scalars import SCALAR_TYPES, not_a_field

__all__ = ["CompiledPath", "Scope", "compile_path"]


class Scope:
    """Where an expression is evaluated: the document root, source facts, enclosing elements."""

    __slots__ = ("doc", "index", "memo", "parents", "root")

    def __init__(
        self,
        root: Any,
        doc: Mapping[str, Any],
        parents: tuple[Any, ...] = (),
        index: int = 0,
    ) -> None:
        self.root = root
        self.doc = doc
        self.parents = parents
        self.index = index
        #: values of condition paths already read in this scope (several cases test one path)
        self.memo: dict[tuple[str, int], list[Any]] | None = None


Getter = Callable[[Any, Scope], Any]


def _walk_one(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if type(node) is list:
            if not node:
                return None
            node = node[0]
        if not isinstance(node, dict):
            return None
        node = node.get(key)
        if node is None:
            return None
    if type(node) is list:
        node = node[0] if node else None
    return None if node == "" else node


def _leaf(value: Any, text: str) -> Any:
    """``value`` when it is a field's value (or None); MappingError when it is a node."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, SCALAR_TYPES):
        return value
    raise MappingError(not_a_field(value), path=text)


def _walk_all(node: Any, keys: tuple[str, ...]) -> list[Any]:
    """Every value at the end of ``keys``, lists entered level by level (no recursion)."""
    level = node if type(node) is list else [node]
    for key in keys:
        following: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                value = item.get(key)
                if value is None:
                    continue
                if type(value) is list:
                    following.extend(value)
                else:
                    following.append(value)
        level = following
        if not level:
            return level
    return [value for value in level if value is not None and value != ""]


def _walk_elements(node: Any, keys: tuple[str, ...]) -> list[tuple[Any, tuple[Any, ...]]]:
    """(element, the elements passed on the way) for each element at the path's end."""
    level: list[tuple[Any, tuple[Any, ...]]] = (
        [(item, ()) for item in node] if type(node) is list else [(node, ())]
    )
    for key in keys:
        following: list[tuple[Any, tuple[Any, ...]]] = []
        for item, trail in level:
            if isinstance(item, dict):
                value = item.get(key)
                if value is None:
                    continue
                inner = (*trail, item)
                if type(value) is list:
                    following.extend((element, inner) for element in value)
                else:
                    following.append((value, inner))
        level = following
    return [(value, trail) for value, trail in level if value is not None and value != ""]


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A path compiled once: ``one`` reads a field's value, ``all`` every value (fields or
    segments, for conditions), ``elements`` the elements for foreach."""

    text: str
    one: Getter
    all: Callable[[Any, Scope], list[Any]]
    elements: Callable[[Any, Scope], Iterable[tuple[Any, tuple[Any, ...]]]]


def _base_selector(prefix: list[str], text: str) -> Callable[[Any, Scope], Any] | None:
    """None means 'the current node'; otherwise a function choosing the starting node."""
    if not prefix:
        return None
    if prefix == ["$root"]:
        return lambda node, scope: scope.root
    if all(p == "$parent" for p in prefix):
        depth = len(prefix)

        def parent(node: Any, scope: Scope) -> Any:
            parents = scope.parents
            return parents[-depth] if len(parents) >= depth else None

        return parent
    raise MappingDefinitionError(f"path {text!r}: cannot combine {'.'.join(prefix)}")


def compile_path(text: str) -> CompiledPath:
    """Compile a path string; raise MappingDefinitionError for malformed paths."""
    if not isinstance(text, str) or not text.strip():
        raise MappingDefinitionError(f"path {text!r} is empty")
    parts = text.strip().split(".")
    if any(not p for p in parts):
        raise MappingDefinitionError(f"path {text!r} has an empty step (two dots or a dot at an end)")
    if parts == ["$index"]:
        return CompiledPath(
            text,
            lambda node, scope: scope.index,
            lambda node, scope: [scope.index],
            lambda node, scope: [(scope.index, ())],
        )
    if parts[0] == "$doc":
        if len(parts) != 2:
            raise MappingDefinitionError(f"path {text!r}: $doc takes one name, e.g. $doc.document_id")
        name = parts[1]

        def doc_one(node: Any, scope: Scope) -> Any:
            value = scope.doc.get(name)
            return value if value.__class__ is str and value else _leaf(value, text)

        return CompiledPath(
            text,
            doc_one,
            lambda node, scope: [v] if (v := doc_one(node, scope)) is not None else [],
            lambda node, scope: [(v, ())] if (v := doc_one(node, scope)) is not None else [],
        )
    prefix = [p for p in parts if p.startswith("$")]
    keys = tuple(parts[len(prefix) :])
    if prefix != parts[: len(prefix)] or any(k.startswith("$") for k in keys):
        raise MappingDefinitionError(f"path {text!r}: $-prefixes must come first")
    base = _base_selector(prefix, text)
    return _make_path(text, base, keys)


def _make_path(text: str, base: Callable[[Any, Scope], Any] | None, keys: tuple[str, ...]) -> CompiledPath:
    # every ``one`` returns a non-empty str at once (the common case) and checks anything else
    if base is None:
        if len(keys) == 1:
            key = keys[0]

            def one(node: Any, scope: Scope) -> Any:
                try:
                    value = node.get(key)
                except AttributeError:  # a list (take its first element) or a leaf
                    return _leaf(_walk_one(node, keys), text)
                if value.__class__ is str:
                    return value or None
                if value is None:
                    return None
                if type(value) is list:
                    value = value[0] if value else None
                    if value.__class__ is str:
                        return value or None
                return _leaf(value, text)

        else:

            def one(node: Any, scope: Scope) -> Any:
                value = _walk_one(node, keys)
                return value if value is None or value.__class__ is str else _leaf(value, text)

        def every(node: Any, scope: Scope) -> list[Any]:
            return _walk_all(node, keys)

        def elements(node: Any, scope: Scope) -> Iterable[tuple[Any, tuple[Any, ...]]]:
            return _walk_elements(node, keys)

    else:
        choose = base

        def one(node: Any, scope: Scope) -> Any:
            start = choose(node, scope)
            if start is None:
                return None
            value = _walk_one(start, keys)
            return value if value is None or value.__class__ is str else _leaf(value, text)

        def every(node: Any, scope: Scope) -> list[Any]:
            start = choose(node, scope)
            return _walk_all(start, keys) if start is not None else []

        def elements(node: Any, scope: Scope) -> Iterable[tuple[Any, tuple[Any, ...]]]:
            start = choose(node, scope)
            return _walk_elements(start, keys) if start is not None else ()

    return CompiledPath(text, one, every, elements)
