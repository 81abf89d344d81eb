"""The registry of IDoc type definitions: the shipped WE60 files plus the integrator's, read
under the document size limit, cached by path, mtime and size."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from adapters.sap.definition_model import SHIPPED_DIR, IDocTypeDefinition
from adapters.sap.errors import DefinitionError
from adapters.sap.we60 import parse_we60
from bridge.errors import ConfigError, DecodeError
from bridge.limits import read_document

__all__ = ["DefinitionRegistry"]



def _read_text(path: Path) -> str:
    try:
        raw = read_document(path)  # the document size limit, checked before reading
    except DecodeError as exc:
        raise ConfigError(f"IDoc definition file: {exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # non-Unicode SAP exports are Latin-1/cp1252


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


# Module-level caches (by path, mtime and size) so codecs built per message share the work.
_SCAN_CACHE: dict[tuple[str, int, int], tuple[str, ...]] = {}
_PARSE_CACHE: dict[tuple[str, int, int], tuple[IDocTypeDefinition, ...]] = {}


def _scan(path: Path) -> tuple[str, ...]:
    """The registry keys a file defines, from its BEGIN_IDOC (and EXTENSION) lines only."""
    stamp = _stamp(path)
    cached = _SCAN_CACHE.get(stamp)
    if cached is not None:
        return cached
    keys: list[str] = []
    pending: str | None = None
    for raw in _read_text(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.replace("\t", " ").partition(" ")
        if pending is not None:
            extension = value.split(maxsplit=1)[0] if keyword == "EXTENSION" and value.strip() else None
            keys.append(extension or pending)
            pending = None
        if keyword == "BEGIN_IDOC" and value.strip():
            pending = value.split(maxsplit=1)[0]
    if pending is not None:
        keys.append(pending)
    result = tuple(keys)
    _SCAN_CACHE[stamp] = result
    return result


def _parse_file(path: Path) -> tuple[IDocTypeDefinition, ...]:
    stamp = _stamp(path)
    cached = _PARSE_CACHE.get(stamp)
    if cached is None:
        cached = tuple(parse_we60(_read_text(path), source=str(path)))
        _PARSE_CACHE[stamp] = cached
    return cached


def _definition_files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() == ".txt" and not p.name.startswith(".")
        )
    elif path.is_file():
        yield path
    else:
        raise ConfigError(f"IDoc definitions path {path} does not exist")


class DefinitionRegistry:
    """Finds IDoc type definitions among WE60 parser files, parsing each file on first use.

    The shipped files in :data:`SHIPPED_DIR` are indexed first, then the extra paths in order
    (files, or directories whose ``*.txt`` files are taken); a later file defining the same
    IDoc type or extension wins, so users can override shipped definitions. Indexing only scans
    for ``BEGIN_IDOC``/``EXTENSION`` lines; a file is parsed when one of its types is needed and
    the result is cached per file.

    Args:
        paths: extra definition files or directories (``--definitions PATH``).
        include_shipped: also index the files shipped with the bridge.

    Raises:
        ConfigError: a given path does not exist or cannot be read.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]] = (), *, include_shipped: bool = True) -> None:
        self._index: dict[str, Path] = {}
        self._cache: dict[tuple[str | None, str | None], IDocTypeDefinition] = {}
        if include_shipped and SHIPPED_DIR.is_dir():
            self._add(SHIPPED_DIR)
        for path in paths:
            self._add(Path(path))

    def _add(self, path: Path) -> None:
        for file in _definition_files(path):
            for key in _scan(file):
                self._index[key] = file

    def add_path(self, path: str | os.PathLike[str]) -> None:
        """Index one more definition file or directory (it wins over earlier ones)."""
        self._add(Path(path))
        self._cache.clear()

    def known_types(self) -> list[str]:
        """Names of all indexed IDoc types and extensions, sorted."""
        return sorted(self._index)

    def source_of(self, name: str) -> Path | None:
        """The file that defines ``name``, if any."""
        return self._index.get(name)

    def get(self, name: str) -> IDocTypeDefinition | None:
        """The definition of one IDoc type or extension, parsed on first use."""
        path = self._index.get(name)
        if path is None:
            return None
        for definition in _parse_file(path):
            if definition.key == name:
                return definition
        raise ConfigError(f"{path}: indexed as defining {name}, but parsing found no such IDoc")

    def resolve(
        self,
        idoc_type: str | None,
        extension: str | None = None,
        *,
        source: str | None = None,
        document_id: str | None = None,
    ) -> IDocTypeDefinition:
        """The definition for an IDoc of basic type ``idoc_type`` (IDOCTYP) and optional
        extension (CIMTYP), merging both when both are known.

        An unknown extension of a known basic type resolves to the basic type (its extra
        segments are then kept undecoded by the flat codec).

        Raises:
            DefinitionError: neither the basic type nor the extension is known.
        """
        cache_key = (idoc_type or None, extension or None)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        basic = self.get(idoc_type) if idoc_type else None
        ext = self.get(extension) if extension else None
        if basic is None and ext is None:
            what = " / ".join(f"{n}" for n in (idoc_type, extension) if n) or "(no IDOCTYP)"
            known = self.known_types()
            listing = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise DefinitionError(
                f"no segment definitions for IDoc type {what} "
                f"(known: {listing or 'none'}); give the WE60 parser export of the type "
                "with --definitions PATH",
                source=source,
                document_id=document_id,
            )
        result = basic.merged_with(ext) if basic is not None and ext is not None else basic or ext
        assert result is not None
        self._cache[cache_key] = result
        return result
