"""The steps after an expression's source: its transforms (bound to their options once, at
compile time) and its lookup; and the inline lookup tables of a mapping file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.compile_context import CompileContext
from bridge.mapping.lookups import LookupTable, table_from_data
from bridge.mapping.paths import Scope
from bridge.mapping.transforms import (
    TransformError,
    check_options,
    get_transform,
    resolve_timezone,
    transform_arity,
    transform_options,
)

__all__ = ["inline_tables", "with_lookup", "with_transforms"]

Expr = Callable[[Any, Scope], Any]


def _bind_transform(call: Any, ctx: CompileContext, where: str, inputs: int) -> Callable[..., Any]:
    if isinstance(call, str):
        name, options = call, {}
    elif isinstance(call, Mapping) and isinstance(call.get("name"), str):
        name = call["name"]
        options = {k: v for k, v in call.items() if k != "name"}
    else:
        raise MappingDefinitionError(f"{where}: a transform is a name or {{name: ..., options}}")
    func = get_transform(name)
    if func is None:
        from bridge.mapping.transforms import all_transforms

        raise MappingDefinitionError(
            f"{where}: unknown transform {name!r} (known: {', '.join(sorted(all_transforms()))})"
        )
    accepted = transform_options(func)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise MappingDefinitionError(
            f"{where}: transform {name} has no option {', '.join(unknown)} "
            f"(options: {', '.join(accepted) or 'none'})"
        )
    if "tz" in accepted and "tz" not in options:
        options["tz"] = ctx.timezone
    missing = [k for k, p in accepted.items() if p.default is p.empty and k not in options]
    if missing:
        raise MappingDefinitionError(f"{where}: transform {name} needs option {', '.join(missing)}")
    low, high = transform_arity(func)
    if inputs < low or (high is not None and inputs > high):
        expected = f"{low}" if low == high else f"{low} to {high if high is not None else 'many'}"
        raise MappingDefinitionError(
            f"{where}: transform {name} takes {expected} input(s), this gives it {inputs}"
        )
    try:
        check_options(func, options)
        if "tz" in options:
            resolve_timezone(str(options["tz"]))
    except TransformError as exc:
        raise MappingDefinitionError(f"{where}: transform {name}: {exc}") from None
    return partial(func, **options) if options else func


def with_transforms(
    produce: Expr, first_inputs: int, raw: Any, ctx: CompileContext, where: str, description: str
) -> Expr:
    """Apply transforms in order; with ``args`` the first one receives every input."""
    calls = raw if isinstance(raw, list) else [raw]
    if not calls:
        raise MappingDefinitionError(f"{where}: transform list is empty")
    funcs = [
        _bind_transform(call, ctx, where, first_inputs if position == 0 else 1)
        for position, call in enumerate(calls)
    ]
    spread = first_inputs > 1
    first, rest = funcs[0], tuple(funcs[1:])

    def apply(node: Any, scope: Scope) -> Any:
        original = produce(node, scope)
        try:
            value = first(*original) if spread else first(original)
            for func in rest:
                value = func(value)
        except TransformError as exc:
            raise MappingError(str(exc), path=description, value=original) from exc
        return value

    return apply


def with_lookup(
    produce: Expr, spec: Mapping[str, Any], ctx: CompileContext, where: str, description: str
) -> Expr:
    raw = spec["lookup"]
    at = ctx.where(spec, "lookup")
    if isinstance(raw, str):
        table = ctx.table(raw, at)
    elif isinstance(raw, Mapping) and isinstance(raw.get("table"), str):
        table = ctx.table(raw["table"], at)
        if raw.get("invert"):
            table = table.inverted()
    else:
        raise MappingDefinitionError(f"{at}: lookup is a table name or {{table: name, invert: true}}")
    on_missing = spec.get("on_missing", "error")
    values = table.values
    if on_missing == "pass":
        return lambda node, scope: None if (v := produce(node, scope)) is None else values.get(str(v), v)
    if isinstance(on_missing, Mapping) and "default" in on_missing:
        fallback = on_missing["default"]
        return lambda node, scope: (
            None if (v := produce(node, scope)) is None else values.get(str(v), fallback)
        )
    if on_missing != "error":
        raise MappingDefinitionError(f"{at}: on_missing is error, pass or {{default: value}}")
    name = table.name

    def strict(node: Any, scope: Scope) -> Any:
        value = produce(node, scope)
        if value is None:
            return None
        try:
            return values[str(value)]
        except KeyError:
            raise MappingError(
                f"no entry in lookup table {name} ({table.origin})", path=description, value=value
            ) from None

    return strict


def inline_tables(spec: Any, file: str) -> dict[str, LookupTable]:
    """The ``lookups:`` section of a mapping as tables."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise MappingDefinitionError(f"{file}: lookups must be an object of name: {{values: ...}}")
    return {name: table_from_data(name, data, f"{file} (inline)") for name, data in spec.items()}
