"""What the loader refuses in a mapping file, every instance rather than the first
(``bridge mapping lint``).

The loader (:func:`bridge.mapping.loader.compile_mapping`) reports every schema violation at
once, but compiling stops at the first mistake. When it does, lint compiles each part on its
own: every field (and, when a field fails, each of its nested fields, to find every mistake
inside), the event, the envelope overrides and ``each``; so one run names them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bridge.errors import BridgeError
from bridge.mapping.compile_context import CompileContext
from bridge.mapping.compiler import compile_expression, inline_tables
from bridge.mapping.lint_report import Problem, split_messages
from bridge.mapping.lookups import LookupTable

__all__ = ["loader_problems"]


def loader_problems(data: Mapping[str, Any], file: str, lookups: Mapping[str, LookupTable]) -> list[Problem]:
    """Every problem the loader finds in parsed mapping ``data`` from ``file``."""
    from bridge.mapping.loader import compile_mapping, schema_errors
    from bridge.mapping.mapping import each_walker

    try:
        compile_mapping(data, file, lookups)
    except BridgeError as exc:
        problems = split_messages(str(exc), file)
    else:
        return []
    if data.get("version") != 1 or schema_errors(data, file):
        return problems  # all of them already: the schema is checked before compiling
    ctx = _context(data, file, lookups, problems)
    parts: list[tuple[Any, str]] = []
    fields = data.get("fields")
    if isinstance(fields, Mapping):
        parts.extend((expr, ctx.where(fields, name)) for name, expr in fields.items())
    if "event" in data:
        parts.append((data["event"], ctx.where(data, "event")))
    envelope = data.get("envelope")
    if isinstance(envelope, Mapping):
        parts.extend((expr, ctx.where(envelope, key)) for key, expr in envelope.items())
    for expr, where in parts:
        problems.extend(p for p in _compile(expr, ctx, where, file) if p not in problems)
    if isinstance(data.get("each"), str):
        try:
            each_walker(data["each"])
        except BridgeError as exc:
            problems.extend(
                p for p in split_messages(f"{ctx.where(data, 'each')}: {exc}", file) if p not in problems
            )
    return problems


def _context(
    data: Mapping[str, Any], file: str, lookups: Mapping[str, LookupTable], problems: list[Problem]
) -> CompileContext:
    from bridge.mapping.transforms import TransformError, resolve_timezone

    source = data.get("source") if isinstance(data.get("source"), Mapping) else {}
    timezone = str(source.get("timezone", "UTC"))
    try:
        resolve_timezone(timezone)
    except TransformError:
        timezone = "UTC"  # the whole-file compile reported it
    try:
        inline = inline_tables(data.get("lookups"), file)
    except BridgeError as exc:
        problems.extend(p for p in split_messages(str(exc), file) if p not in problems)
        inline = {}
    return CompileContext(str(data.get("mapping", "")), file, timezone, inline, lookups)


def _compile(expr: Any, ctx: CompileContext, where: str, file: str) -> list[Problem]:
    """The problems of one expression: those of its nested fields when it has any that fail,
    else its own."""
    try:
        compile_expression(expr, ctx, where)
    except BridgeError as exc:
        inner = [p for sub, at in _nested(expr, ctx, where) for p in _compile(sub, ctx, at, file)]
        return inner or split_messages(str(exc), file)
    return []


def _nested(expr: Any, ctx: CompileContext, where: str) -> Iterator[tuple[Any, str]]:
    if not isinstance(expr, Mapping):
        return
    fields = expr.get("fields")
    if isinstance(fields, Mapping):
        for name, sub in fields.items():
            yield sub, ctx.where(fields, name)
    if "item" in expr:
        yield expr["item"], ctx.where(expr, "item")
