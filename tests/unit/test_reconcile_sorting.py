"""Records in key order with bounded memory (external sort, checked pass-through) and
duplicate keys summed or refused."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.reconcile import (
    Amount,
    Conversion,
    Kind,
    Record,
    Rules,
    Side,
    UnitConverter,
    collapse_duplicates,
    external_sort,
    in_order,
    reconcile,
)
from bridge.reconcile.sorting import MERGE_WIDTH

D = Decimal
UNITS = UnitConverter([Conversion("KG", D(1000), "G")], per_material={"M": [Conversion("BOX", D(12), "PCS")]})


def shuffled(count: int, seed: int = 7, repeats: int = 1) -> list[Record]:
    records = [
        Record((f"{n % 997:03d}", f"{n:05d}"), {"qty": Amount(D(n), "PCS")}, ref=f"line {n}.{copy}")
        for n in range(count)
        for copy in range(repeats)
    ]
    random.Random(seed).shuffle(records)
    return records


@pytest.mark.parametrize("run_size", [3, 7, 64, 5000])
def test_external_sort_equals_sorted_and_keeps_equal_keys_in_input_order(
    run_size: int, tmp_path: Path
) -> None:
    records = shuffled(3000, repeats=2)
    result = list(external_sort(records, run_size=run_size, directory=tmp_path))
    assert result == sorted(records, key=lambda record: record.key)  # sorted() is stable too
    assert not any(tmp_path.iterdir())  # its temporary files are gone


def test_more_runs_than_one_merge_takes_are_merged_in_passes(tmp_path: Path) -> None:
    records = shuffled(7 * MERGE_WIDTH * 3 + 5)  # 197 runs of 7: passes of 64
    assert list(external_sort(records, run_size=7, directory=tmp_path)) == sorted(
        records, key=lambda r: r.key
    )


def test_external_sort_of_nothing_and_of_bad_run_sizes() -> None:
    assert list(external_sort([], run_size=3)) == []
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="run_size must be a positive number"):
            external_sort([], run_size=bad)  # type: ignore[arg-type]


class Counted(dict):  # type: ignore[type-arg]
    """A record's values that count how many records are alive (pickled copies included)."""

    live = 0
    peak = 0

    def __new__(cls, *args: object, **kwargs: object) -> Counted:
        Counted.live += 1
        Counted.peak = max(Counted.peak, Counted.live)
        return super().__new__(cls)

    def __del__(self) -> None:
        Counted.live -= 1


def counted_records(count: int, seed: int) -> Iterator[Record]:
    rng = random.Random(seed)
    for n in range(count):
        yield Record(
            (f"{rng.randrange(10**9):09d}", "0010"), Counted(qty=Amount(D(n % 100), "PCS")), ref=str(n)
        )


def test_external_sort_holds_about_run_size_records_never_the_whole_side() -> None:
    Counted.live = Counted.peak = 0
    count, run_size = 100_000, 1_000
    previous: tuple[str, ...] = ()
    seen = 0
    for record in external_sort(counted_records(count, seed=3), run_size=run_size):
        assert record.key >= previous
        previous = record.key
        seen += 1
    del record
    assert seen == count
    assert Counted.live == 0
    # one run being filled, or the merge's MERGE_WIDTH chunks of run_size // MERGE_WIDTH each
    assert Counted.peak <= run_size + MERGE_WIDTH + 2, Counted.peak
    assert Counted.peak >= run_size  # the test counts what it means to


def test_a_reconciliation_peaks_far_below_holding_a_side(tmp_path: Path) -> None:
    count = 20_000

    def side(name: str, scattered: bool) -> Iterator[Record]:
        for at in range(count):
            n = at * 7919 % count if scattered else at  # 7919 is prime to count: a permutation
            yield Record((f"{n:09d}", "0010"), {"qty": Amount(D(n % 100), "KG")}, ref=f"{name}:{n}")

    rules = Rules(("order", "op"))
    tracemalloc.start()
    try:
        whole = list(side("mes", scattered=True))
        held = tracemalloc.get_traced_memory()[0]
        del whole
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        ledger, mes = Side("ledger", side("ledger", False), ordered=True), Side("mes", side("mes", True))
        with reconcile(ledger, mes, rules, run_size=500, directory=tmp_path) as run:
            found = list(run)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert found == []
    assert run.summary.matched == count
    assert peak < held / 10, f"peak {peak / 1e6:.2f} MB, a whole side {held / 1e6:.2f} MB"


def test_in_order_refuses_a_key_out_of_order_naming_the_side_and_both_keys() -> None:
    records = [
        Record(("A", "1"), ref="p1"),
        Record(("A", "1"), ref="p2"),
        Record(("B", "0"), ref="p3"),
        Record(("A", "9"), ref="p4"),
    ]
    passed = []
    with pytest.raises(ConfigError) as caught:
        passed.extend(in_order(records, side="ledger"))
    assert str(caught.value) == (
        "side ledger says its records come in key order, but key ('A', '9') (p4) comes after ('B', '0') (p3)"
    )
    assert len(passed) == 3  # streamed: refused where it happens


def test_a_side_that_claims_order_is_refused_through_reconcile() -> None:
    ledger = [Record(("2", "0010")), Record(("1", "0010"))]
    with pytest.raises(
        ConfigError, match=r"side ledger says its records come in key order, but key \('1', '0010'\)"
    ):
        list(reconcile(Side("ledger", ledger, ordered=True), Side("mes", []), Rules(("order", "op"))))
    # the same records unordered are sorted
    assert [d.key for d in reconcile(Side("ledger", ledger), Side("mes", []), Rules(("order", "op")))] == [
        ("1", "0010"),
        ("2", "0010"),
    ]


def test_code_point_order_is_the_order() -> None:
    keys = ["b", "B", "a", "_", "10", "9", "é", "Z"]
    ledger = [Record((key,)) for key in sorted(keys)]
    assert [r.key[0] for r in in_order(ledger, side="ledger")] == ["10", "9", "B", "Z", "_", "a", "b", "é"]
    locale_like = [Record((key,)) for key in ["a", "B", "b"]]  # what a database collation may return
    with pytest.raises(ConfigError, match="key order"):
        list(in_order(locale_like, side="ledger"))


def qty(text: str) -> dict[str, Amount]:
    value, unit = text.split()
    return {"qty": Amount(D(value), unit)}


def test_duplicates_summed_with_unit_conversion_and_newest_version() -> None:
    records = [
        Record(("1",), qty("1 BOX"), "M", "3", ref="a"),
        Record(("1",), {"qty": Amount(D(6), "PCS"), "scrap": Amount(D(1), "PCS")}, "M", "5", ref="b"),
        Record(("1",), qty("1 PCS"), None, "4", ref="c"),  # 1 13/12 BOX has no exact decimal: in PCS
        Record(("2",), qty("1 KG"), ref="d"),
        Record(("2",), qty("500 G"), ref="e"),
    ]
    one, two = collapse_duplicates(records, side="mes", mode="sum", units=UNITS)
    assert one.values == {"qty": Amount(D(19), "PCS"), "scrap": Amount(D(1), "PCS")}
    assert (one.material, one.version, one.ref) == ("M", "5", "a; b; c")
    assert two.values == {"qty": Amount(D("1.5"), "KG")}


def test_many_duplicates_show_a_few_refs_and_a_count() -> None:
    records = [Record(("1",), qty("1 PCS"), ref=f"r{n}") for n in range(10)]
    [summed] = collapse_duplicates(records, side="mes", mode="sum", units=UNITS)
    assert summed.values == qty("10 PCS")
    assert summed.ref == "r0; r1; r2; r3 (+6 more)"


def test_duplicates_refused_when_the_job_says_error() -> None:
    records = [
        Record(("1",), ref="mes.csv:2"),
        Record(("2",), ref="mes.csv:3"),
        Record(("2",), ref="mes.csv:9"),
    ]
    with pytest.raises(ConfigError) as caught:
        list(collapse_duplicates(records, side="mes", mode="error", units=UNITS))
    assert str(caught.value) == (
        "side mes: key ('2',) appears more than once (mes.csv:3 and mes.csv:9) and the job says duplicates: error"
    )
    with pytest.raises(ConfigError, match="duplicates must be 'sum' or 'error'"):
        list(collapse_duplicates(records, side="mes", mode="first", units=UNITS))  # type: ignore[arg-type]


def test_duplicates_that_cannot_be_summed_are_refused_by_name() -> None:
    records = [Record(("1",), qty("1 KG"), ref="a"), Record(("1",), qty("1 L"), ref="b")]
    with pytest.raises(
        ConfigError, match=r"side mes: key \('1',\), qty: cannot sum 1 KG and 1 L: L does not convert into KG"
    ):
        list(collapse_duplicates(records, side="mes", mode="sum", units=UNITS))
    records = [Record(("1",), qty("1 KG"), "M1", ref="a"), Record(("1",), qty("1 KG"), "M2", ref="b")]
    with pytest.raises(ConfigError, match="material M1 .* and M2"):
        list(collapse_duplicates(records, side="mes", mode="sum", units=UNITS))


def test_duplicates_summed_through_reconcile_match_the_other_side() -> None:
    erp = [Record(("430094", "0010"), qty("2 BOX"), "M")]
    mes = [Record(("430094", "0010"), qty("1 BOX"), "M"), Record(("430094", "0010"), qty("12 PCS"), "M")]
    rules = Rules(("order", "op"), units=UNITS)
    with reconcile(Side("erp", erp, ordered=True), Side("mes", mes, duplicates="sum"), rules) as run:
        assert list(run) == []
    assert (run.summary.target_records, run.summary.matched) == (1, 1)
    refused = reconcile(Side("erp", erp), Side("mes", mes), rules)  # duplicates: error by default
    with pytest.raises(ConfigError, match="side mes: key .* appears more than once"):
        list(refused)
    mes = [Record(("430094", "0010"), qty("1 BOX"), "M")]
    [found] = reconcile(Side("erp", erp), Side("mes", mes), rules)
    assert (found.kind, found.delta, found.unit) == (Kind.QUANTITY_MISMATCH, D(-1), "BOX")
