"""Comparing two key-sorted sides: a streaming merge-join yielding :class:`Discrepancy` values.

Kinds of discrepancy (:class:`Kind`):

``missing_in_target``  a key the source has and the target does not
``missing_in_source``  a key the target has and the source does not
``stale``              the target holds an older state of the key (:mod:`bridge.reconcile.rules`)
``quantity_mismatch``  a value differs beyond its tolerance (delta = target - source, in the
                       source value's unit), or one side lacks a value the other has
``unit_mismatch``      a value's units do not convert into each other for the material

A pair of records may give several discrepancies (one per value), a stale pair only ``stale``.
Arithmetic is exact (:data:`~bridge.reconcile.records.EXACT`, fractions for conversions), so
rounding within tolerance never shows as a mismatch; a delta through a factor with no finite
decimal (1/12) is reported rounded to 34 significant digits.

:func:`compare_sorted` holds one record of each side at a time; :class:`PairComparer` compares
one pair, for any other way of pairing records (a dict-based check, a single lookup).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Context, Decimal
from enum import StrEnum
from fractions import Fraction

from bridge.errors import ConfigError
from bridge.reconcile.records import EXACT, Amount, Record, finite_decimal, version_key
from bridge.reconcile.rules import FieldRule, Rules

__all__ = ["Discrepancy", "Kind", "PairComparer", "Summary", "compare_sorted", "missing"]

_EXACT_FIELD = FieldRule()
_ZERO = Decimal(0)
_DELTA = Context(prec=34)  # only for showing a delta that has no finite decimal


class Kind(StrEnum):
    """What a discrepancy is."""

    MISSING_IN_TARGET = "missing_in_target"
    MISSING_IN_SOURCE = "missing_in_source"
    QUANTITY_MISMATCH = "quantity_mismatch"
    UNIT_MISMATCH = "unit_mismatch"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference between the sides.

    Attributes:
        kind: what it is.
        key: the business key.
        field: the value it is about (``quantity_mismatch``, ``unit_mismatch``), else None.
        source_value, target_value: the value on each side as that side holds it.
        delta: target - source in ``unit`` (``quantity_mismatch`` with both values).
        unit: the unit the values were compared in (the source value's).
        refs: (source ref, target ref); "" for a side without the record.
        detail: the why in words (versions of a stale pair, units that do not convert).
    """

    kind: Kind
    key: tuple[str, ...]
    field: str | None = None
    source_value: Amount | None = None
    target_value: Amount | None = None
    delta: Decimal | None = None
    unit: str | None = None
    refs: tuple[str, str] = ("", "")
    detail: str = ""


@dataclass
class Summary:
    """Counts of one comparison, filled in while it runs.

    Attributes:
        source_records, target_records: records per side (after duplicates were summed).
        pairs: keys both sides hold; matched: pairs without any discrepancy.
        kinds: discrepancies per kind (every kind present, zero included).
    """

    source_records: int = 0
    target_records: int = 0
    pairs: int = 0
    matched: int = 0
    kinds: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))

    @property
    def discrepancies(self) -> int:
        return sum(self.kinds.values())

    def as_dict(self) -> dict[str, int]:
        counts = {str(kind): count for kind, count in self.kinds.items()}
        return {
            "source_records": self.source_records,
            "target_records": self.target_records,
            "pairs": self.pairs,
            "matched": self.matched,
            **counts,
        }


def missing(record: Record, kind: Kind) -> Discrepancy:
    """The discrepancy of a record only one side holds (``kind``: ``missing_in_*``)."""
    in_source = kind is Kind.MISSING_IN_TARGET
    held = ", ".join(f"{name} {value}" for name, value in record.values.items())
    if record.version:
        held = f"{held}, version {record.version}" if held else f"version {record.version}"
    return Discrepancy(
        kind, record.key, refs=(record.ref, "") if in_source else ("", record.ref), detail=held
    )


class PairComparer:
    """Compares the source's and the target's record of one key under a job's rules."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._units = rules.units
        self._fields = dict(rules.fields)
        self._max_lag = rules.stale.max_lag if rules.stale is not None else None

    def compare(self, source: Record, target: Record) -> list[Discrepancy]:
        """The discrepancies between two records of the same key (empty: they match)."""
        refs = (source.ref, target.ref)
        if self._max_lag is not None and (stale := self._stale(source, target, refs)) is not None:
            return [stale]
        found = []
        material = source.material if source.material is not None else target.material
        for name in self._fields or _names(source, target):
            rule = self._fields.get(name, _EXACT_FIELD)
            ours, theirs = source.values.get(name), target.values.get(name)
            if ours is None or theirs is None:
                if ours is theirs:
                    continue
                if not rule.absent_as_zero:
                    detail = f"{name} on the {'source' if theirs is None else 'target'} only"
                    found.append(
                        Discrepancy(
                            Kind.QUANTITY_MISMATCH, source.key, name, ours, theirs, refs=refs, detail=detail
                        )
                    )
                    continue
                if ours is None:
                    ours = Amount(_ZERO, theirs.unit)  # type: ignore[union-attr]
                else:
                    theirs = Amount(_ZERO, ours.unit)
            if ours.unit == theirs.unit and ours.value == theirs.value:
                continue
            try:
                difference = self._value(source.key, name, ours, theirs, material, rule, refs)
            except ArithmeticError:
                raise ConfigError(
                    f"key {source.key!r}, {name}: {ours} and {theirs} cannot be compared exactly "
                    "(values beyond the canonical bounds)"
                ) from None
            if difference is not None:
                found.append(difference)
        return found

    def _value(
        self,
        key: tuple[str, ...],
        name: str,
        ours: Amount,
        theirs: Amount,
        material: str | None,
        rule: FieldRule,
        refs: tuple[str, str],
    ) -> Discrepancy | None:
        unit = ours.unit
        tolerance = rule.tolerance(unit)
        if theirs.unit == unit:
            delta = EXACT.subtract(theirs.value, ours.value)
            if tolerance.admits(delta, ours.value, theirs.value):
                return None
            return Discrepancy(Kind.QUANTITY_MISMATCH, key, name, ours, theirs, delta, unit, refs)
        ratio = self._units.ratio(material, theirs.unit, unit)
        if ratio is None:
            detail = f"{theirs.unit} does not convert into {unit}" + (
                f" for material {material}" if material is not None else " (no material)"
            )
            return Discrepancy(Kind.UNIT_MISMATCH, key, name, ours, theirs, refs=refs, detail=detail)
        # both sides times the ratio's denominator: exact, where dividing by it might not be
        numerator, denominator = ratio
        mine, converted = EXACT.multiply(ours.value, denominator), EXACT.multiply(theirs.value, numerator)
        scaled = EXACT.subtract(converted, mine)
        if tolerance.admits(scaled, mine, converted, denominator):
            return None
        delta = _decimal(Fraction(scaled) / Fraction(denominator))
        return Discrepancy(Kind.QUANTITY_MISMATCH, key, name, ours, theirs, delta, unit, refs)

    def _stale(self, source: Record, target: Record, refs: tuple[str, str]) -> Discrepancy | None:
        if source.version is not None and target.version is not None:
            if source.version == target.version or version_key(target.version) >= version_key(source.version):
                return None
            detail = f"version {target.version} on the target, {source.version} on the source"
            return Discrepancy(Kind.STALE, source.key, refs=refs, detail=detail)
        if source.seen_at is None or target.seen_at is None:
            return None
        try:
            lag = source.seen_at - target.seen_at
        except TypeError:
            raise ConfigError(
                f"key {source.key!r}: seen_at {source.seen_at} and {target.seen_at} cannot be compared "
                "(a time without its UTC offset)"
            ) from None
        if lag <= self._max_lag:  # type: ignore[operator]
            return None
        detail = (
            f"seen {target.seen_at.isoformat()} on the target, {source.seen_at.isoformat()} on the "
            f"source: {lag} behind, {self._max_lag} allowed"
        )
        return Discrepancy(Kind.STALE, source.key, refs=refs, detail=detail)


def compare_sorted(
    source: Iterable[Record], target: Iterable[Record], rules: Rules, summary: Summary | None = None
) -> Generator[Discrepancy, None, None]:
    """The discrepancies between two sides whose records come in strictly increasing key order
    (sorted, duplicates collapsed: :func:`bridge.reconcile.reconcile` prepares them), counting
    into ``summary`` as it goes.

    Raises:
        ConfigError: a side is not in strictly increasing key order (names the side and keys).
    """
    counts = summary if summary is not None else Summary()
    kinds = counts.kinds
    comparer = PairComparer(rules)
    sources, targets = _strictly_increasing(source, "source"), _strictly_increasing(target, "target")
    ours, theirs = next(sources, None), next(targets, None)
    while ours is not None or theirs is not None:
        if theirs is None or (ours is not None and ours.key < theirs.key):
            counts.source_records += 1
            kinds[Kind.MISSING_IN_TARGET] += 1
            yield missing(ours, Kind.MISSING_IN_TARGET)  # type: ignore[arg-type]
            ours = next(sources, None)
        elif ours is None or theirs.key < ours.key:
            counts.target_records += 1
            kinds[Kind.MISSING_IN_SOURCE] += 1
            yield missing(theirs, Kind.MISSING_IN_SOURCE)
            theirs = next(targets, None)
        else:
            counts.source_records += 1
            counts.target_records += 1
            counts.pairs += 1
            found = comparer.compare(ours, theirs)
            if not found:
                counts.matched += 1
            for discrepancy in found:
                kinds[discrepancy.kind] += 1
                yield discrepancy
            ours, theirs = next(sources, None), next(targets, None)


def _strictly_increasing(records: Iterable[Record], side: str) -> Iterator[Record]:
    previous: tuple[str, ...] | None = None
    for record in records:
        key = record.key
        if previous is not None and not previous < key:
            raise ConfigError(
                f"{side} records are not in strictly increasing key order: {key!r} ({record.ref}) "
                f"after {previous!r}"
            )
        previous = key
        yield record


def _names(source: Record, target: Record) -> list[str]:
    names = list(source.values)
    names.extend(name for name in target.values if name not in source.values)
    return names


def _decimal(value: Fraction) -> Decimal:
    """``value`` exactly when it has a finite decimal, else to 34 significant digits."""
    exact = finite_decimal(value)
    if exact is not None:
        return exact
    return _DELTA.divide(Decimal(value.numerator), Decimal(value.denominator))
