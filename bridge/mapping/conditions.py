"""Conditions (``when``, ``filter``, ``cases``, ``test``) compiled into predicates.

``{path: P, equals: V}`` holds when *any* value at P equals V, so a test on a repeated
segment (``E1AFKOL.E1JSTKL.STAT``) asks "is there a status I0002". ``not_equals`` and
``not_in`` hold when *no* value matches. Values compare as text (``1`` and ``"1"`` are equal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.errors import MappingDefinitionError
from bridge.mapping.paths import Scope, compile_path

__all__ = ["Predicate", "compile_condition"]

Predicate = Callable[[Any, Scope], bool]

_COMPARATORS = ("equals", "not_equals", "in", "not_in", "exists", "matches", "greater_than", "less_than")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decimal(value: Any, what: str) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        if what == "option":
            raise MappingDefinitionError(f"{value!r} is not a number") from None
        return None


def _memoised(values_at: Callable[[Any, Scope], list[Any]], path: str) -> Callable[[Any, Scope], list[Any]]:
    """Read a path's values once per scope and node: event and status cases test one path."""

    def values(node: Any, scope: Scope) -> list[Any]:
        memo = scope.memo
        if memo is None:
            memo = scope.memo = {}
        key = (path, id(node))
        found = memo.get(key)
        if found is None:
            found = memo[key] = values_at(node, scope)
        return found

    return values


def compile_condition(spec: Any, where: str) -> Predicate:
    """Compile a condition object; ``where`` prefixes load-time errors (file:line)."""
    if not isinstance(spec, Mapping) or not spec:
        raise MappingDefinitionError(f"{where}: a condition must be an object such as {{path: X, equals: Y}}")
    if "all" in spec or "any" in spec or "not" in spec:
        if len(spec) != 1:
            raise MappingDefinitionError(f"{where}: all/any/not stand alone in a condition")
        if "not" in spec:
            inner = compile_condition(spec["not"], where)
            return lambda node, scope: not inner(node, scope)
        key = "all" if "all" in spec else "any"
        parts = [compile_condition(item, where) for item in spec[key]]
        if key == "all":
            return lambda node, scope: all(p(node, scope) for p in parts)
        return lambda node, scope: any(p(node, scope) for p in parts)
    if "path" not in spec:
        raise MappingDefinitionError(f"{where}: a condition needs a path (or all/any/not)")
    comparators = [k for k in spec if k in _COMPARATORS]
    extra = [k for k in spec if k not in (*_COMPARATORS, "path")]
    if extra:
        raise MappingDefinitionError(f"{where}: unknown condition key(s) {', '.join(extra)}")
    if len(comparators) != 1:
        raise MappingDefinitionError(
            f"{where}: a condition on {spec['path']!r} needs exactly one of {', '.join(_COMPARATORS)}"
        )
    try:
        values_at = _memoised(compile_path(spec["path"]).all, str(spec["path"]))
    except MappingDefinitionError as exc:
        raise MappingDefinitionError(f"{where}: {exc}") from None
    op = comparators[0]
    operand = spec[op]
    return _comparison(op, operand, values_at, where)


def _comparison(op: str, operand: Any, values_at: Callable[[Any, Scope], list[Any]], where: str) -> Predicate:
    if op == "exists":
        wanted = bool(operand)
        return lambda node, scope: bool(values_at(node, scope)) is wanted
    if op in ("equals", "not_equals", "in", "not_in"):
        if op in ("in", "not_in") and not isinstance(operand, list):
            raise MappingDefinitionError(f"{where}: {op} takes a list")
        targets = frozenset(_text(v) for v in (operand if isinstance(operand, list) else [operand]))
        negate = op.startswith("not_")

        def matches_any(node: Any, scope: Scope) -> bool:
            for value in values_at(node, scope):
                if (value if type(value) is str else _text(value)) in targets:
                    return not negate
            return negate

        return matches_any
    if op == "matches":
        try:
            pattern = re.compile(str(operand))
        except re.error as exc:
            raise MappingDefinitionError(f"{where}: bad regular expression {operand!r}: {exc}") from exc
        return lambda node, scope: any(pattern.search(_text(v)) for v in values_at(node, scope))
    try:
        limit = _decimal(operand, "option")
    except MappingDefinitionError as exc:
        raise MappingDefinitionError(f"{where}: {op}: {exc}") from None

    def compare(node: Any, scope: Scope) -> bool:
        for value in values_at(node, scope):
            number = _decimal(value, "value")
            if number is None or limit is None:
                continue
            if (number > limit) if op == "greater_than" else (number < limit):
                return True
        return False

    return compare
