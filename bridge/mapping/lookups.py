"""Lookup tables: code translations (units, plants, status codes) kept as data.

A table is written inline in a mapping (``lookups: {status: {values: {...}}}``) or as a file
``mappings/lookups/<name>.yaml``::

    lookup: sap_units
    description: SAP internal units of measure -> UN/ECE Rec 20 codes
    values:
      ST: C62
      EA: C62

What happens when a key is missing is said where the table is used (``on_missing``), never
guessed: ``error`` (the default), ``pass`` (keep the source value) or ``{default: X}``.

Lookup files load like mapping files (:func:`bridge.mapping.yaml_source.load_yaml_file`): the same
size and alias limits, duplicate keys refused, every problem one ``file:line: ...`` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import MappingDefinitionError
from bridge.mapping.yaml_source import line_of, load_yaml_file

__all__ = ["LookupTable", "load_lookup_dir", "load_lookup_file"]


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A named key -> value table (keys compared as text)."""

    name: str
    values: Mapping[str, Any]
    origin: str = "inline"

    def inverted(self) -> LookupTable:
        """The reverse table (value -> key); fails when two keys share a value."""
        reverse: dict[str, Any] = {}
        for key, value in self.values.items():
            text = str(value)
            if text in reverse:
                raise MappingDefinitionError(
                    f"lookup {self.name} ({self.origin}) cannot be inverted: "
                    f"{reverse[text]!r} and {key!r} both map to {text!r}"
                )
            reverse[text] = key
        return LookupTable(f"{self.name} (inverted)", reverse, self.origin)


def table_from_data(name: str, data: Any, origin: str) -> LookupTable:
    """Build a table from ``{values: {...}}`` data, checking its shape."""
    values = data.get("values") if isinstance(data, Mapping) else None
    if not isinstance(values, Mapping):
        raise MappingDefinitionError(f"{origin}: lookup {name} needs a 'values' mapping")
    return LookupTable(name, {str(k): v for k, v in values.items()}, origin)


def load_lookup_file(path: Path) -> LookupTable:
    """Read one ``<name>.yaml`` lookup file.

    Raises:
        MappingDefinitionError: one line naming the file and line (unreadable, too large,
            invalid YAML, a duplicate key, no ``values`` mapping).
    """
    data = load_yaml_file(path)
    if not isinstance(data, Mapping):
        raise MappingDefinitionError(f"{path}: a lookup file holds one YAML object (lookup:, values:)")
    name = data.get("lookup", path.stem)
    if not isinstance(name, str) or not name:
        raise MappingDefinitionError(f"{path}:{line_of(data, ['lookup'])}: lookup: must be a name")
    if not isinstance(data.get("values"), Mapping):
        raise MappingDefinitionError(f"{path}:{line_of(data, ['values'])}: lookup {name} needs a 'values' mapping")
    return table_from_data(name, data, str(path))


def load_lookup_dir(directory: Path) -> dict[str, LookupTable]:
    """All ``*.yaml`` tables in a folder, by name (empty when the folder does not exist).

    Raises:
        MappingDefinitionError: every broken or clashing file, one line each.
    """
    tables: dict[str, LookupTable] = {}
    if not directory.is_dir():
        return tables
    problems: list[str] = []
    for path in sorted(directory.glob("*.y*ml")):
        try:
            table = load_lookup_file(path)
        except MappingDefinitionError as exc:
            problems.append(str(exc))
            continue
        if table.name in tables:
            problems.append(f"{path}: lookup {table.name} is also defined in {tables[table.name].origin}")
            continue
        tables[table.name] = table
    if problems:
        raise MappingDefinitionError("\n".join(problems))
    return tables
