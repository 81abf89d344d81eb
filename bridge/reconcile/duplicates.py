"""Several records of one key on one side: summed into one, or refused (``duplicates: sum|error``).

Summing adds each value's quantities (several confirmations of one operation make its yield).
Quantities in different units are converted through the material's conversions into the
first record's unit when the sum is exact there (1 BOX + 6 PCS = 1.5 BOX), else into the
other's (1 BOX + 1 PCS = 13 PCS: 1 1/12 BOX has no exact decimal). The sum keeps the newest
version and ``seen_at`` of its parts, the first material, and the refs of its parts (the first
few and a count).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from fractions import Fraction
from typing import Literal

from bridge.errors import ConfigError
from bridge.reconcile.records import EXACT, Amount, Record, finite_decimal, version_key
from bridge.reconcile.units import UnitConverter

__all__ = ["Duplicates", "collapse_duplicates", "merge_records"]

Duplicates = Literal["sum", "error"]

_REFS_SHOWN = 4


def collapse_duplicates(
    records: Iterable[Record], *, side: str, mode: Duplicates, units: UnitConverter
) -> Iterator[Record]:
    """Key-sorted ``records`` with each run of equal keys made one record.

    Raises:
        ConfigError: ``mode`` is ``error`` and a key repeats (names the side, key and refs), or
            two quantities of a key cannot be summed (units that do not convert).
    """
    if mode not in ("sum", "error"):
        raise ConfigError(f"side {side}: duplicates must be 'sum' or 'error', got {mode!r}")
    current: Record | None = None
    refs: list[str] = []
    parts = 0
    for record in records:
        if current is not None and record.key == current.key:
            if mode == "error":
                raise ConfigError(
                    f"side {side}: key {record.key!r} appears more than once ({current.ref or 'no ref'} "
                    f"and {record.ref or 'no ref'}) and the job says duplicates: error"
                )
            current = merge_records(current, record, side=side, units=units, ref=current.ref)
            parts += 1
            if len(refs) < _REFS_SHOWN:
                refs.append(record.ref)
            continue
        if current is not None:
            yield _summed(current, refs, parts)
        current, refs, parts = record, [record.ref], 1
    if current is not None:
        yield _summed(current, refs, parts)


def merge_records(
    first: Record, other: Record, *, side: str, units: UnitConverter, ref: str | None = None
) -> Record:
    """One record of ``first`` and ``other`` (same key), their quantities summed, carrying
    ``ref`` (default: both refs).

    Raises:
        ConfigError: a value's units do not convert into each other, or the two records name
            different materials.
    """
    material = first.material if first.material is not None else other.material
    if other.material is not None and material != other.material:
        raise ConfigError(
            f"side {side}: key {first.key!r} has records of material {material} ({first.ref}) and "
            f"{other.material} ({other.ref})"
        )
    values = dict(first.values)
    for name, extra in other.values.items():
        have = values.get(name)
        values[name] = (
            extra
            if have is None
            else _sum(have, extra, material, units, f"side {side}: key {first.key!r}, {name}")
        )
    return Record(
        key=first.key,
        values=values,
        material=material,
        version=_newest_version(first.version, other.version),
        seen_at=_latest(first, other, side),
        ref=f"{first.ref}; {other.ref}" if ref is None else ref,
    )


def _sum(have: Amount, extra: Amount, material: str | None, units: UnitConverter, where: str) -> Amount:
    if have.unit == extra.unit:
        return Amount(EXACT.add(have.value, extra.value), have.unit)
    into_have = units.factor(material, extra.unit, have.unit)
    if into_have is None:
        raise ConfigError(
            f"{where}: cannot sum {have} and {extra}: {extra.unit} does not convert into {have.unit} "
            f"(material {material})"
        )
    for into, other, factor in ((have, extra, into_have), (extra, have, 1 / into_have)):
        converted = finite_decimal(Fraction(other.value) * factor)
        if converted is not None:
            return Amount(EXACT.add(into.value, converted), into.unit)
    raise ConfigError(f"{where}: {have} and {extra} have no exact sum in either unit")


def _newest_version(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    return b if version_key(b) > version_key(a) else a


def _latest(first: Record, other: Record, side: str) -> datetime | None:
    a, b = first.seen_at, other.seen_at
    if a is None or b is None:
        return a if b is None else b
    try:
        return b if b > a else a
    except TypeError:
        raise ConfigError(
            f"side {side}: key {first.key!r}: seen_at {a} and {b} cannot be compared "
            "(a time without its UTC offset)"
        ) from None


def _summed(record: Record, refs: list[str], parts: int) -> Record:
    if parts == 1:
        return record
    ref = "; ".join(refs) + (f" (+{parts - len(refs)} more)" if parts > len(refs) else "")
    return Record(record.key, record.values, record.material, record.version, record.seen_at, ref)
