"""Mapping hot reload: watch the mappings folder, load a changed catalog whole, swap it in.

A :class:`MappingReloader` looks at the mapping files and lookup tables of the folder every
``interval_s`` seconds (setting ``mappings_reload_s``, env ``BRIDGE_MAPPINGS_RELOAD_S``; 0 =
off); test cases are not watched. A
file counts as changed when its content does (size, mtime and inode are only the cheap first
look; a file touched but not changed is no change). A change must hold still for ``settle_s``
(an integrator saving a mapping and its lookup table) before the complete new
:class:`~bridge.mapping.MappingCatalog` is loaded:

* it loads, and the routes still find every mapping they use: it is swapped into the
  :class:`~bridge.mapping.holder.CatalogHolder` the stages read per batch, logged at INFO
  (``mappings reloaded: 12 mappings (changed: sap/matmas_material.yaml)``) and counted
  ``bridge_mapping_reloads_total{outcome="applied"}``;
* it does not: the loader's errors (file and line) are logged at ERROR, the old catalog stays,
  ``bridge_mapping_reloads_total{outcome="rejected"}`` counts it and
  ``bridge_mapping_reload_failed`` is 1 until a later version loads (or the files are put back).
  The same broken files are not tried again until they change.

The swap does not touch the broker or the ledger: no message is dropped, none processed twice;
a batch under way finishes with the catalog it started with. With ``--workers N`` every
process watches and reloads on its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, MappingDefinitionError
from bridge.mapping.catalog import LOOKUPS_DIR, MappingCatalog, mapping_files
from bridge.mapping.holder import CatalogHolder

__all__ = ["MappingReloader", "watched_files"]

log = logging.getLogger(__name__)

#: Environment variable: seconds between two looks at the mappings folder (0 turns reload off).
#: Default of ``BRIDGE_MAPPINGS_RELOAD_S``.
DEFAULT_RELOAD_S = 5.0
#: How long a change must stay as it is before it is loaded (``BRIDGE_MAPPINGS_RELOAD_SETTLE_S``).
SETTLE_S = float(os.environ.get("BRIDGE_MAPPINGS_RELOAD_SETTLE_S", "0.5"))


def watched_files(directory: Path) -> list[Path]:
    """What a catalog is loaded from: the mapping files and the lookup tables."""
    lookups = directory / LOOKUPS_DIR
    tables = sorted(lookups.glob("*.y*ml")) if lookups.is_dir() else []
    return mapping_files(directory) + tables if directory.is_dir() else []


@dataclass(frozen=True)
class _Stamp:
    """One file as last seen: the cheap look (inode, size, mtime) and its content's digest."""

    look: tuple[int, int, int]
    digest: str


Scan = dict[str, _Stamp]  # path relative to the folder -> stamp


class MappingReloader:
    """Keeps a :class:`CatalogHolder` in step with the mapping files of ``directory``.

    The folder is looked at before the first load, so a file changed while it loads is seen
    at the next look.

    Args:
        load: loads a complete catalog (raises MappingDefinitionError or ConfigError).
        directory: the mappings folder ``load`` reads.
        interval_s: seconds between two looks (:meth:`start`); 0: never look.
        settle_s: how long a change must stay as it is (capped at ``interval_s``).
        metrics: a :class:`~bridge.observability.metrics.Metrics`, or None.
    """

    def __init__(
        self,
        load: Callable[[], MappingCatalog],
        directory: Path,
        *,
        interval_s: float = DEFAULT_RELOAD_S,
        settle_s: float = SETTLE_S,
        metrics: Any = None,
    ) -> None:
        self.load = load
        self.directory = directory
        self.interval_s = interval_s
        self.settle_s = min(settle_s, interval_s)
        self.metrics = metrics
        self._seen: Scan = self._scan({}) if interval_s > 0 else {}
        self._loaded: Scan = self._seen  # the files the current catalog was loaded from
        self.holder = CatalogHolder(load())
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Look at the folder every ``interval_s`` seconds in a daemon thread (not when 0)."""
        if self.interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="mapping-reload", daemon=True)
        self._thread.start()
        log.info("watching %s for mapping changes every %g s", self.directory, self.interval_s)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop looking (a reload under way finishes first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # the watcher must outlive a surprise; the old catalog stays
                log.exception("mappings: looking for changes in %s failed", self.directory)

    def check(self) -> str | None:
        """Look once: ``"applied"``, ``"rejected"``, or None when nothing (loadable) changed."""
        scan = self._scan(self._seen)
        if scan == self._seen:
            return None
        if self.settle_s > 0:
            if self._stopping.wait(self.settle_s):
                return None
            if self._scan(scan) != scan:  # still being written: look again next time
                return None
        changed = _changed(self._seen, scan)
        self._seen = scan
        if not changed:  # touched, not changed
            return None
        if not _changed(self._loaded, scan):
            log.info("mappings: the files are back to the version loaded (changed: %s)", ", ".join(changed))
            self._set_failed(False)
            return None
        return self._reload(scan, _changed(self._loaded, scan))

    def _reload(self, scan: Scan, changed: list[str]) -> str:
        current = self.holder.current
        try:
            catalog = self.load()
            problems = self.holder.refusals(catalog)
            if problems:
                raise MappingDefinitionError("\n".join(problems))
        except (MappingDefinitionError, ConfigError, OSError) as exc:
            return self._rejected(current, changed, str(exc))
        except Exception as exc:  # a loader bug met by these files: the same answer, with the trace
            return self._rejected(current, changed, f"unexpected {type(exc).__name__}: {exc}", trace=True)
        self.holder.swap(catalog)
        self._loaded = scan
        log.info("mappings reloaded: %d mappings (changed: %s)", len(catalog.mappings), ", ".join(changed))
        if self.metrics is not None:
            self.metrics.mapping_reload("applied")
        self._set_failed(False)
        return "applied"

    def _rejected(self, current: MappingCatalog, changed: list[str], error: str, *, trace: bool = False) -> str:
        log.error(  # one line: each problem names its file and line
            "mappings not reloaded, still using the %d loaded before (changed: %s): %s",
            len(current.mappings), ", ".join(changed), "; ".join(error.splitlines()), exc_info=trace,
        )
        if self.metrics is not None:
            self.metrics.mapping_reload("rejected")
        self._set_failed(True)
        return "rejected"

    def _set_failed(self, failed: bool) -> None:
        if self.metrics is not None:
            self.metrics.set_mapping_reload_failed(failed)

    def _scan(self, previous: Scan) -> Scan:
        """Every watched file's stamp; a file whose cheap look is unchanged is not read again."""
        scan: Scan = {}
        for path in watched_files(self.directory):
            name = path.relative_to(self.directory).as_posix()
            try:
                status = path.stat()
                look = (status.st_ino, status.st_size, status.st_mtime_ns)
                known = previous.get(name)
                scan[name] = known if known is not None and known.look == look else _Stamp(look, _digest(path))
            except OSError:  # gone or unreadable right now: the load says which and why
                continue
        return scan


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _changed(before: Scan, after: Scan) -> list[str]:
    """Files whose content differs, added or removed (relative names, sorted)."""
    names = before.keys() | after.keys()
    return sorted(
        name for name in names
        if (before[name].digest if name in before else None) != (after[name].digest if name in after else None)
    )
