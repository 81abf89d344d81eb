"""Unit conversions, global and per material, as exact factors.

A :class:`Conversion` says ``1 unit = factor into`` (``Conversion("BOX", Decimal(12), "PCS")``).
Global conversions (1 KG = 1000 G) apply to every material; a material's own (1 BOX = 12 PCS
for material M) apply to it alone, together with the global ones. Units linked by a chain of
conversions convert into each other (T -> KG -> G); units not linked do not, and
:meth:`UnitConverter.factor` says so with None rather than guessing.

Factors are :class:`fractions.Fraction`: 1 PCS is exactly 1/12 BOX, which no Decimal is.
Contradicting conversions (1 BOX = 12 PCS and 1 BOX = 10 PCS, directly or through a chain)
are refused when the converter is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bridge.errors import ConfigError

__all__ = ["Conversion", "UnitConverter"]

_ONE = Fraction(1)
_CACHE_LIMIT = 65536


@dataclass(frozen=True)
class Conversion:
    """``per unit = factor into``: ``Conversion("BOX", Decimal("12"), "PCS")`` (1 BOX = 12 PCS);
    ``per`` states factors with no finite decimal: 3 PCS = 1 SET is ``Conversion("PCS", 1, "SET", per=3)``."""

    unit: str
    factor: Decimal
    into: str
    per: Decimal = Decimal(1)

    def __str__(self) -> str:
        return f"{self.per} {self.unit} = {self.factor} {self.into}"


# unit -> (root unit of its group, how many root units one unit is)
_Groups = dict[str, tuple[str, Fraction]]


class UnitConverter:
    """Exact conversion factors between units, per material.

    Raises (on construction):
        ConfigError: a factor is not a positive finite number, a unit is empty, or two
            conversions contradict each other; the message names the material and units.
    """

    def __init__(
        self,
        conversions: Iterable[Conversion] = (),
        per_material: Mapping[str, Iterable[Conversion]] | None = None,
    ) -> None:
        shared = list(conversions)
        self._global = _groups(shared, where="global conversions")
        self._materials: dict[str, _Groups] = {
            material: _groups([*shared, *own], where=f"material {material}")
            for material, own in (per_material or {}).items()
        }
        self._cache: dict[tuple[str | None, str, str], Fraction | None] = {}
        self._ratios: dict[tuple[str | None, str, str], tuple[Decimal, Decimal] | None] = {}

    @classmethod
    def from_materials(
        cls, materials: Iterable[Any], conversions: Iterable[Conversion] = ()
    ) -> UnitConverter:
        """A converter from canonical :class:`~bridge.canonical.Material` master data: each
        ``UnitConversion`` says 1 unit = numerator/denominator of the material's base unit
        (SAP's UMREZ/UMREN), plus the global ``conversions``."""
        per_material = {
            material.material_id: [
                Conversion(alt.unit, Decimal(alt.numerator), material.base_unit, per=Decimal(alt.denominator))
                for alt in material.units
            ]
            for material in materials
        }
        return cls(conversions, per_material)

    def factor(self, material: str | None, unit: str, into: str) -> Fraction | None:
        """How many ``into`` one ``unit`` is for ``material`` (None: they do not convert)."""
        if unit == into:
            return _ONE
        cache_key = (material, unit, into)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        groups = self._materials.get(material, self._global) if material is not None else self._global
        found = None
        a, b = groups.get(unit), groups.get(into)
        if a is not None and b is not None and a[0] == b[0]:
            found = a[1] / b[1]
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[cache_key] = found
        return found

    def ratio(self, material: str | None, unit: str, into: str) -> tuple[Decimal, Decimal] | None:
        """:meth:`factor` as whole numbers: one ``unit`` is numerator/denominator ``into``.

        Comparing ``a unit`` with ``b into`` as ``a * numerator`` against ``b * denominator`` is
        exact in Decimal and several times faster than fractions.
        """
        cache_key = (material, unit, into)
        try:
            return self._ratios[cache_key]
        except KeyError:
            pass
        factor = self.factor(material, unit, into)
        found = None if factor is None else (Decimal(factor.numerator), Decimal(factor.denominator))
        if len(self._ratios) >= _CACHE_LIMIT:
            self._ratios.clear()
        self._ratios[cache_key] = found
        return found


def _groups(conversions: list[Conversion], *, where: str) -> _Groups:
    """Units grouped by what converts into what, each with its factor to its group's root."""
    links: dict[str, list[tuple[str, Fraction, Conversion]]] = {}
    for conversion in conversions:
        factor = _checked(conversion, where)
        links.setdefault(conversion.unit, []).append((conversion.into, factor, conversion))
        links.setdefault(conversion.into, []).append((conversion.unit, 1 / factor, conversion))
    groups: _Groups = {}
    for root in links:
        if root in groups:
            continue
        groups[root] = (root, _ONE)
        stack = [root]
        while stack:
            unit = stack.pop()
            in_root = groups[unit][1]
            for other, factor, conversion in links[unit]:
                # one `unit` = factor `other`, so one `other` = in_root / factor root units
                expected = in_root / factor
                if other not in groups:
                    groups[other] = (root, expected)
                    stack.append(other)
                elif groups[other][1] != expected:
                    implied = groups[conversion.unit][1] / groups[conversion.into][1]
                    raise ConfigError(
                        f"{where}: {conversion} contradicts the other conversions, by which "
                        f"1 {conversion.unit} = {_fraction_text(implied)} {conversion.into}"
                    )
    return groups


def _checked(conversion: Conversion, where: str) -> Fraction:
    """``conversion``'s factor as one ``unit`` in ``into``, refused unless positive and finite."""
    for unit in (conversion.unit, conversion.into):
        if not isinstance(unit, str) or not unit.strip():
            raise ConfigError(f"{where}: {conversion!r} has an empty unit")
    if conversion.unit == conversion.into:
        raise ConfigError(f"{where}: {conversion} converts a unit into itself")
    for number in (conversion.factor, conversion.per):
        if (
            isinstance(number, bool)
            or not isinstance(number, Decimal | int)
            or not Decimal(number).is_finite()
        ):
            raise ConfigError(f"{where}: {conversion}: {number!r} is not a finite decimal number")
        if number <= 0:
            raise ConfigError(f"{where}: {conversion}: {number} is not positive")
    return Fraction(conversion.factor) / Fraction(conversion.per)


def _fraction_text(value: Fraction) -> str:
    """A factor for a message: its decimal when it has a finite one, else n/d."""
    if value.denominator == 1:
        return str(value.numerator)
    text = str(Decimal(value.numerator) / Decimal(value.denominator))
    return text if Fraction(Decimal(text)) == value else f"{value.numerator}/{value.denominator}"
