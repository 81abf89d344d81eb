"""The running bridge's mapping catalog, swappable while messages flow (mapping hot reload).

A :class:`CatalogHolder` stands where a :class:`MappingCatalog` would (it has the same read
methods) and always answers from one complete catalog: :meth:`CatalogHolder.swap` replaces the
whole catalog at once, never a part of it. Inside :func:`catalog_batch` every holder answers
from the catalog it held at its first read in that block, so a batch that started with one
catalog finishes with it even when a reload lands in the middle; the next batch reads the new
one. Worker threads a batch fans out to carry the block with them when started through
``contextvars.copy_context().run``.

:meth:`CatalogHolder.get` returns a :class:`LiveMapping`, a reference by name that resolves in
the current (batch-pinned) catalog at each use: the reverse mappings a sink looked up once, when
it was built, follow the reloads too. The names looked up that way are what the running routes
need; :meth:`CatalogHolder.refusals` names a new catalog that lacks one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from bridge.mapping.catalog import MappingCatalog
from bridge.mapping.mapping import CompiledMapping

__all__ = ["CatalogHolder", "LiveMapping", "as_holder", "catalog_batch"]

# holder -> the catalog it answers with until the batch ends; None outside a batch
_PINNED: ContextVar[dict[CatalogHolder, MappingCatalog] | None] = ContextVar("bridge_pinned_catalogs", default=None)


@contextmanager
def catalog_batch(*holders: CatalogHolder) -> Iterator[None]:
    """Within the block every holder keeps answering with the catalog of its first read there,
    ``holders`` with the one they hold on entering (nested blocks share the outer one's)."""
    pinned = _PINNED.get()
    token = _PINNED.set({}) if pinned is None else None
    for holder in holders:
        holder.current  # noqa: B018 - the read pins it
    try:
        yield
    finally:
        if token is not None:
            _PINNED.reset(token)


class CatalogHolder:
    """The current :class:`MappingCatalog`, replaced whole by :meth:`swap`.

    Args:
        catalog: the catalog loaded at start-up.
    """

    def __init__(self, catalog: MappingCatalog) -> None:
        self._catalog = catalog
        self._lock = threading.Lock()
        self._used: dict[str, str] = {}  # name -> direction, of the mappings looked up by name
        self.generation = 1

    @property
    def current(self) -> MappingCatalog:
        """The catalog to read now: the batch's (see :func:`catalog_batch`), else the newest."""
        pinned = _PINNED.get()
        if pinned is None:
            return self._catalog
        catalog = pinned.get(self)
        if catalog is None:  # setdefault: threads of one batch reading at once agree
            catalog = pinned.setdefault(self, self._catalog)
        return catalog

    def swap(self, catalog: MappingCatalog) -> MappingCatalog:
        """Make ``catalog`` the current one (batches under way keep theirs); the one it replaced."""
        with self._lock:
            old, self._catalog = self._catalog, catalog
            self.generation += 1
        return old

    def refusals(self, catalog: MappingCatalog) -> list[str]:
        """Why ``catalog`` cannot replace the current one (empty when it can): a mapping the
        routes use by name is gone or changed direction, or a document type it reads is now
        read by several mappings."""
        problems = []
        for name, direction in sorted(self._used.items()):
            mapping = catalog.mappings.get(name)
            if mapping is None:
                problems.append(f"mapping {name} is used by a route but is no longer defined in {catalog.directory}")
            elif mapping.direction != direction:
                problems.append(f"{mapping.file}: mapping {name} is used by a route as {direction}, now {mapping.direction}")
        before = _readers(self._catalog)
        for (system, document), names in sorted(_readers(catalog).items()):
            if len(names) > 1 and len(before.get((system, document), ())) <= 1:
                problems.append(f"several mappings would read {system} {document}: {', '.join(sorted(names))}")
        return problems

    # -- what a MappingCatalog offers, from the current catalog ------------------------------

    @property
    def directory(self) -> Path:
        return self.current.directory

    @property
    def mappings(self) -> dict[str, CompiledMapping]:
        return self.current.mappings

    @property
    def lookups(self) -> dict[str, Any]:
        return self.current.lookups

    def __iter__(self) -> Iterator[CompiledMapping]:
        return iter(self.current)

    def get(self, name: str) -> LiveMapping:
        """The mapping called ``name``, followed through reloads; ConfigError if there is none."""
        mapping = self.current.get(name)
        with self._lock:
            self._used[name] = mapping.direction
        return LiveMapping(self, name)

    def for_document(self, system: str, document_type: str, extension: str | None = None) -> list[CompiledMapping]:
        return self.current.for_document(system, document_type, extension)

    def reading(self, system: str, document_type: str, extension: str | None = None, **kwargs: Any) -> CompiledMapping:
        return self.current.reading(system, document_type, extension, **kwargs)

    def for_envelope(self, entity: str, event: str, system: str | None = None) -> list[CompiledMapping]:
        return self.current.for_envelope(entity, event, system)


class LiveMapping:
    """A mapping by name that resolves in its holder's current catalog at each use (its
    attributes and methods are the :class:`CompiledMapping`'s)."""

    __slots__ = ("holder", "name")

    def __init__(self, holder: CatalogHolder, name: str) -> None:
        self.holder = holder
        self.name = name

    def resolve(self) -> CompiledMapping:
        """The mapping in the current catalog (a swap keeps every name in use: :meth:`CatalogHolder.refusals`)."""
        return self.holder.current.get(self.name)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute in LiveMapping.__slots__:  # copy, pickle: not set yet
            raise AttributeError(attribute)
        return getattr(self.resolve(), attribute)

    def __repr__(self) -> str:
        return f"LiveMapping({self.name!r})"


def as_holder(catalog: MappingCatalog | CatalogHolder) -> CatalogHolder:
    """``catalog`` itself when it is a holder, else a holder of it (that never swaps)."""
    return catalog if isinstance(catalog, CatalogHolder) else CatalogHolder(catalog)


def _readers(catalog: MappingCatalog) -> dict[tuple[str, str], set[str]]:
    """(system, document type) -> the names of the mappings to canonical reading it."""
    readers: dict[tuple[str, str], set[str]] = {}
    for mapping in catalog:
        if mapping.direction == "to_canonical":
            for document in mapping.documents:
                readers.setdefault((mapping.system, document), set()).add(mapping.name)
    return readers
