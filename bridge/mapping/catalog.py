"""All mappings of a folder, loaded once and found by name or by (system, document type)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridge.errors import ConfigError, MappingDefinitionError, MappingError, shown
from bridge.mapping.loader import load_mapping
from bridge.mapping.lookups import LookupTable, load_lookup_dir
from bridge.mapping.mapping import CompiledMapping

__all__ = ["MappingCatalog", "default_mappings_dir", "mapping_files"]

#: Where mappings live unless --mappings or BRIDGE_MAPPINGS_DIR says otherwise.
DEFAULT_MAPPINGS_DIR = "mappings"
CASES_SUFFIX = ".cases.yaml"
LOOKUPS_DIR = "lookups"


def default_mappings_dir() -> Path:
    """``$BRIDGE_MAPPINGS_DIR`` or ``./mappings``."""
    return Path(os.environ.get("BRIDGE_MAPPINGS_DIR", DEFAULT_MAPPINGS_DIR))


def mapping_files(directory: Path) -> list[Path]:
    """Mapping YAML files below ``directory`` (not lookups, not test cases).

    Symlinked folders are followed: a Kubernetes ConfigMap or Secret volume holds its tree as
    links (``sap -> ..data/sap``), and the dot-folders behind them are left out.
    """
    files = []
    for folder, subfolders, names in os.walk(directory, followlinks=True):
        relative_folder = Path(folder).relative_to(directory)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d != "cases"
                               and not (relative_folder == Path(".") and d == LOOKUPS_DIR))
        for name in names:
            if not name.endswith((".yaml", ".yml")) or name.endswith((CASES_SUFFIX, ".cases.yml")):
                continue
            files.append(Path(folder) / name)
    return sorted(files)


@dataclass
class MappingCatalog:
    """The compiled mappings of one folder."""

    directory: Path
    mappings: dict[str, CompiledMapping] = field(default_factory=dict)
    lookups: dict[str, LookupTable] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path | None = None, *, timezones: Mapping[str, str] | None = None) -> MappingCatalog:
        """Load and compile every mapping; all problems are reported together.

        Args:
            directory: the mappings folder (default :func:`default_mappings_dir`).
            timezones: zones configured per ERP system (``sources.<system>.timezone``); they
                win over the mappings' own ``source.timezone``.
        """
        directory = directory or default_mappings_dir()
        if not directory.is_dir():
            raise ConfigError(
                f"mappings folder {directory} does not exist (set --mappings or BRIDGE_MAPPINGS_DIR)"
            )
        lookups = load_lookup_dir(directory / LOOKUPS_DIR)
        catalog = cls(directory, {}, lookups)
        problems: list[str] = []
        for path in mapping_files(directory):
            try:
                mapping = load_mapping(path, lookups, timezones=timezones)
            except MappingDefinitionError as exc:
                problems.append(str(exc))
                continue
            if mapping.name in catalog.mappings:
                problems.append(
                    f"{path}: mapping name {mapping.name} is also used by {catalog.mappings[mapping.name].file}"
                )
                continue
            catalog.mappings[mapping.name] = mapping
        if problems:
            raise MappingDefinitionError("\n".join(problems))
        return catalog

    def __iter__(self) -> Iterator[CompiledMapping]:
        return iter(self.mappings.values())

    def get(self, name: str) -> CompiledMapping:
        """The mapping called ``name``; ConfigError listing the known names if none."""
        try:
            return self.mappings[name]
        except KeyError:
            raise ConfigError(
                f"no mapping named {name!r} in {self.directory} (known: {', '.join(sorted(self.mappings)) or 'none'})"
            ) from None

    def for_document(
        self, system: str, document_type: str, extension: str | None = None
    ) -> list[CompiledMapping]:
        """Mappings reading this (system, document type); an extension name also matches."""
        names = {document_type, extension} - {None}
        return [
            m
            for m in self
            if m.direction == "to_canonical" and m.system == system and names & set(m.documents)
        ]

    def reading(
        self,
        system: str,
        document_type: str,
        extension: str | None = None,
        *,
        document: str | None = None,
        choose: str = "",
    ) -> CompiledMapping:
        """The one mapping reading this (system, document type).

        Args:
            document: the document's label, for the error.
            choose: how the caller lets the user pick one when several match (``"choose one
                with --mapping"``), added to that error.

        Raises:
            MappingError: no mapping, or several, read it; names those that exist.
        """
        found = self.for_document(system, document_type, extension)
        if len(found) == 1:
            return found[0]
        if not found:
            known = sorted({f"{m.system} {d}" for m in self if m.direction == "to_canonical" for d in m.documents})
            raise MappingError(
                f"no mapping reads {system} {shown(document_type)} "
                f"(mappings exist for: {', '.join(known) or 'nothing'})",
                document=document,
            )
        raise MappingError(
            f"several mappings read {system} {shown(document_type)}: {', '.join(m.name for m in found)}"
            + (f"; {choose}" if choose else "; exactly one may"),
            document=document,
        )

    def for_envelope(self, entity: str, event: str, system: str | None = None) -> list[CompiledMapping]:
        """Reverse mappings for this canonical entity and event (optionally one target system)."""
        return [
            m
            for m in self
            if m.direction == "from_canonical"
            and m.entity == entity
            and (not m.events or event in m.events)
            and (system is None or m.system == system)
        ]
