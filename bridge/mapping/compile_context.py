"""What compiling one mapping file needs: its name, file, time zone and lookup tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import MappingDefinitionError
from bridge.mapping.lookups import LookupTable
from bridge.mapping.yaml_source import LinedDict

__all__ = ["CompileContext"]


@dataclass
class CompileContext:
    """What compiling one mapping file needs: its name, file, zone and lookup tables."""

    mapping: str
    file: str
    timezone: str = "UTC"
    inline_lookups: Mapping[str, LookupTable] = field(default_factory=dict)
    shared_lookups: Mapping[str, LookupTable] = field(default_factory=dict)

    def where(self, node: Any, key: str | None = None) -> str:
        """``file:line`` of a key in a YAML object (or of the object)."""
        line = None
        if isinstance(node, LinedDict):
            line = node.key_lines.get(key) if key else node.line
            line = line or node.line
        return f"{self.file}:{line}" if line else self.file

    def table(self, name: str, where: str) -> LookupTable:
        """The lookup table called ``name`` (inline first, then mappings/lookups/)."""
        table = self.inline_lookups.get(name) or self.shared_lookups.get(name)
        if table is None:
            known = sorted({*self.inline_lookups, *self.shared_lookups})
            raise MappingDefinitionError(
                f"{where}: unknown lookup table {name!r} (known: {', '.join(known) or 'none'})"
            )
        return table
