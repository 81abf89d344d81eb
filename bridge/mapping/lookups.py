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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bridge.errors import MappingDefinitionError

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
    """Read one ``<name>.yaml`` lookup file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingDefinitionError(f"{path}: cannot read lookup table: {exc}") from exc
    name = data.get("lookup", path.stem) if isinstance(data, Mapping) else path.stem
    return table_from_data(str(name), data, str(path))


def load_lookup_dir(directory: Path) -> dict[str, LookupTable]:
    """All ``*.yaml`` tables in a folder, by name (empty when the folder does not exist)."""
    tables: dict[str, LookupTable] = {}
    if not directory.is_dir():
        return tables
    for path in sorted(directory.glob("*.y*ml")):
        table = load_lookup_file(path)
        if table.name in tables:
            raise MappingDefinitionError(
                f"{path}: lookup {table.name} is also defined in {tables[table.name].origin}"
            )
        tables[table.name] = table
    return tables
