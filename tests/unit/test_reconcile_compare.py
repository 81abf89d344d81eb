"""The reconciliation engine's comparison: kinds, tolerances, unit conversions, stale, summary."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal
from pathlib import Path

import pytest

from bridge.canonical import Material, UnitConversion
from bridge.errors import ConfigError
from bridge.reconcile import (
    Amount,
    Conversion,
    Discrepancy,
    FieldRule,
    Kind,
    PairComparer,
    Record,
    Rules,
    Side,
    StaleRule,
    Tolerance,
    UnitConverter,
    amount,
    compare_sorted,
    reconcile,
)
from bridge.reconcile.records import version_key

D = Decimal
KEY_FIELDS = ("order_id", "operation_id")
UNITS = UnitConverter(
    [Conversion("KG", D(1000), "G"), Conversion("T", D(1000), "KG")],
    per_material={
        "M-BOX": [Conversion("BOX", D(12), "PCS")],
        "M-SET": [Conversion("PCS", D(1), "SET", per=D(3))],
    },
)
YIELD_RULE = FieldRule({"KG": Tolerance(absolute=D("0.001")), "*": Tolerance(relative=D("0.0001"))})
RULES = Rules(KEY_FIELDS, {"yield": YIELD_RULE, "scrap": FieldRule(absent_as_zero=True)}, UNITS, StaleRule())


def rec(
    order: str, op: str = "0010", material: str | None = None, version: str | None = None, **values: str
) -> Record:
    """A record; values as ``yield="12 PCS"``."""
    held = {name: amount(*text.split(), name=name) for name, text in values.items()}
    return Record((order, op), held, material, version, None, f"{order}/{op}")


def run(source: list[Record], target: list[Record], rules: Rules = RULES) -> tuple[list[Discrepancy], dict]:
    with reconcile(Side("erp", source), Side("mes", target), rules, run_size=5) as comparison:
        found = list(comparison)
    assert comparison.finished
    return found, comparison.summary.as_dict()


def one(source: Record, target: Record, rules: Rules = RULES) -> list[Discrepancy]:
    return PairComparer(rules).compare(source, target)


def test_every_kind_is_found_exactly_once_where_planted_among_matching_rows() -> None:
    source, target = [], []
    for n in range(200):  # matching rows around the planted ones, in several units
        order = f"{n:05d}"
        source.append(rec(order, material="M-BOX", version="7", **{"yield": "24 PCS", "scrap": "1 PCS"}))
        target.append(rec(order, material="M-BOX", version="7", **{"yield": "2 BOX", "scrap": "1 PCS"}))
    source += [
        rec("90001", **{"yield": "5 PCS"}),  # missing in target
        rec("90003", **{"yield": "10 KG"}),
        rec("90004", version="7", **{"yield": "10 KG"}),
        rec("90005", material="M-BOX", **{"yield": "10 KG"}),
    ]
    target += [
        rec("90002", **{"yield": "5 PCS"}),  # missing in source
        rec("90003", **{"yield": "10.0011 KG"}),  # just outside 0.001
        rec("90004", version="6", **{"yield": "3 KG"}),  # stale (its values are not compared)
        rec("90005", material="M-BOX", **{"yield": "10 BOX"}),  # KG and BOX do not convert
    ]
    random.Random(4).shuffle(target)
    found, summary = run(source, target)
    got = {(d.kind, d.key[0]) for d in found}
    assert got == {
        (Kind.MISSING_IN_TARGET, "90001"),
        (Kind.MISSING_IN_SOURCE, "90002"),
        (Kind.QUANTITY_MISMATCH, "90003"),
        (Kind.STALE, "90004"),
        (Kind.UNIT_MISMATCH, "90005"),
    }
    assert len(found) == 5
    assert [d.key for d in found] == sorted(d.key for d in found)  # reported in key order
    assert summary == {
        "source_records": 204,
        "target_records": 204,
        "pairs": 203,
        "matched": 200,
        "missing_in_target": 1,
        "missing_in_source": 1,
        "quantity_mismatch": 1,
        "unit_mismatch": 1,
        "stale": 1,
    }


def test_a_mismatch_carries_the_delta_in_the_source_unit_and_both_values_and_refs() -> None:
    [found] = one(rec("1", **{"yield": "10 KG"}), rec("1", **{"yield": "9998 G"}))
    assert found.kind is Kind.QUANTITY_MISMATCH
    assert (found.field, found.delta, found.unit) == ("yield", D("-0.002"), "KG")
    assert found.source_value == Amount(D(10), "KG")
    assert found.target_value == Amount(D(9998), "G")
    assert found.refs == ("1/0010", "1/0010")


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param("12 PCS", "1 BOX", id="per-material BOX"),
        pytest.param("1 BOX", "12 PCS", id="BOX the other way"),
        pytest.param("1 PCS", "0.08333 BOX", id="1/12 BOX rounded within 0.01%"),
        pytest.param("1.2345 KG", "1234.5 G", id="global KG-G"),
        pytest.param("1.2345 KG", "1234.9 G", id="KG-G rounded within 0.001 KG"),
        pytest.param("1.25 T", "1250.1 KG", id="chain within 0.01% of T"),
        pytest.param("0.00125 T", "1250 G", id="chain of two conversions"),
        pytest.param("10000 PCS", "10001 PCS", id="relative 0.01%"),
        pytest.param("2.5 KG", "2.501 KG", id="absolute bound exactly"),
        pytest.param("-2.5 KG", "-2.5004 KG", id="negative values"),
        pytest.param("0 KG", "0 G", id="zero in two units"),
    ],
)
def test_no_false_positive_on_matching_values_with_conversions_and_rounding(ours: str, theirs: str) -> None:
    assert (
        one(rec("1", material="M-BOX", **{"yield": ours}), rec("1", material="M-BOX", **{"yield": theirs}))
        == []
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "delta"),
    [
        pytest.param("2.5 KG", "2.5011 KG", D("0.0011"), id="absolute just outside"),
        pytest.param("1.2345 KG", "1235.6 G", D("0.0011"), id="absolute through a conversion"),
        pytest.param("10000 PCS", "10002 PCS", D(2), id="relative just outside"),
        pytest.param("12 PCS", "1.01 BOX", D("0.12"), id="BOX conversion off by 0.12 PCS"),
        pytest.param("1 BOX", "13 PCS", Context(prec=34).divide(1, 12), id="1/12 BOX shown to 34 digits"),
        pytest.param("1.25 T", "1250.2 KG", D("0.0002"), id="chain just outside 0.01%"),
    ],
)
def test_a_difference_just_outside_tolerance_is_a_mismatch(ours: str, theirs: str, delta: Decimal) -> None:
    [found] = one(
        rec("1", material="M-BOX", **{"yield": ours}), rec("1", material="M-BOX", **{"yield": theirs})
    )
    assert found.kind is Kind.QUANTITY_MISMATCH
    assert found.delta == delta
    assert found.unit == ours.split()[1]


def test_tolerance_per_unit_falls_back_to_any_unit_and_else_exact() -> None:
    rule = FieldRule({"KG": Tolerance(absolute=D("0.5"))})  # no "*": other units exact
    rules = Rules(KEY_FIELDS, {"yield": rule}, UNITS)
    assert one(rec("1", **{"yield": "1 KG"}), rec("1", **{"yield": "1.5 KG"}), rules) == []
    assert len(one(rec("1", **{"yield": "1 G"}), rec("1", **{"yield": "1.0000001 G"}), rules)) == 1
    both = FieldRule({"*": Tolerance(absolute=D("0.1"), relative=D("0.01"))})  # either bound suffices
    rules = Rules(KEY_FIELDS, {"yield": both}, UNITS)
    assert one(rec("1", **{"yield": "1000 L"}), rec("1", **{"yield": "1010 L"}), rules) == []
    assert one(rec("1", **{"yield": "1 L"}), rec("1", **{"yield": "1.1 L"}), rules) == []
    assert len(one(rec("1", **{"yield": "1 L"}), rec("1", **{"yield": "1.11 L"}), rules)) == 1


def test_values_beyond_float_precision_are_compared_exactly() -> None:
    ours = "1234567890123456789012345.000000000000000000001 KG"
    same = "1234567890123456789012345000.000000000000000001 G"
    theirs = "1234567890123456789012345000.000000000000000002 G"
    exact = Rules(KEY_FIELDS, {}, UNITS)
    assert one(rec("1", **{"yield": ours}), rec("1", **{"yield": same}), exact) == []
    [found] = one(rec("1", **{"yield": ours}), rec("1", **{"yield": theirs}), exact)
    assert found.delta == D("1E-21")


def test_units_that_do_not_convert_are_a_unit_mismatch_naming_both() -> None:
    [found] = one(
        rec("1", material="M-OTHER", **{"yield": "1 BOX"}),
        rec("1", material="M-OTHER", **{"yield": "12 PCS"}),
    )
    assert found.kind is Kind.UNIT_MISMATCH
    assert (found.source_value, found.target_value) == (Amount(D(1), "BOX"), Amount(D(12), "PCS"))
    assert "PCS does not convert into BOX for material M-OTHER" in found.detail
    assert found.delta is None


def test_conversions_apply_per_material_only() -> None:
    assert (
        one(
            rec("1", material="M-SET", **{"yield": "1 SET"}), rec("1", material="M-SET", **{"yield": "3 PCS"})
        )
        == []
    )
    assert (
        one(
            rec("1", material="M-BOX", **{"yield": "1 SET"}), rec("1", material="M-BOX", **{"yield": "3 PCS"})
        )[0].kind
        is Kind.UNIT_MISMATCH
    )
    # the material may come from the target's record alone
    assert one(rec("1", **{"yield": "1 BOX"}), rec("1", material="M-BOX", **{"yield": "12 PCS"})) == []


def test_converter_from_canonical_materials_and_contradictions_refused() -> None:
    material = Material(
        material_id="M1",
        base_unit="PCS",
        units=[
            UnitConversion(unit="BOX", numerator="12", denominator="1"),
            UnitConversion(unit="PAK", numerator="1", denominator="3"),
        ],
    )
    units = UnitConverter.from_materials([material], [Conversion("KG", D(1000), "G")])
    assert units.factor("M1", "BOX", "PCS") == 12
    assert units.factor("M1", "PCS", "PAK") == 3
    assert units.factor("M1", "BOX", "PAK") == 36
    assert units.factor("M1", "KG", "G") == 1000
    assert units.factor("M2", "BOX", "PCS") is None
    assert units.factor(None, "G", "KG") * 1000 == 1
    with pytest.raises(ConfigError, match=r"material M: 1 BOX = 10 PCS contradicts .* 1 BOX = 12 PCS"):
        UnitConverter(per_material={"M": [Conversion("BOX", D(12), "PCS"), Conversion("BOX", D(10), "PCS")]})
    with pytest.raises(ConfigError, match=r"material M: .*contradicts"):  # through a chain
        UnitConverter(
            [Conversion("KG", D(1000), "G")],
            per_material={"M": [Conversion("BAG", D(25), "KG"), Conversion("BAG", D(20000), "G")]},
        )
    with pytest.raises(ConfigError, match="not positive"):
        UnitConverter([Conversion("KG", D(0), "G")])
    with pytest.raises(ConfigError, match="not a finite decimal"):
        UnitConverter([Conversion("KG", 1000.0, "G")])  # type: ignore[arg-type]


def test_stale_by_version_is_reported_once_and_its_values_are_not_compared() -> None:
    [found] = one(
        rec("1", version="20240101", **{"yield": "5 KG"}), rec("1", version="9999", **{"yield": "1 L"})
    )
    assert found.kind is Kind.STALE
    assert "version 9999 on the target, 20240101 on the source" in found.detail
    # a target ahead of the source, or equal with leading zeros, is not stale: values compared
    assert one(rec("1", version="6", **{"yield": "5 KG"}), rec("1", version="7", **{"yield": "5 KG"})) == []
    assert one(rec("1", version="007", **{"yield": "5 KG"}), rec("1", version="7", **{"yield": "5 KG"})) == []
    [mismatch] = one(rec("1", version="6", **{"yield": "5 KG"}), rec("1", version="7", **{"yield": "6 KG"}))
    assert mismatch.kind is Kind.QUANTITY_MISMATCH
    # no stale rule: versions are not looked at
    plain = Rules(KEY_FIELDS, RULES.fields, UNITS)
    assert (
        one(rec("1", version="7", **{"yield": "5 KG"}), rec("1", version="6", **{"yield": "5 KG"}), plain)
        == []
    )


def test_version_order_is_the_ledgers() -> None:
    from bridge.ledger.versions import version_key as ledger_key

    samples = ["0", "007", "7", "10", "9999", "20231128083400705437", "a", "B", "v10", "", "١٢"]
    assert sorted(samples, key=version_key) == sorted(samples, key=ledger_key)


def test_stale_by_seen_at_beyond_the_allowed_lag() -> None:
    noon = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    rules = Rules(KEY_FIELDS, RULES.fields, UNITS, StaleRule(max_lag=timedelta(minutes=5)))

    def at(moment: datetime) -> Record:
        return Record(("1", "0010"), {"yield": Amount(D(1), "KG")}, seen_at=moment, ref="r")

    assert one(at(noon), at(noon - timedelta(minutes=5)), rules) == []  # exactly the allowance
    [stale] = one(at(noon), at(noon - timedelta(minutes=5, seconds=1)), rules)
    assert stale.kind is Kind.STALE
    assert "0:05:01 behind, 0:05:00 allowed" in stale.detail
    assert one(at(noon), at(noon + timedelta(hours=1)), rules) == []  # target ahead
    shanghai = timezone(timedelta(hours=8))
    assert one(at(noon), at(datetime(2024, 6, 1, 19, 56, tzinfo=shanghai)), rules) == []  # offsets count
    with pytest.raises(ConfigError, match="without its UTC offset"):
        one(at(noon), at(datetime(2024, 6, 1, 12, 0)), rules)
    with pytest.raises(ConfigError, match="max_lag"):
        StaleRule(max_lag=timedelta(seconds=-1))


def test_a_value_on_one_side_only() -> None:
    # scrap absent on the MES means none: zero against zero matches, against 1 it does not
    assert one(rec("1", **{"yield": "1 KG", "scrap": "0 PCS"}), rec("1", **{"yield": "1 KG"})) == []
    [found] = one(rec("1", **{"yield": "1 KG", "scrap": "1 PCS"}), rec("1", **{"yield": "1 KG"}))
    assert (found.kind, found.field, found.delta, found.unit) == (
        Kind.QUANTITY_MISMATCH,
        "scrap",
        D(-1),
        "PCS",
    )
    # yield must be on both sides
    [found] = one(rec("1", **{"yield": "1 KG"}), rec("1", scrap="0 PCS"))
    assert (found.kind, found.field, found.target_value, found.detail) == (
        Kind.QUANTITY_MISMATCH,
        "yield",
        None,
        "yield on the source only",
    )


def test_without_field_rules_every_value_is_compared_exactly_and_others_ignored_with_rules() -> None:
    exact = Rules(KEY_FIELDS, units=UNITS)
    found = one(rec("1", a="1 KG", b="2 KG"), rec("1", a="1000 G", b="2.0001 KG", c="1 L"), exact)
    assert [(d.field, d.kind) for d in found] == [
        ("b", Kind.QUANTITY_MISMATCH),
        ("c", Kind.QUANTITY_MISMATCH),
    ]
    assert (
        one(rec("1", **{"yield": "1 KG", "other": "1 L"}), rec("1", **{"yield": "1 KG", "other": "2 L"}))
        == []
    )


def test_compare_sorted_refuses_sides_out_of_order_or_with_duplicates() -> None:
    ordered = [rec("1"), rec("2")]
    with pytest.raises(
        ConfigError, match=r"target records are not in strictly increasing key order: \('1', '0010'\)"
    ):
        list(compare_sorted(ordered, [rec("2"), rec("1")], RULES))
    with pytest.raises(ConfigError, match="source records are not in strictly increasing"):
        list(compare_sorted([rec("1"), rec("1")], ordered, RULES))


def test_amounts_are_exact_numbers_or_refused_by_name() -> None:
    assert amount("12.500", "KG") == Amount(D("12.500"), "KG")
    assert amount(7, "PCS").value == 7
    with pytest.raises(ConfigError, match=r"yield: 1.5 is a float"):
        amount(1.5, "KG", name="yield")
    with pytest.raises(ConfigError, match=r"scrap: 'abc' is not a number"):
        amount("abc", "KG", name="scrap")
    with pytest.raises(ConfigError, match="is a boolean"):
        amount(True, "KG")
    with pytest.raises(ConfigError, match="not an ASCII digit"):
        amount("１２", "KG")
    with pytest.raises(ConfigError, match="unit must be non-empty"):
        amount("1", " ")
    with pytest.raises(ConfigError, match="out of range|digits"):
        amount("1e999999", "KG")
    with pytest.raises(ConfigError, match="not a finite"):
        amount(D("NaN"), "KG")


def test_bad_rules_and_sides_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="key_fields"):
        Rules(())
    with pytest.raises(ConfigError, match="tolerance absolute"):
        Tolerance(absolute=D(-1))
    with pytest.raises(ConfigError, match="tolerance relative"):
        Tolerance(relative=0.1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="different names"):
        reconcile(Side("mes", []), Side("mes", []), RULES)
    with pytest.raises(ConfigError, match="duplicates must be"):
        reconcile(Side("erp", []), Side("mes", [], duplicates="first"), RULES)  # type: ignore[arg-type]
    with pytest.raises(
        ConfigError, match=r"side mes: record x has key \('1',\); the job's key is \(order_id, operation_id\)"
    ):
        run([], [Record(("1",), ref="x")])
    with pytest.raises(ConfigError, match="side erp: record y has key"):
        run([Record(("1", 10), ref="y")], [])  # type: ignore[arg-type]


def test_a_run_is_an_iterator_and_closing_it_early_removes_its_files(tmp_path: Path) -> None:
    source = [rec(f"{n:04d}") for n in range(100)]
    target = list(reversed(source))
    comparison = reconcile(Side("erp", source), Side("mes", target), RULES, run_size=10, directory=tmp_path)
    assert list(comparison) == []
    assert comparison.finished
    assert list(comparison) == []  # an iterator: a second pass finds it exhausted
    assert comparison.summary.matched == 100
    extra = [rec(f"{n:04d}", "0020") for n in range(100)]
    comparison = reconcile(Side("erp", source), Side("mes", extra), RULES, run_size=10, directory=tmp_path)
    first = next(iter(comparison))
    assert first.kind is Kind.MISSING_IN_TARGET
    assert any(tmp_path.iterdir())  # the target's sorted runs
    comparison.close()
    assert not any(tmp_path.iterdir())
    assert not comparison.finished


def test_the_benchmark_data_gives_exactly_the_planted_discrepancies(tmp_path: Path) -> None:
    from bench import reconcile as bench

    n = 4000
    lines = bench.target_lines(n)
    random.Random(1).shuffle(lines)
    snapshot = tmp_path / "mes.jsonl"
    snapshot.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want_counts, want_digest = bench.expected(n)
    for found in (bench.streamed(n, snapshot, 300), bench.naive(n, snapshot)):
        counts = dict.fromkeys(want_counts, 0)
        digest = 0
        for d in found:
            counts[d.kind.value] += 1
            digest = (digest + bench._mark(d.kind.value, d.key, d.field)) % 2**64
        assert counts == want_counts == dict.fromkeys(want_counts, 80)
        assert digest == want_digest
