"""Where a snapshot row keeps a record's fields: :class:`Layout`, and turning a row into a Record.

A layout names, for each field, a column (CSV) or a dotted path (JSON lines: ``qty.value``).
Key fields are text (JSON integers are taken as their digits), surrounding blanks stripped,
never empty. A value whose column is empty or whose path is absent or null is absent from the
record (the job's ``absent_as_zero`` decides what that means); present, it must be a number
(text or a JSON number, never a float approximation: JSON numbers are read as decimals) with a
unit. ``seen_at`` is an ISO 8601 time with its UTC offset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.errors import ConfigError, shown
from bridge.reconcile.records import Amount, Record, amount

__all__ = ["Layout", "RowError", "ValueColumns", "build_records"]

Getter = Callable[[Any], Any]


class RowError(ValueError):
    """A row does not fit the layout (the reader adds the file and line)."""


@dataclass(frozen=True)
class ValueColumns:
    """Where one value is: its number's column/path and its unit's column/path, or one
    ``fixed_unit`` for all rows."""

    value: str
    unit: str | None = None
    fixed_unit: str | None = None

    def __post_init__(self) -> None:
        if (self.unit is None) == (self.fixed_unit is None):
            raise ConfigError(f"value column {self.value!r}: give exactly one of unit and fixed_unit")


@dataclass(frozen=True)
class Layout:
    """Columns (CSV) or dotted paths (JSON lines) of a record's fields.

    Attributes:
        key: the key fields' columns/paths, in the order of the job's ``key_fields``.
        values: value name -> :class:`ValueColumns`.
        material, version, seen_at: their columns/paths, if the snapshot has them.
        ref: a column/path (a document number) shown with the file and line in the report.
    """

    key: Sequence[str]
    values: Mapping[str, ValueColumns] = field(default_factory=dict)
    material: str | None = None
    version: str | None = None
    seen_at: str | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.key, str) or not self.key:
            raise ConfigError(f"a snapshot layout needs the key's columns as a list, got {self.key!r}")
        object.__setattr__(self, "key", tuple(self.key))

    def columns(self) -> list[str]:
        """Every column/path the layout reads."""
        named = [*self.key, self.material, self.version, self.seen_at, self.ref]
        for spec in self.values.values():
            named += [spec.value, spec.unit]
        return [name for name in named if name is not None]


def build_records(layout: Layout, getter: Callable[[str], Getter]) -> Callable[[Any, str], Record]:
    """A function making a Record of a row (and its ref), reading fields through
    ``getter(column)``, which returns None or "" for an absent field.

    The function raises :class:`RowError` naming the field and what is wrong with it.
    """
    keys = [(column, getter(column)) for column in layout.key]
    values = [
        (
            name,
            spec,
            getter(spec.value),
            getter(spec.unit) if spec.unit is not None else None,
            f"{name} ({spec.value})",
        )
        for name, spec in layout.values.items()
    ]
    material = _optional(layout.material, getter)
    version = _optional(layout.version, getter)
    seen_at = _optional(layout.seen_at, getter)
    document = _optional(layout.ref, getter)

    def build(row: Any, where: str) -> Record:
        key = tuple([_key_text(get(row), column) for column, get in keys])
        held: dict[str, Amount] = {}
        for name, spec, get_value, get_unit, label in values:
            raw = get_value(row)
            if raw is None or raw == "":
                continue
            unit = spec.fixed_unit if get_unit is None else get_unit(row)
            if unit is None or unit == "":
                raise RowError(
                    f"{name} ({spec.value}) is {_shown(raw)} but its unit ({spec.unit}) is missing"
                )
            try:
                held[name] = amount(raw, unit, name=label)
            except ConfigError as exc:
                raise RowError(str(exc)) from None
        ref = where
        if document is not None and (number := _text(document(row), layout.ref)):
            ref = f"{where} ({number})"
        return Record(
            key,
            held,
            _text(material(row), layout.material) or None if material else None,
            _text(version(row), layout.version) or None if version else None,
            _time(seen_at(row), layout.seen_at) if seen_at else None,
            ref,
        )

    return build


def _optional(column: str | None, getter: Callable[[str], Getter]) -> Getter | None:
    return getter(column) if column is not None else None


def _key_text(raw: Any, column: str) -> str:
    text = (raw if raw.__class__ is str else _text(raw, column) or "").strip()
    if not text:
        raise RowError(f"key field {column} is {'missing' if raw is None else 'empty'}")
    return text


def _text(raw: Any, column: str | None) -> str | None:
    if raw is None or raw.__class__ is str:
        return raw
    if raw.__class__ is int:
        return str(raw)
    raise RowError(f"{column} is {_kind(raw)} {_shown(raw)}, not text")


def _time(raw: Any, column: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    if raw.__class__ is not str:
        raise RowError(f"{column} is {_kind(raw)} {_shown(raw)}, not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise RowError(f"{column} {_shown(raw)} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RowError(f"{column} {_shown(raw)} has no UTC offset")
    return moment


def _shown(raw: Any) -> str:
    """A value from the row for a message: text quoted, anything else as JSON would show it."""
    return shown(repr(raw)) if isinstance(raw, str) else shown(raw)


def _kind(raw: Any) -> str:
    names = {bool: "a boolean", dict: "an object", list: "a list"}
    return names.get(type(raw), f"a {type(raw).__name__}")
