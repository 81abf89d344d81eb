"""One reconciliation run: two sides prepared (keys checked, sorted, duplicates collapsed) and
compared, streamed.

>>> from decimal import Decimal
>>> from bridge.reconcile import Amount, Record, Rules, Side, reconcile
>>> erp = [Record(("430094", "0010"), {"yield": Amount(Decimal("12"), "PCS")})]
>>> mes = [Record(("430094", "0010"), {"yield": Amount(Decimal("11"), "PCS")})]
>>> with reconcile(Side("erp", erp), Side("mes", mes), Rules(("order_id", "operation_id"))) as run:
...     [(d.kind.value, d.delta) for d in run]
[('quantity_mismatch', Decimal('-1'))]
>>> run.summary.pairs, run.summary.matched
(1, 0)

Memory is bounded by ``run_size``, never by the sides' sizes: a side that says it is
``ordered`` is only checked and holds one record at a time; an unordered side is sorted
externally and holds about ``run_size`` records while its runs are written and as many while
they are merged (so two unordered sides: about three times ``run_size`` at the peak).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bridge.errors import ConfigError
from bridge.reconcile.compare import Discrepancy, Summary, compare_sorted
from bridge.reconcile.duplicates import Duplicates, collapse_duplicates
from bridge.reconcile.records import Record
from bridge.reconcile.rules import Rules
from bridge.reconcile.sorting import DEFAULT_RUN_SIZE, external_sort, in_order

__all__ = ["Comparison", "Side", "reconcile"]


@dataclass(frozen=True)
class Side:
    """One side of a reconciliation.

    Attributes:
        name: how messages name it (``erp``, ``mes``, ``ledger``).
        records: its records, read once, lazily (a generator over pages or file lines).
        ordered: the records come in key order (checked; a key out of order is a ConfigError);
            otherwise they are sorted externally.
        duplicates: several records of one key are summed (``sum``) or refused (``error``).
    """

    name: str
    records: Iterable[Record]
    ordered: bool = False
    duplicates: Duplicates = "error"


class Comparison:
    """A reconciliation run, an iterator of the discrepancies in key order; its :attr:`summary`
    counts them as they come and is complete when :attr:`finished`. Closing it (or leaving its
    ``with`` block) stops the run and removes its temporary files."""

    def __init__(
        self, source: Side, target: Side, rules: Rules, *, run_size: int, directory: str | Path | None
    ) -> None:
        self.rules = rules
        self.summary = Summary()
        prepared = [_prepare(side, rules, run_size, directory) for side in (source, target)]
        self._run: Generator[Discrepancy, None, None] | None = compare_sorted(*prepared, rules, self.summary)
        self.finished = False

    def __iter__(self) -> Comparison:
        return self

    def __next__(self) -> Discrepancy:
        if self._run is None:
            raise StopIteration
        try:
            return next(self._run)
        except StopIteration:
            self.finished = True
            self._run = None
            raise
        except BaseException:  # a side refused: the run is over, but not finished
            self._run = None
            raise

    def close(self) -> None:
        """Stop the run; the temporary files of its sorts go."""
        if self._run is not None:
            self._run.close()
            self._run = None

    def __enter__(self) -> Comparison:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def reconcile(
    source: Side,
    target: Side,
    rules: Rules,
    *,
    run_size: int = DEFAULT_RUN_SIZE,
    directory: str | Path | None = None,
) -> Comparison:
    """Compare ``source`` with ``target`` under ``rules``, streamed (see :class:`Comparison`).

    ``run_size`` bounds the records an unordered side holds in memory while it is sorted;
    ``directory`` is where the sorts' temporary files go (default: the system's).

    Raises:
        ConfigError: now, for bad arguments; while iterating, for a record whose key does not
            have the job's key fields (all text), a side out of its claimed order, a duplicate
            key where the side says ``error``, or quantities that cannot be summed.
    """
    if source.name == target.name:
        raise ConfigError(f"the two sides must have different names, both are {source.name!r}")
    for side in (source, target):
        if side.duplicates not in ("sum", "error"):
            raise ConfigError(
                f"side {side.name}: duplicates must be 'sum' or 'error', got {side.duplicates!r}"
            )
    if isinstance(run_size, bool) or not isinstance(run_size, int) or run_size < 1:
        raise ConfigError(f"run_size must be a positive number of records, got {run_size!r}")
    return Comparison(source, target, rules, run_size=run_size, directory=directory)


def _prepare(side: Side, rules: Rules, run_size: int, directory: str | Path | None) -> Iterator[Record]:
    records = _checked_keys(side.records, side.name, rules.key_fields)
    ordered = (
        in_order(records, side=side.name)
        if side.ordered
        else external_sort(records, run_size=run_size, directory=directory)
    )
    return collapse_duplicates(ordered, side=side.name, mode=side.duplicates, units=rules.units)


def _checked_keys(records: Iterable[Record], side: str, fields: tuple[str, ...]) -> Iterator[Record]:
    arity = len(fields)
    for record in records:
        if record.__class__ is not Record:
            raise ConfigError(f"side {side}: {type(record).__name__} is not a Record")
        key = record.key
        if key.__class__ is not tuple or len(key) != arity or not all(part.__class__ is str for part in key):
            raise ConfigError(
                f"side {side}: record {record.ref or '(no ref)'} has key {key!r}; the job's key is "
                f"({', '.join(fields)}), {arity} text field(s)"
            )
        yield record
