"""What a reconciliation job compares and how closely: tolerances, value rules, the stale rule.

Tolerance. Two quantities match when their difference is within the tolerance of the unit
they are compared in (the source value's unit; the target value is converted into it):
``|target - source| <= absolute`` or ``|target - source| <= relative * max(|source|, |target|)``
(either bound suffices; neither given: exact). Tolerances are looked up per value and unit
(``{"KG": Tolerance(absolute=Decimal("0.001")), "*": Tolerance(relative=Decimal("0.0001"))}``),
``"*"`` being every other unit.

Stale. A pair of records is stale when the target holds an older state of the key than the
source, beyond what the job allows (:class:`StaleRule`):

1. when both records carry a version, the target's version sorts before the source's (the
   ledger's version order, :func:`~bridge.reconcile.records.version_key`): versions are
   ordinal, so no allowance applies to them;
2. otherwise, when both carry ``seen_at``, the source's is later than the target's by more
   than ``max_lag`` (time for a change to travel; zero by default).

A target ahead of the source is not stale. A stale pair is reported once, as ``stale``, and its
values are not compared: they differ because the target has not had the change yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from bridge.errors import ConfigError
from bridge.reconcile.records import EXACT
from bridge.reconcile.units import UnitConverter

__all__ = ["ANY_UNIT", "FieldRule", "Rules", "StaleRule", "Tolerance"]

#: The unit a tolerance table falls back to.
ANY_UNIT = "*"

_ONE = Decimal(1)


@dataclass(frozen=True)
class Tolerance:
    """How far two quantities in one unit may differ: absolute (in that unit) and/or relative
    (a fraction of the larger magnitude: ``Decimal("0.0001")`` is 0.01 %)."""

    absolute: Decimal | None = None
    relative: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, Decimal | int):
                raise ConfigError(f"tolerance {name}: {bound!r} is not a decimal number")
            if not Decimal(bound).is_finite() or bound < 0:
                raise ConfigError(f"tolerance {name}: {bound} must be a finite number >= 0")
            object.__setattr__(self, name, Decimal(bound))

    def admits(self, delta: Decimal, ours: Decimal, theirs: Decimal, scale: Decimal = _ONE) -> bool:
        """Whether ``delta`` (theirs - ours) is within the tolerance, computed exactly.

        All three may come multiplied by a positive ``scale`` (a conversion's denominator, so
        that they are exact): the absolute bound is scaled alike.
        """
        if not delta:
            return True
        size = EXACT.abs(delta)
        if self.absolute is not None:
            bound = self.absolute if scale == 1 else EXACT.multiply(self.absolute, scale)
            if size <= bound:
                return True
        if self.relative is None:
            return False
        return size <= EXACT.multiply(self.relative, max(EXACT.abs(ours), EXACT.abs(theirs)))


EXACT_MATCH = Tolerance()


@dataclass(frozen=True)
class FieldRule:
    """How one value is compared.

    Attributes:
        tolerances: unit -> :class:`Tolerance`, ``"*"`` for any other unit; none: exact.
        absent_as_zero: a value one side lacks counts as zero (scrap the MES leaves out when
            there was none); otherwise a value on one side only is a ``quantity_mismatch``.
    """

    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    absent_as_zero: bool = False

    def tolerance(self, unit: str) -> Tolerance:
        found = self.tolerances.get(unit)
        if found is None:
            found = self.tolerances.get(ANY_UNIT, EXACT_MATCH)
        return found


@dataclass(frozen=True)
class StaleRule:
    """When a pair is stale (see the module's text): ``max_lag`` allowed between ``seen_at``s."""

    max_lag: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if not isinstance(self.max_lag, timedelta) or self.max_lag < timedelta(0):
            raise ConfigError(f"stale max_lag must be a duration >= 0, got {self.max_lag!r}")


@dataclass(frozen=True)
class Rules:
    """A job's comparison rules.

    Attributes:
        key_fields: the names of the business key fields, in the order of ``Record.key``.
        fields: value name -> :class:`FieldRule`: only these values are compared; empty: every
            value either side holds, exactly.
        units: the unit conversions.
        stale: the stale rule; None: versions and times are not compared.
    """

    key_fields: tuple[str, ...]
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    units: UnitConverter = field(default_factory=UnitConverter)
    stale: StaleRule | None = None

    def __post_init__(self) -> None:
        if not self.key_fields or not all(isinstance(name, str) and name for name in self.key_fields):
            raise ConfigError(f"key_fields must name at least one key field, got {self.key_fields!r}")
        if len(set(self.key_fields)) != len(self.key_fields):
            raise ConfigError(f"key_fields names a field twice: {self.key_fields!r}")
        object.__setattr__(self, "key_fields", tuple(self.key_fields))
