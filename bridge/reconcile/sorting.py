"""Records in key order with bounded memory: an external merge sort, or a checked pass-through.

:func:`external_sort` holds at most ``run_size`` records: it sorts runs of that many, spills
each to a pickle file in a private temporary directory, and merges the runs with
:func:`heapq.merge`, reading each run in chunks so that the merge too holds at most about
``run_size`` records (more than :data:`MERGE_WIDTH` runs are merged in several passes). The sort
is stable: records with equal keys keep their input order. The directory is removed when the
iterator is exhausted or closed.

:func:`in_order` passes the records of a side that says it returns them in key order (the
ledger, a query with ``ORDER BY``) through, refusing the first key that sorts before the one
before it. Keys are compared as tuples of text in code-point order (PostgreSQL: ``COLLATE "C"``).
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from itertools import islice
from operator import attrgetter
from pathlib import Path

from bridge.errors import ConfigError
from bridge.reconcile.records import Record

__all__ = ["DEFAULT_RUN_SIZE", "MERGE_WIDTH", "external_sort", "in_order"]

#: Records per sorted run when the job does not say: a few tens of MB of records.
DEFAULT_RUN_SIZE = 50_000

#: Most runs merged at once; more are merged in passes.
MERGE_WIDTH = 64

_KEY = attrgetter("key")
_MAX_CHUNK = 1024


def external_sort(
    records: Iterable[Record], *, run_size: int = DEFAULT_RUN_SIZE, directory: str | Path | None = None
) -> Iterator[Record]:
    """``records`` sorted by key, holding at most about ``run_size`` of them in memory.

    ``directory`` is where the temporary run files go (default: the system's temp directory).

    Raises:
        ConfigError: ``run_size`` is not a positive integer.
    """
    if isinstance(run_size, bool) or not isinstance(run_size, int) or run_size < 1:
        raise ConfigError(f"run_size must be a positive number of records, got {run_size!r}")
    return _sorted(iter(records), run_size, directory)


def _sorted(records: Iterator[Record], run_size: int, directory: str | Path | None) -> Iterator[Record]:
    buffer = list(islice(records, run_size))
    following = next(records, None)
    buffer.sort(key=_KEY)
    if following is None:  # everything fits in one run: no files
        yield from buffer
        return
    # the chunk every run is read back in: MERGE_WIDTH chunks together stay within run_size
    chunk = max(1, min(_MAX_CHUNK, run_size // MERGE_WIDTH))
    with tempfile.TemporaryDirectory(prefix="bridge-reconcile-", dir=directory) as work:
        runs = _Runs(Path(work), chunk)
        paths = [runs.spill(buffer)]
        buffer.clear()  # before the next run is read: never two runs in memory
        buffer.append(following)
        buffer.extend(islice(records, run_size - 1))
        while buffer:
            buffer.sort(key=_KEY)
            paths.append(runs.spill(buffer))
            buffer.clear()
            buffer.extend(islice(records, run_size))
        while len(paths) > MERGE_WIDTH:  # neighbours merged, so equal keys keep input order
            paths = [runs.merge(paths[at : at + MERGE_WIDTH]) for at in range(0, len(paths), MERGE_WIDTH)]
        yield from heapq.merge(*map(runs.read, paths), key=_KEY)


class _Runs:
    """Sorted runs as files of pickled chunks of records."""

    def __init__(self, directory: Path, chunk: int) -> None:
        self.directory = directory
        self.chunk = chunk
        self._count = 0

    def spill(self, records: Iterable[Record]) -> Path:
        """Write sorted ``records`` as a new run file."""
        path = self.directory / f"run-{self._count:06d}.pickle"
        self._count += 1
        items = iter(records)
        with path.open("wb") as out:
            while part := list(islice(items, self.chunk)):
                pickle.dump(part, out, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def merge(self, paths: list[Path]) -> Path:
        """One run from ``paths`` (removed once merged)."""
        merged = self.spill(heapq.merge(*map(self.read, paths), key=_KEY))
        for path in paths:
            path.unlink()
        return merged

    def read(self, path: Path) -> Iterator[Record]:
        # only run files this process wrote, in a directory only it can read, are unpickled
        with path.open("rb") as run:
            while True:
                try:
                    part = pickle.load(run)
                except EOFError:
                    return
                yield from part


def in_order(records: Iterable[Record], *, side: str) -> Iterator[Record]:
    """``records`` as they come, refusing the first whose key sorts before its predecessor's.

    Equal keys are let through (duplicates are the job's ``duplicates`` rule's to handle).

    Raises:
        ConfigError: names the side and both keys, while iterating.
    """
    previous: Record | None = None
    for record in records:
        if previous is not None and record.key < previous.key:
            raise ConfigError(
                f"side {side} says its records come in key order, but key {record.key!r} "
                f"({record.ref or 'no ref'}) comes after {previous.key!r} ({previous.ref or 'no ref'})"
            )
        previous = record
        yield record
