"""ExecuteBillQuery's ``FilterString``: the SQL-like conditions K/3 Cloud takes, as a predicate
over a row of field values (keys as written in the filter, e.g. ``FBillNo``, ``FMaterialId.FNumber``).

Grammar (case-insensitive keywords): ``expr := term (OR term)*``, ``term := factor (AND factor)*``,
``factor := NOT factor | '(' expr ')' | field op value | field [NOT] IN '(' value, ... ')' |
field [NOT] LIKE 'pattern'``, ``op`` one of ``= <> != < > <= >=``; values are quoted strings
(``''`` inside for a quote) or numbers. A time compares with a time as times
(``FModifyDate >= '2025-01-19'`` is ``>= 2025-01-19T00:00:00``). A field the form does not have is
refused as the real server refuses it (MsgCode 9); anything else that does not parse is a
parameter error.

The array form (``[{"Left": "(", "FieldName": "FNumber", "Compare": "=", "Value": "L1",
"Right": ")", "Logic": ""}]``) is turned into that text by :func:`array_filter`: ``Compare`` as
an operator (``= <> != > < >= <=``, ``like``, ``not like``) or the code ``67`` (equals, as the
official documentation's example and client code use it); other numeric codes are not known
here and are refused as a parameter error. ``Logic`` joins an item with the next: ``""``, ``0``
or ``AND`` -> AND, ``1`` or ``OR`` -> OR.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.kingdee.simulator.values import parse_local

__all__ = ["FilterError", "UnknownField", "array_filter", "parse_filter", "parse_filter_fields"]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
Known = frozenset[str] | Callable[[str], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|=|<|>)|(?P<paren>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


_DATE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}")


class FilterError(ValueError):
    """The filter does not parse (MsgCode 8, a parameter error)."""


class UnknownField(FilterError):
    """The filter names a field the form does not have (MsgCode 9)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"元数据中标识为{field}的字段不存在")
        self.field = field


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"FilterString: cannot read {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    return Decimal(text)


def _compare(left: Any, right: Any) -> tuple[Any, Any]:
    """Both sides as numbers when both can be, times when both are, else as text."""
    if isinstance(left, bool):
        left = int(left) if isinstance(right, Decimal) else str(left).lower()
    if isinstance(right, Decimal) or isinstance(left, int | float | Decimal):
        try:
            return Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            pass
    left_text, right_text = ("" if left is None else str(left)), str(right)
    if _DATE.match(left_text) and _DATE.match(right_text):
        left_time, right_time = parse_local(left_text), parse_local(right_text)
        if left_time is not None and right_time is not None:
            return left_time, right_time
    return left_text, right_text


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.S)


class _Parser:
    def __init__(self, text: str, fields: Known) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.known: Callable[[str], bool] = fields.__contains__ if isinstance(fields, frozenset) else fields
        self.used: list[str] = []

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.upper() == word:
            self.at += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise FilterError(f"FilterString: {text!r} expected")

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.keyword("OR"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.keyword("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def value(self) -> Any:
        kind, text = self.take()
        if kind not in ("str", "num"):
            raise FilterError(f"FilterString: a value expected, not {text!r}")
        return _literal(kind, text)

    def factor(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.factor()
            return lambda row: not inner(row)
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        kind, field = self.take()
        if kind != "word":
            raise FilterError(f"FilterString: a field expected, not {field!r}")
        if not self.known(field):
            raise UnknownField(field)
        self.used.append(field)
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("(")
            values = [self.value()]
            while self.peek() == ("paren", ","):
                self.take()
                values.append(self.value())
            self.expect(")")
            return lambda row: negate != any(_compare(row.get(field), v)[0] == _compare(row.get(field), v)[1] for v in values)
        if self.keyword("LIKE"):
            pattern = _like(str(self.value()))
            return lambda row: negate != bool(pattern.fullmatch("" if row.get(field) is None else str(row.get(field))))
        if negate:
            raise FilterError("FilterString: NOT IN or NOT LIKE expected")
        op_kind, op = self.take()
        if op_kind != "op":
            raise FilterError(f"FilterString: a comparison expected after {field}, not {op!r}")
        right = self.value()
        tests = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "!=": lambda a, b: a != b,
                 "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
        test = tests[op]
        return lambda row: test(*_compare(row.get(field), right))


def parse_filter_fields(text: str, fields: Known) -> tuple[Predicate, list[str]]:
    """The predicate of ``text`` over rows with ``fields`` (a set, or a test of a field's name),
    and the fields it reads (an empty filter takes every row).

    Raises:
        UnknownField: a field the form does not have.
        FilterError: the text does not parse.
    """
    if not text.strip():
        return (lambda _row: True), []
    parser = _Parser(text, fields)
    predicate = parser.expr()
    if parser.peek()[0] != "end":
        raise FilterError(f"FilterString: unexpected {parser.peek()[1]!r}")
    return predicate, parser.used


def parse_filter(text: str, fields: Known) -> Predicate:
    """:func:`parse_filter_fields` without the fields."""
    return parse_filter_fields(text, fields)[0]


_COMPARES = {"=": "=", "67": "=", "==": "=", "<>": "<>", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<=",
             "like": "LIKE", "not like": "NOT LIKE"}


def _quoted(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str("" if value is None else value).replace("'", "''") + "'"


def array_filter(items: list[Any]) -> str:
    """The text of an array FilterString.

    Raises:
        FilterError: an item is not an object, or its Compare is not known.
    """
    parts: list[str] = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise FilterError(f"FilterString[{position}]: an object expected")
        compare = _COMPARES.get(str(item.get("Compare", "")).strip().lower())
        if compare is None:
            raise FilterError(f"FilterString[{position}]: Compare {item.get('Compare')!r} is not supported by the simulator")
        value = item.get("Value")
        if compare.endswith("LIKE") and "%" not in str(value) and "_" not in str(value):
            value = f"%{value}%"
        if parts:
            parts.append("OR" if str(items[position - 1].get("Logic", "")).strip().upper() in ("1", "OR") else "AND")
        parts.append(f"{item.get('Left') or ''} {item.get('FieldName')} {compare} {_quoted(value)} {item.get('Right') or ''}")
    return " ".join(parts)
