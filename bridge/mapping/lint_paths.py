"""Source paths of a mapping checked against the shape of its documents (``bridge mapping lint``)
and recorded as read (``bridge mapping coverage``).

The walk follows the compiler (:mod:`bridge.mapping.compiler`): paths sit in ``path``,
``first_of``, ``args``, ``concat``, ``template`` placeholders and conditions (``when``,
``filter``, ``test``, ``cases``); ``foreach`` and a mapping's ``each`` move the base of the
paths inside them to the elements they walk, and put the elements passed on the way in front of
``$parent.``, as :mod:`bridge.mapping.paths` does at run time. ``envelope`` expressions read the
whole document. A path that the loader refuses as malformed is left to the loader.

How sure a finding is depends on what describes the document there:

* where a definition or the canonical model lists the names (a segment's field list, the
  envelope), a missing name is an error;
* where only the cases' samples say what exists (JSON documents, a segment whose definition
  lists no fields), a missing name is an error when it looks like one that is there (a typo,
  shown with the suggestion), else a warning: the samples need not show every field;
* a ``first_of`` alternative (when another alternative is there) and an ``exists`` test may be
  absent by design: missing, they are warnings unless a definition lists the names there;
* a path through a value, a single-value read ending at a segment or object, and ``$parent.``
  steps past the document are errors.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.mapping.lint_report import Problem, did_you_mean, items, line_at, nearest
from bridge.mapping.lint_shapes import Shape
from bridge.mapping.lint_wording import Describer

__all__ = ["Alt", "SourceWalker"]

_FACTS = ("document_id", "instance", "version", "document_type", "extension", "origin", "system")


@dataclass(frozen=True, slots=True)
class Alt:
    """One place a path may start from: the current element's shape and the enclosing ones."""

    node: Shape
    parents: tuple[Shape, ...] = ()


Ctx = tuple[Alt, ...]


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why a path leads nowhere: the message, the nearest known name, and whether a definition
    or the model lists the names where it failed (then it is certainly wrong)."""

    message: str
    suggestion: str | None = None
    listed: bool = False
    partial: bool = False  # the definition there lists only some names: a near miss may be real


def _open() -> Shape:
    shape = Shape()
    shape.open = True
    return shape


class SourceWalker:
    """Walks one mapping's expressions, checking and recording every source path.

    Args:
        root: the shape of the documents the mapping reads.
        file: the mapping file, for problems.
        describe: message wording.
        facts: ``$doc`` names known to exist (None: ``$doc`` is not checked).
    """

    def __init__(self, root: Shape, file: str, describe: Describer, facts: set[str] | None = None) -> None:
        self.root = root
        self.file = file
        self.describe = describe
        self.facts = facts
        self.problems: list[Problem] = []
        self.read: set[Shape] = set()

    # -- the mapping --------------------------------------------------------------------

    def walk_mapping(self, data: Mapping[str, Any]) -> None:
        """Every path of a parsed mapping file."""
        top: Ctx = (Alt(self.root),)
        ctx = top
        if isinstance(data.get("each"), str):
            ctx = self.elements([data["each"]], top, line_at(data, "each"))
        envelope = data.get("envelope")
        if isinstance(envelope, Mapping):
            for key, expr in envelope.items():
                self.expression(expr, top, line_at(envelope, key))
        if "event" in data:
            self.expression(data["event"], ctx, line_at(data, "event"))
        fields = data.get("fields")
        if isinstance(fields, Mapping):
            for key, expr in fields.items():
                self.expression(expr, ctx, line_at(fields, key))

    def expression(self, spec: Any, ctx: Ctx, line: int) -> None:
        """The paths of one expression (constants have none)."""
        if not isinstance(spec, Mapping):
            return
        line = getattr(spec, "line", None) or line
        if "when" in spec:
            self.condition(spec["when"], ctx, line_at(spec, "when", line))
        if "path" in spec:
            self.one(spec["path"], ctx, line_at(spec, "path", line))
        alternatives = items(spec.get("first_of"))
        for item in alternatives:
            if not isinstance(item, str):
                self.expression(item, ctx, line_at(spec, "first_of", line))
        self._alternatives(
            [a for a in alternatives if isinstance(a, str)],
            ctx,
            line_at(spec, "first_of", line),
            expressions=len(alternatives) - sum(isinstance(a, str) for a in alternatives),
        )
        for key in ("args", "concat"):
            for item in items(spec.get(key)):
                if isinstance(item, str):
                    self.one(item, ctx, line_at(spec, key, line))
                else:
                    self.expression(item, ctx, line_at(spec, key, line))
        if isinstance(spec.get("template"), str):
            for name in _placeholders(spec["template"]):
                self.one(name, ctx, line_at(spec, "template", line))
        if "test" in spec:
            self.condition(spec["test"], ctx, line_at(spec, "test", line))
        for case in items(spec.get("cases")):
            if isinstance(case, Mapping):
                case_line = getattr(case, "line", None) or line
                self.condition(case.get("when"), ctx, line_at(case, "when", case_line))
                self.expression(case.get("then"), ctx, line_at(case, "then", case_line))
        if "cases" in spec:
            self.expression(spec.get("otherwise"), ctx, line_at(spec, "otherwise", line))
        for item in items(spec.get("chain")):
            self.expression(item, ctx, line)
        if "foreach" in spec:
            paths = spec["foreach"] if isinstance(spec["foreach"], list) else [spec["foreach"]]
            inner = self.elements(paths, ctx, line_at(spec, "foreach", line))
            self.condition(spec.get("filter"), inner, line_at(spec, "filter", line))
            self.expression(spec.get("key"), inner, line_at(spec, "key", line))
            self.expression(spec.get("item"), inner, line_at(spec, "item", line))
            self._fields(spec.get("fields"), inner, line)
        else:
            self._fields(spec.get("fields"), ctx, line)

    def _fields(self, fields: Any, ctx: Ctx, line: int) -> None:
        if isinstance(fields, Mapping):
            for key, expr in fields.items():
                self.expression(expr, ctx, line_at(fields, key, line))

    def condition(self, spec: Any, ctx: Ctx, line: int) -> None:
        """The paths of a condition (``exists`` may test segments and objects)."""
        if not isinstance(spec, Mapping):
            return
        line = getattr(spec, "line", None) or line
        for key in ("all", "any"):
            for item in items(spec.get(key)):
                self.condition(item, ctx, line)
        if "not" in spec:
            self.condition(spec["not"], ctx, line)
        if "path" in spec:
            self.resolve(spec["path"], ctx, line, value=False, lenient="exists" in spec)

    # -- paths --------------------------------------------------------------------------

    def one(self, text: Any, ctx: Ctx, line: int) -> None:
        """A single-value read: must exist and end at a field."""
        self.resolve(text, ctx, line, value=True)

    def _alternatives(self, texts: list[str], ctx: Ctx, line: int, *, expressions: int) -> None:
        """The paths of a ``first_of``: each may be absent when another one is there."""
        tried = [(text, self._try(text, ctx)) for text in texts]
        present = sum(1 for _, (found, _) in tried if found) + expressions
        for text, (found, failure) in tried:
            self._settle(text, line, found, failure, value=True, lenient=present > 0)

    def elements(self, paths: list[Any], ctx: Ctx, line: int) -> Ctx:
        """The context inside a ``foreach``/``each`` over ``paths``."""
        inner: list[Alt] = []
        for text in paths:
            for node, trail, alt in self.resolve(text, ctx, line, value=False):
                inner.append(Alt(node, (*alt.parents, *trail)))
        return tuple(inner) or (Alt(_open(), ctx[0].parents if ctx else ()),)

    def resolve(
        self, text: Any, ctx: Ctx, line: int, *, value: bool, lenient: bool = False
    ) -> list[tuple[Shape, list[Shape], Alt]]:
        """Where ``text`` leads from each place of ``ctx``; reports a path that leads nowhere.

        Args:
            value: the read takes one value, so it must end at a field.
            lenient: the mapping itself allows the path to be absent (an ``exists`` test).
        """
        found, failure = self._try(text, ctx)
        self._settle(text, line, found, failure, value=value, lenient=lenient)
        return found

    def _try(self, text: Any, ctx: Ctx) -> tuple[list[tuple[Shape, list[Shape], Alt]], _Failure | None]:
        found: list[tuple[Shape, list[Shape], Alt]] = []
        if not isinstance(text, str) or not text.strip():
            return found, None
        parts = text.strip().split(".")
        if any(not p for p in parts) or parts == ["$index"]:
            return found, None
        if parts[0] == "$doc":
            return found, self._fact(parts)
        prefix = [p for p in parts if p.startswith("$")]
        keys = parts[len(prefix) :]
        if prefix != parts[: len(prefix)] or (prefix and prefix != ["$root"] and set(prefix) != {"$parent"}):
            return found, None  # malformed: the loader says so
        failure: _Failure | None = None
        for alt in ctx:
            start = self._start(prefix, alt)
            if isinstance(start, _Failure):
                failure = failure or start
                continue
            node, trail, missed = self._follow(start, keys)
            if missed is None:
                found.append((node, trail, alt))
            else:
                failure = failure or missed
        return found, None if found else failure

    def _settle(
        self,
        text: Any,
        line: int,
        found: list[tuple[Shape, list[Shape], Alt]],
        failure: _Failure | None,
        *,
        value: bool,
        lenient: bool,
    ) -> None:
        if failure is not None:
            # certain: a definition or the model lists the names there, or the name looks like a
            # known one (a typo); else only the samples lack it, which they may
            certain = failure.listed or (failure.suggestion is not None and not lenient and not failure.partial)
            self.problems.append(
                Problem(
                    self.file,
                    line,
                    f"path {text}: {failure.message}" + did_you_mean(failure.suggestion),
                    "error" if certain else "warning",
                )
            )
            return
        ends = [node for node, _, _ in found]
        self.read.update(ends)
        if value and ends and all(n.branch and not n.scalar and not n.open for n in ends):
            self.problems.append(
                Problem(self.file, line, f"path {text}: {self.describe.not_a_value(ends[0])}")
            )

    def _start(self, prefix: list[str], alt: Alt) -> Shape | _Failure:
        if not prefix:
            return alt.node
        if prefix == ["$root"]:
            return self.root
        depth = len(prefix)
        if len(alt.parents) >= depth:
            return alt.parents[-depth]
        return _Failure(
            f"{depth} $parent steps go past the document: {len(alt.parents)} element(s) enclose this one "
            "(each foreach or each adds those it passes)",
            listed=True,
        )

    def _follow(self, start: Shape, keys: list[str]) -> tuple[Shape, list[Shape], _Failure | None]:
        node = start
        trail: list[Shape] = []
        for position, key in enumerate(keys):
            child = node.children.get(key)
            if child is None and node.open:  # anything goes below: keep counting the elements passed
                child = Shape(key, (*node.path, key))
                child.open = True
            if child is None:
                message = self.describe.missing(key, node, last=position == len(keys) - 1)
                # a segment the definition lists only partly: with samples showing it, those and
                # the definition count as its list, as for a complete one; with none, a near miss
                # (MATNR for AUFNR) may well be a real field
                unsure = node.partial and not node.seen
                if unsure:
                    message += (" (its definition there lists only some of its fields and no case sample shows "
                                "the segment: give the system's WE60 export with --definitions, or add a case)")
                leaf = node.scalar and not node.branch
                listed = node.listed or leaf or (node.partial and node.seen)
                return node, trail, _Failure(message, nearest(key, node.children), listed=listed, partial=unsure)
            trail.append(node)
            node = child
        return node, trail, None

    def _fact(self, parts: list[str]) -> _Failure | None:
        if self.facts is None or len(parts) != 2:
            return None
        name = parts[1]
        known = {*_FACTS, *self.facts} if self.describe.kind != "canonical" else self.facts
        if name in known:
            return None
        return _Failure(
            f"the documents have no fact {name} (facts: {', '.join(sorted(known))})",
            nearest(name, known),
            listed=self.describe.kind == "canonical",
        )


def _placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return []  # the loader reports a bad template
