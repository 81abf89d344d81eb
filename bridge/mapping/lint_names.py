"""Transform and lookup names of a mapping checked all at once (``bridge mapping lint``).

The loader refuses the first unknown name and stops; lint names every one, with the nearest
known name. Expressions are found wherever the compiler looks for them: ``fields``, ``event``,
``envelope``, ``foreach`` items and keys, ``cases`` branches, ``first_of``/``args``/``concat``
inputs and ``chain`` parts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bridge.mapping.lint_report import Problem, did_you_mean, items, line_at, nearest

__all__ = ["check_names", "expressions"]


def expressions(data: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], int]]:
    """Every expression object of a parsed mapping file, with its line."""
    stack: list[tuple[Any, int]] = []
    for key in ("event",):
        if key in data:
            stack.append((data[key], line_at(data, key)))
    for key in ("envelope", "fields"):
        section = data.get(key)
        if isinstance(section, Mapping):
            stack.extend((expr, line_at(section, name)) for name, expr in section.items())
    while stack:
        spec, line = stack.pop()
        if not isinstance(spec, Mapping):
            continue
        line = getattr(spec, "line", None) or line
        yield spec, line
        fields = spec.get("fields")
        if isinstance(fields, Mapping):
            stack.extend((expr, line_at(fields, name, line)) for name, expr in fields.items())
        for key in ("item", "key", "otherwise"):
            if key in spec:
                stack.append((spec[key], line_at(spec, key, line)))
        for key in ("first_of", "args", "concat", "chain"):
            stack.extend((part, line_at(spec, key, line)) for part in items(spec.get(key)))
        for case in items(spec.get("cases")):
            if isinstance(case, Mapping) and "then" in case:
                stack.append((case["then"], line_at(case, "then", line)))


def check_names(
    data: Mapping[str, Any], file: str, transforms: set[str], shared_lookups: set[str]
) -> list[Problem]:
    """Unknown transforms and lookup tables, each with the nearest known name."""
    inline = data.get("lookups")
    tables = {*shared_lookups, *(inline if isinstance(inline, Mapping) else {})}
    problems = []
    for spec, line in expressions(data):
        raw = spec.get("transform")
        for call in raw if isinstance(raw, list) else [raw] if raw is not None else []:
            name = call.get("name") if isinstance(call, Mapping) else call
            if isinstance(name, str) and name not in transforms:
                problems.append(
                    Problem(
                        file,
                        line_at(spec, "transform", line),
                        f"unknown transform {name!r}" + did_you_mean(nearest(name, transforms)),
                    )
                )
        lookup = spec.get("lookup")
        table = lookup.get("table") if isinstance(lookup, Mapping) else lookup
        if isinstance(table, str) and table not in tables:
            problems.append(
                Problem(
                    file,
                    line_at(spec, "lookup", line),
                    f"unknown lookup table {table!r} (known: {', '.join(sorted(tables)) or 'none'})"
                    + did_you_mean(nearest(table, tables)),
                )
            )
    return problems
