r"""Conditions (``when``, ``filter``, ``cases``, ``test``) compiled into predicates.

``{path: P, equals: V}`` holds when *any* value at P equals V, so a test on a repeated
segment (``E1AFKOL.E1JSTKL.STAT``) asks "is there a status I0002". ``not_equals`` and
``not_in`` hold when *no* value matches. Values compare as text (``1`` and ``"1"`` are equal).
``exists`` also tests segments; every other comparison needs field values, and a path that
reaches a segment there is a MappingError (never the segment's ``str()``).

``greater_than`` / ``less_than`` compare exact decimals read like the ``decimal`` transform
(``5-`` is -5); text that is no number does not satisfy them, but a malformed number (two
signs, blanks inside, non-ASCII digits) is an error rather than a silent "no".

``matches`` runs on RE2 (``google-re2``), which matches in time linear in the text, so no
pattern can make translation hang (``^(a+)+$`` on ``aaaa...!``). What RE2 cannot run is
refused when the mapping loads, with file:line and the reason: backreferences (``\1``,
``(?P=name)``), lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), possessive and atomic groups,
``(?x)``, ``\Z`` (write ``\z``) and ``\C`` (one byte, which can split a character). Inline
flags ``(?i)``, ``(?m)``, ``(?s)`` work; text is matched as Unicode, but ``\d``, ``\w``,
``\s`` and ``\b`` are ASCII-only in RE2 (``\d`` does not match ``１``) and ``$`` matches
only at the very end (use ``(?m)`` for line ends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import re2

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.numbers import MalformedNumber, read_exact
from bridge.mapping.paths import Scope, compile_path
from bridge.mapping.scalars import SCALAR_TYPES, TransformError, ascii_digits, not_a_field

__all__ = ["Predicate", "compile_condition"]

Predicate = Callable[[Any, Scope], bool]

_COMPARATORS = ("equals", "not_equals", "in", "not_in", "exists", "matches", "greater_than", "less_than")


def _text(value: Any, path: str) -> str:
    """A value as comparison text; MappingError when the path reached a segment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SCALAR_TYPES):
        return str(value)
    raise MappingError(not_a_field(value), path=path)


def _number(value: Any, path: str) -> Decimal | None:
    """A value as an exact decimal; None when it is no number (the comparison does not hold)."""
    if isinstance(value, bool):
        return None
    try:
        return read_exact(_text(value, path))
    except MalformedNumber as exc:
        raise MappingError(str(exc), path=path, value=value) from None
    except TransformError:
        return None


#: RE2 options for ``matches``: errors are reported by the bridge, not logged to stderr.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

_RE2_HINTS = (
    ("invalid perl operator: (?P", "named backreferences (?P=name) are not supported"),
    ("invalid perl operator: (?=", "lookahead is not supported"),
    ("invalid perl operator: (?!", "lookahead is not supported"),
    ("invalid perl operator: (?<", "lookbehind is not supported"),
    ("bad repetition operator", "possessive repetition (a++) is not supported"),
)
_BAD_ESCAPE = "invalid escape sequence: \\"


def _hint(reason: str) -> str | None:
    """What a Python user needs to know about an RE2 compile error."""
    if reason.startswith(_BAD_ESCAPE):
        escaped = reason[len(_BAD_ESCAPE) : len(_BAD_ESCAPE) + 1]
        if ascii_digits(escaped):
            return "backreferences are not supported"
        if escaped == "Z":
            return "write \\z for the end of the text"
        return "RE2 has no such escape; write \\x{...} for a code point"
    return next((hint for prefix, hint in _RE2_HINTS if reason.startswith(prefix)), None)


def compile_pattern(pattern: str, where: str) -> Any:
    """An RE2 regular expression for ``matches``; MappingDefinitionError naming what RE2
    cannot run (see the module docstring)."""
    reason = None
    if _has_byte_escape(pattern):
        reason = "\\C matches one byte and can split a character"
    else:
        try:
            return re2.compile(pattern, _RE2_OPTIONS)
        except re2.error as exc:
            raw = exc.args[0] if exc.args else ""
            reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            hint = _hint(reason)
            if hint:
                reason = f"{reason} ({hint})"
        except UnicodeEncodeError:
            reason = "the pattern is not valid Unicode text"
    raise MappingDefinitionError(
        f"{where}: matches: regular expression {pattern!r} is refused: {reason}; "
        "matches runs on RE2 (linear time: no backreferences or lookaround)"
    )


def _has_byte_escape(pattern: str) -> bool:
    """Whether ``pattern`` uses ``\\C`` (an escaped backslash followed by C does not count)."""
    index = pattern.find("\\")
    while index != -1:
        if pattern[index + 1 : index + 2] == "C":
            return True
        index = pattern.find("\\", index + 2)
    return False


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
    return _comparison(op, operand, values_at, str(spec["path"]), where)


def _comparison(
    op: str, operand: Any, values_at: Callable[[Any, Scope], list[Any]], path: str, where: str
) -> Predicate:
    if op == "exists":
        wanted = bool(operand)
        return lambda node, scope: bool(values_at(node, scope)) is wanted
    if op in ("equals", "not_equals", "in", "not_in"):
        if op in ("in", "not_in") and not isinstance(operand, list):
            raise MappingDefinitionError(f"{where}: {op} takes a list")
        operands = operand if isinstance(operand, list) else [operand]
        targets = frozenset(_operand_text(v, where) for v in operands)
        negate = op.startswith("not_")

        def matches_any(node: Any, scope: Scope) -> bool:
            for value in values_at(node, scope):
                if (value if type(value) is str else _text(value, path)) in targets:
                    return not negate
            return negate

        return matches_any
    if op == "matches":
        pattern = compile_pattern(str(operand), where)

        def search(node: Any, scope: Scope) -> bool:
            for value in values_at(node, scope):
                text = value if type(value) is str else _text(value, path)
                try:
                    if pattern.search(text) is not None:
                        return True
                except UnicodeEncodeError:  # a lone surrogate (possible from JSON "\\ud800")
                    raise MappingError("the value is not valid Unicode text", path=path) from None
            return False

        return search
    limit = _limit(operand, op, where)
    greater = op == "greater_than"

    def compare(node: Any, scope: Scope) -> bool:
        for value in values_at(node, scope):
            number = _number(value, path)
            if number is not None and ((number > limit) if greater else (number < limit)):
                return True
        return False

    return compare


def _operand_text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, SCALAR_TYPES):
        return str(value)
    raise MappingDefinitionError(f"{where}: a condition compares with a value, not {type(value).__name__}")


def _limit(operand: Any, op: str, where: str) -> Decimal:
    try:
        if isinstance(operand, bool) or not isinstance(operand, SCALAR_TYPES):
            raise TransformError(f"{operand!r} is not a number")
        limit = read_exact(str(operand))
    except TransformError as exc:
        raise MappingDefinitionError(f"{where}: {op}: {exc}") from None
    if limit is None:
        raise MappingDefinitionError(f"{where}: {op}: a number is missing")
    return limit
