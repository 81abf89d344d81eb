"""Compile mapping expressions into plain Python closures (never eval/exec of user text).

An expression produces one target value in the order: source (``path``, ``first_of``,
``value``, ``template``, ``concat``, ``args``, ``test``, ``cases``, ``foreach``, ``fields``,
``chain``) -> ``transform`` (each in turn) -> ``lookup`` -> ``default`` -> ``required``;
``when`` gates all of it. Every compiled expression is ``fn(node, scope) -> value``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.compile_context import CompileContext
from bridge.mapping.compile_steps import inline_tables, with_lookup, with_transforms
from bridge.mapping.conditions import compile_condition
from bridge.mapping.paths import Scope, compile_path
from bridge.mapping.scalars import SCALAR_TYPES, not_a_field

__all__ = ["CompileContext", "Expr", "compile_expression", "compile_fields", "inline_tables"]

Expr = Callable[[Any, Scope], Any]

_SOURCES = (
    "path",
    "first_of",
    "value",
    "template",
    "concat",
    "args",
    "test",
    "cases",
    "foreach",
    "fields",
    "chain",
)
_FOREACH_ONLY = ("filter", "key", "item")


def _located(err: MappingError, name: str) -> MappingError:
    """Prefix the target field name as the error travels out of nested objects and lists."""
    if err.field is None:
        err.field = name
    elif err.field.startswith("["):
        err.field = f"{name}{err.field}"
    else:
        err.field = f"{name}.{err.field}"
    return err


def compile_fields(spec: Any, ctx: CompileContext, where: str) -> Expr:
    """Compile ``{field: expression}`` into a function building a dict (absent values omitted)."""
    if not isinstance(spec, Mapping) or not spec:
        raise MappingDefinitionError(f"{where}: fields must be an object of field: expression")
    items = [(name, compile_expression(expr, ctx, ctx.where(spec, name))) for name, expr in spec.items()]

    def build(node: Any, scope: Scope) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        for name, produce in items:
            try:
                value = produce(node, scope)
            except MappingError as err:
                raise _located(err, name) from err.__cause__
            if value is not None:
                out[name] = value
        return out or None

    return build


def _input(item: Any, ctx: CompileContext, where: str) -> tuple[Expr, str]:
    """A path string or an expression used as an input; returns (getter, description)."""
    if isinstance(item, str):
        try:
            return compile_path(item).one, item
        except MappingDefinitionError as exc:
            raise MappingDefinitionError(f"{where}: {exc}") from None
    if isinstance(item, Mapping):
        return compile_expression(item, ctx, where), _describe(item)
    raise MappingDefinitionError(f"{where}: {item!r} is neither a path nor an expression")


def _describe(spec: Mapping[str, Any]) -> str:
    for key in ("path", "template"):
        if key in spec:
            return str(spec[key])
    if "value" in spec:
        return f"constant {spec['value']!r}"
    if "first_of" in spec:
        return " | ".join(str(p) if isinstance(p, str) else _describe(p) for p in spec["first_of"])
    if "args" in spec:
        return " + ".join(str(p) if isinstance(p, str) else _describe(p) for p in spec["args"])
    if "foreach" in spec:
        return str(spec["foreach"])
    return next(iter(spec), "expression")


def compile_expression(spec: Any, ctx: CompileContext, where: str) -> Expr:
    """Compile one expression object (see module docstring for the order of steps)."""
    if not isinstance(spec, Mapping):
        value = spec
        return lambda node, scope: value
    sources = [k for k in _SOURCES if k in spec]
    if "foreach" in spec and "fields" in sources:
        sources.remove("fields")  # with foreach, fields describe each item
    if len(sources) != 1:
        if not sources:
            raise MappingDefinitionError(f"{where}: an expression needs one source: {', '.join(_SOURCES)}")
        raise MappingDefinitionError(f"{where}: an expression has one source, found {', '.join(sources)}")
    source = sources[0]
    if source != "foreach":
        stray = [k for k in _FOREACH_ONLY if k in spec]
        if stray:
            raise MappingDefinitionError(f"{where}: {', '.join(stray)} only go with foreach")
    if "separator" in spec and source != "concat":
        raise MappingDefinitionError(f"{where}: separator only goes with concat")
    if "otherwise" in spec and source != "cases":
        raise MappingDefinitionError(f"{where}: otherwise only goes with cases")
    description = _describe(spec)

    produce, multi = _compile_source(source, spec, ctx, where)
    if "transform" in spec:
        inputs = len(spec["args"]) if multi else 1
        if multi and inputs == 1:
            single = produce
            produce = lambda node, scope: single(node, scope)[0]  # noqa: E731
        produce = with_transforms(produce, inputs, spec["transform"], ctx, where, description)
    elif multi:
        raise MappingDefinitionError(f"{where}: args feeds a transform; add transform:")
    if "lookup" in spec:
        produce = with_lookup(produce, spec, ctx, where, description)
    elif "on_missing" in spec:
        raise MappingDefinitionError(f"{where}: on_missing only goes with lookup")
    if "default" in spec:
        fallback = spec["default"]
        inner_default = produce

        def produce(node: Any, scope: Scope, _inner: Expr = inner_default) -> Any:
            value = _inner(node, scope)
            return fallback if value is None else value

    if spec.get("required"):
        inner_required = produce

        def produce(node: Any, scope: Scope, _inner: Expr = inner_required) -> Any:
            value = _inner(node, scope)
            if value is None:
                raise MappingError("required value is missing", path=description)
            return value

    if "when" in spec:
        gate = compile_condition(spec["when"], ctx.where(spec, "when"))
        inner_when = produce

        def produce(node: Any, scope: Scope, _inner: Expr = inner_when) -> Any:
            return _inner(node, scope) if gate(node, scope) else None

    return produce


def _compile_source(
    source: str, spec: Mapping[str, Any], ctx: CompileContext, where: str
) -> tuple[Expr, bool]:
    """(producer, produces a tuple of inputs for a multi-input transform)."""
    raw = spec[source]
    at = ctx.where(spec, source)
    if source == "path":
        try:
            return compile_path(raw).one, False
        except MappingDefinitionError as exc:
            raise MappingDefinitionError(f"{at}: {exc}") from None
    if source == "value":
        return (lambda node, scope: raw), False
    if source == "first_of":
        getters = [_input(item, ctx, at)[0] for item in _as_list(raw, at, source)]

        def first_of(node: Any, scope: Scope) -> Any:
            for get in getters:
                value = get(node, scope)
                if value is not None:
                    return value
            return None

        return first_of, False
    if source == "args":
        getters = [_input(item, ctx, at)[0] for item in _as_list(raw, at, source)]
        if len(getters) == 2:
            first, second = getters
            return (lambda node, scope: (first(node, scope), second(node, scope))), True
        return (lambda node, scope: tuple(get(node, scope) for get in getters)), True
    if source == "concat":
        inputs = [_input(item, ctx, at) for item in _as_list(raw, at, source)]
        separator = str(spec.get("separator", ""))

        def concat(node: Any, scope: Scope) -> Any:
            parts = []
            for get, described in inputs:
                value = get(node, scope)
                if value.__class__ is str:
                    parts.append(value)
                elif value is not None:
                    parts.append(_as_text(value, described))
            return separator.join(parts) if parts else None

        return concat, False
    if source == "template":
        return _compile_template(raw, at), False
    if source == "test":
        predicate = compile_condition(raw, at)
        return predicate, False
    if source == "cases":
        return _compile_cases(spec, ctx, at), False
    if source == "fields":
        return compile_fields(raw, ctx, at), False
    if source == "chain":
        parts = [compile_expression(item, ctx, at) for item in _as_list(raw, at, source)]

        def chain(node: Any, scope: Scope) -> list[Any]:
            out: list[Any] = []
            for part in parts:
                value = part(node, scope)
                if isinstance(value, list):
                    out.extend(value)
                elif value is not None:
                    out.append(value)
            return out

        return chain, False
    return _compile_foreach(spec, ctx, at), False


def _as_text(value: Any, described: str) -> str:
    """A scalar input as text; an expression that produced an object or list is refused."""
    if isinstance(value, SCALAR_TYPES):
        return str(value)
    raise MappingError(not_a_field(value), path=described)


def _as_list(raw: Any, where: str, key: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise MappingDefinitionError(f"{where}: {key} takes a non-empty list")
    return raw


def _compile_template(text: Any, where: str) -> Expr:
    if not isinstance(text, str):
        raise MappingDefinitionError(f"{where}: template must be text")
    pieces: list[tuple[str, Expr | None]] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise MappingDefinitionError(f"{where}: bad template {text!r}: {exc}") from exc
    for literal, field_name, _spec, _conv in parsed:
        getter = None
        if field_name is not None:
            if not field_name:
                raise MappingDefinitionError(f"{where}: template {text!r} has an empty {{}}")
            try:
                getter = compile_path(field_name).one
            except MappingDefinitionError as exc:
                raise MappingDefinitionError(f"{where}: {exc}") from None
        pieces.append((literal, getter))

    def render(node: Any, scope: Scope) -> str | None:
        out = []
        for literal, getter in pieces:
            out.append(literal)
            if getter is not None:
                value = getter(node, scope)
                if value is not None:
                    out.append(str(value))
        return "".join(out) or None

    return render


def _compile_cases(spec: Mapping[str, Any], ctx: CompileContext, where: str) -> Expr:
    branches = []
    for case in _as_list(spec["cases"], where, "cases"):
        if not isinstance(case, Mapping) or set(case) != {"when", "then"}:
            raise MappingDefinitionError(f"{where}: each case is {{when: condition, then: value}}")
        branches.append(
            (
                compile_condition(case["when"], ctx.where(case, "when")),
                compile_expression(case["then"], ctx, ctx.where(case, "then")),
            )
        )
    otherwise = (
        compile_expression(spec["otherwise"], ctx, ctx.where(spec, "otherwise"))
        if "otherwise" in spec
        else None
    )

    def choose(node: Any, scope: Scope) -> Any:
        for holds, then in branches:
            if holds(node, scope):
                return then(node, scope)
        return otherwise(node, scope) if otherwise is not None else None

    return choose


def _compile_foreach(spec: Mapping[str, Any], ctx: CompileContext, where: str) -> Expr:
    raw = spec["foreach"]
    paths = raw if isinstance(raw, list) else [raw]
    try:
        walkers = [compile_path(p).elements for p in paths]
    except MappingDefinitionError as exc:
        raise MappingDefinitionError(f"{where}: {exc}") from None
    if "fields" in spec and "item" in spec:
        raise MappingDefinitionError(f"{where}: foreach takes fields or item, not both")
    if "fields" in spec:
        per_item = compile_fields(spec["fields"], ctx, ctx.where(spec, "fields"))
    elif "item" in spec:
        per_item = compile_expression(spec["item"], ctx, ctx.where(spec, "item"))
    else:
        raise MappingDefinitionError(f"{where}: foreach needs fields (objects) or item (values)")
    keep = compile_condition(spec["filter"], ctx.where(spec, "filter")) if "filter" in spec else None
    key_of = compile_expression(spec["key"], ctx, ctx.where(spec, "key")) if "key" in spec else None

    def each(node: Any, scope: Scope) -> Any:
        results: list[Any] = []
        keyed: dict[str, Any] = {}
        index = 0
        for walk in walkers:
            for element, trail in walk(node, scope):
                inner = Scope(scope.root, scope.doc, (*scope.parents, *trail), index + 1)
                if keep is not None and not keep(element, inner):
                    continue
                index += 1
                inner.index = index
                try:
                    value = per_item(element, inner)
                    if key_of is not None:
                        key = key_of(element, inner)
                        if key is None:
                            raise MappingError("the key of this element is missing")
                        if value is not None:
                            keyed[str(key)] = value
                        continue
                except MappingError as err:
                    raise _located(err, f"[{index - 1}]") from err.__cause__
                if value is not None:
                    results.append(value)
        return keyed if key_of is not None else results

    return each
