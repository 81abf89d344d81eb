"""Benchmark: the streamed reconciliation engine against a naive load-both-sides-into-dicts
version, in the same run.

Per size N (records per side): the source (the ledger) is N records streamed in key order,
built as the ledger's rows would be; the target (the MES) is a JSON-lines snapshot of the same
keys written in shuffled order, so the engine must sort it externally. Matching rows differ in
units (PCS against BOX of 12, KG against G, T against KG) and by rounding within tolerance
(KG: 0.001 absolute; other units: 0.01 % relative); some target rows are split over two lines
(summed, ``duplicates: sum``, one part in another unit). Planted: ``PER_KIND`` discrepancies of
each kind (missing in target, missing in source, quantity mismatch just outside tolerance,
stale version, unconvertible unit).

Variants, each run in its own interpreter so that its peak RSS (``VmHWM`` from
``/proc/self/status``, printed by the child; ``ru_maxrss`` of a child would carry the parent's
peak over exec) is its own:

streamed  ``bridge.reconcile.reconcile``: the ledger side ``ordered`` (checked), the snapshot
          side sorted externally in runs of ``--run-size`` records
naive     both sides read into dicts keyed by the business key (duplicates summed on the way),
          then compared with the same :class:`~bridge.reconcile.PairComparer`

Both read the snapshot with the same reader and compare with the same rules; each run must
find exactly the planted discrepancies (kind, key and value, by an order-free digest) and the
expected pair counts, or the benchmark fails: a fast wrong answer cannot pass. Rounds are
interleaved (streamed/naive, then naive/streamed), figures are medians. Time is the child's
wall time for the whole comparison (reading, parsing, sorting, comparing), not the interpreter's
start-up; records/s counts both sides. Rounds default to 3, and to 1 for N >= 1,000,000 (each
variant takes about a minute there, the naive one 1.6 GB); ``--rounds`` overrides.

Usage: .venv/bin/python bench/reconcile.py [--sizes 10000,100000,1000000] [--rounds 3] [--run-size 50000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.reconcile import (  # noqa: E402
    DEFAULT_RUN_SIZE,
    Conversion,
    Discrepancy,
    FieldRule,
    Kind,
    Layout,
    PairComparer,
    Record,
    Rules,
    Side,
    StaleRule,
    Tolerance,
    UnitConverter,
    ValueColumns,
    amount,
    merge_records,
    read_snapshot,
    reconcile,
)

PER_KIND = 200
SEED = 20240611
PLANTED = ("missing_in_target", "missing_in_source", "quantity_mismatch", "stale", "unit_mismatch")
SPLIT = "split"  # not a discrepancy: a target row over two lines, summed
MATERIALS = 40  # M00..M39; every fourth (class 0) counts in BOX of 12 PCS
LAYOUT = Layout(
    key=("order", "op"),
    values={
        "yield": ValueColumns("qty.yield.value", unit="qty.yield.unit"),
        "scrap": ValueColumns("qty.scrap.value", unit="qty.scrap.unit"),
    },
    material="material",
    version="version",
    ref="doc",
)
PROBE_SIZE = 200


def rules() -> Rules:
    """The job's rules: per-material BOX, global KG/G and T/KG; KG absolute, else relative."""
    boxes = {f"M{m:02d}": [Conversion("BOX", Decimal(12), "PCS")] for m in range(0, MATERIALS, 4)}
    units = UnitConverter(
        [Conversion("KG", Decimal(1000), "G"), Conversion("T", Decimal(1000), "KG")], per_material=boxes
    )
    tolerance = {"KG": Tolerance(absolute=Decimal("0.001")), "*": Tolerance(relative=Decimal("0.0001"))}
    return Rules(
        key_fields=("order_id", "operation_id"),
        fields={"yield": FieldRule(tolerance), "scrap": FieldRule(absent_as_zero=True)},
        units=units,
        stale=StaleRule(),
    )


def plan(n: int) -> dict[int, str]:
    """Index -> planted case, the same in every process."""
    per = min(PER_KIND, n // 50)
    cases = [*PLANTED, SPLIT]
    picked = random.Random(SEED + n).sample(range(n), per * len(cases))
    return {index: cases[at // per] for at, index in enumerate(picked)}


def _key(i: int) -> tuple[str, str]:
    return (f"{i // 4:09d}", f"{(i % 4 + 1) * 10:04d}")


def _facts(i: int) -> tuple[int, str, str, str, str, str]:
    """Index -> (class, material, yield and unit on the source, scrap and its unit)."""
    order = i // 4
    material = order % MATERIALS
    kind = material % 4
    q = 1 + (i * 7919) % 97
    scrap = str(i % 3)
    if kind == 0:  # counted in PCS, the MES in BOX
        return kind, f"M{material:02d}", str(12 * q), "PCS", scrap, "PCS"
    if kind == 1:  # KG, the MES in G or in KG rounded
        return kind, f"M{material:02d}", f"{q}.{i % 1000:03d}", "KG", scrap, "KG"
    if kind == 2:  # large PCS counts, the MES off by one within 0.01 %
        return kind, f"M{material:02d}", str(10_000 + q), "PCS", scrap, "PCS"
    return kind, f"M{material:02d}", f"{q}.25", "T", scrap, "KG"


def source_records(n: int) -> Iterator[Record]:
    """The ledger's side, in key order, as its rows would come (decimal text)."""
    for i in range(n):
        _, material, value, unit, scrap, scrap_unit = _facts(i)
        values = {
            "yield": amount(value, unit, name="yield"),
            "scrap": amount(scrap, scrap_unit, name="scrap"),
        }
        yield Record(_key(i), values, material, "5", None, f"ledger:{i}")


def _target_yield(i: int, case: str | None) -> tuple[Decimal, str]:
    kind, _, value, _, _, _ = _facts(i)
    exact = Decimal(value)
    off = case == "quantity_mismatch"
    if kind == 0:
        return (exact + 1, "PCS") if off else (exact / 12, "BOX")
    if kind == 1:
        if i % 2:
            return exact * 1000 + (Decimal("1.1") if off else 0), "G"
        return exact + (Decimal("0.0011") if off else Decimal("0.0004")), "KG"
    if kind == 2:
        return exact + (2 if off else 1), "PCS"
    return exact * 1000 + (20 if off else Decimal("0.1")), "KG"  # 0.01 % of <= 97.25 T is < 9.8 KG


def target_lines(n: int) -> list[str]:
    """The MES side as JSON lines, in key order (shuffled by the caller)."""
    cases = plan(n)
    lines = []
    for i in range(n):
        case = cases.get(i)
        if case == "missing_in_target":
            continue
        _, material, _, _, scrap, scrap_unit = _facts(i)
        value, unit = _target_yield(i, case)
        version = "5"
        if case == "stale":
            version, value = "4", value + 7
        if case == "unit_mismatch":
            unit = "L"
        order, op = _key(i)
        parts = [(value, unit)]
        if case == SPLIT:  # two confirmations of one operation, the second in the base unit
            second = (Decimal(12), "PCS") if unit == "BOX" else (Decimal(1), unit)
            parts = [(value - (1 if unit == "BOX" else second[0]), unit), second]
        for part, (part_value, part_unit) in enumerate(parts):
            qty: dict[str, object] = {"yield": {"value": str(part_value), "unit": part_unit}}
            if scrap != "0" and part == 0:  # no scrap: the MES leaves it out
                qty["scrap"] = {"value": scrap, "unit": scrap_unit}
            row = {"order": order, "op": op, "material": material, "version": version, "qty": qty}
            lines.append(json.dumps({**row, "doc": f"CONF{i:09d}-{part}"}))
        if case == "missing_in_source":
            extra = {"order": order, "op": f"{int(op) + 5:04d}", "material": material, "version": "5"}
            lines.append(json.dumps({**extra, "qty": {"yield": {"value": "1", "unit": "PCS"}}}))
    return lines


def expected(n: int) -> tuple[dict[str, int], int]:
    """Counts per kind and the digest of the planted discrepancies."""
    counts = dict.fromkeys(PLANTED, 0)
    digest = 0
    for i, case in plan(n).items():
        if case == SPLIT:
            continue
        key = _key(i)
        if case == "missing_in_source":
            key = (key[0], f"{int(key[1]) + 5:04d}")
        field = "yield" if case in ("quantity_mismatch", "unit_mismatch") else None
        counts[case] += 1
        digest = (digest + _mark(case, key, field)) % 2**64
    return counts, digest


def _mark(kind: str, key: tuple[str, ...], field: str | None) -> int:
    text = f"{kind}|{'/'.join(key)}|{field}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


# --- the children ---------------------------------------------------------------------------


def streamed(n: int, snapshot: Path, run_size: int) -> Iterator[Discrepancy]:
    ledger = Side("ledger", source_records(n), ordered=True)
    mes = Side("mes", read_snapshot(snapshot, LAYOUT), duplicates="sum")
    with reconcile(ledger, mes, rules(), run_size=run_size) as run:
        yield from run


def naive(n: int, snapshot: Path) -> Iterator[Discrepancy]:
    job = rules()
    sides: list[dict[tuple[str, ...], Record]] = []
    for name, records in (("ledger", source_records(n)), ("mes", read_snapshot(snapshot, LAYOUT))):
        held: dict[tuple[str, ...], Record] = {}
        for record in records:
            have = held.get(record.key)
            held[record.key] = (
                record if have is None else merge_records(have, record, side=name, units=job.units)
            )
        sides.append(held)
    source, target = sides
    comparer = PairComparer(job)
    for key, ours in source.items():
        theirs = target.pop(key, None)
        if theirs is None:
            yield Discrepancy(Kind.MISSING_IN_TARGET, key, refs=(ours.ref, ""))
        else:
            yield from comparer.compare(ours, theirs)
    for key, theirs in target.items():
        yield Discrepancy(Kind.MISSING_IN_SOURCE, key, refs=("", theirs.ref))


def _peak_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status")


def child(variant: str, n: int, snapshot: Path, run_size: int) -> None:
    started = time.perf_counter()
    counts = dict.fromkeys(PLANTED, 0)
    digest = 0
    if variant != "imports":
        found = streamed(n, snapshot, run_size) if variant == "streamed" else naive(n, snapshot)
        for discrepancy in found:
            counts[discrepancy.kind.value] += 1
            digest = (digest + _mark(discrepancy.kind.value, discrepancy.key, discrepancy.field)) % 2**64
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_kib": _peak_kib(), "counts": counts, "digest": digest}))


# --- the parent -----------------------------------------------------------------------------


def run_child(variant: str, n: int, snapshot: Path, run_size: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", variant, "-n", str(n), "--snapshot", str(snapshot)]
    done = subprocess.run(
        [*command, "--run-size", str(run_size)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{variant} at n={n} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(n: int, rounds: int, run_size: int, work: Path) -> None:
    lines = target_lines(n)
    random.Random(SEED).shuffle(lines)
    snapshot = work / f"mes-{n}.jsonl"
    snapshot.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = len(lines)
    del lines
    want_counts, want_digest = expected(n)
    baseline = run_child("imports", PROBE_SIZE, snapshot, run_size)["peak_kib"]
    results: dict[str, list[dict[str, object]]] = {"streamed": [], "naive": []}
    for round_no in range(rounds):
        order = ["streamed", "naive"] if round_no % 2 == 0 else ["naive", "streamed"]
        for variant in order:
            result = run_child(variant, n, snapshot, run_size)
            if result["counts"] != want_counts or result["digest"] != want_digest:
                raise SystemExit(
                    f"{variant} at n={n} found {result['counts']} (digest {result['digest']}), "
                    f"planted {want_counts} (digest {want_digest})"
                )
            results[variant].append(result)
    size_mb = snapshot.stat().st_size / 1e6
    print(
        f"n = {n:,} records per side: ledger side streamed in key order, MES side a shuffled JSON-lines "
        f"snapshot ({rows:,} lines, {size_mb:.1f} MB); run size {run_size:,}; "
        f"{rounds} round{'s' * (rounds > 1)}, median"
    )
    figures = {}
    for variant, label in (
        ("streamed", "streamed (merge-join, external sort)"),
        ("naive", "naive (both sides in dicts)"),
    ):
        seconds = statistics.median(float(r["seconds"]) for r in results[variant])
        peak = statistics.median(int(r["peak_kib"]) for r in results[variant]) / 1024  # type: ignore[call-overload]
        figures[variant] = (seconds, peak)
        print(
            f"  {label:38} {seconds:8.2f} s  {2 * n / seconds:10,.0f} records/s  "
            f"peak RSS {peak:8.1f} MB ({peak - baseline / 1024:7.1f} MB above the imports)"
        )
    (s_time, s_peak), (n_time, n_peak) = figures["streamed"], figures["naive"]
    print(f"  streamed / naive: time {s_time / n_time:.2f}x, peak RSS {s_peak / n_peak:.2f}x")
    planted = sum(want_counts.values())
    print(
        f"  both found exactly the {planted} planted discrepancies ({', '.join(f'{k} {v}' for k, v in want_counts.items())})"
        f"; interpreter + imports alone: {baseline / 1024:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="records per side, comma-separated")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per size (default 3; 1 for >= 1M)")
    parser.add_argument("--run-size", type=int, default=DEFAULT_RUN_SIZE, help="records per sorted run")
    parser.add_argument("--child", choices=("streamed", "naive", "imports"), help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.snapshot, args.run_size)
        return
    sizes = [int(part.replace("_", "")) for part in args.sizes.split(",") if part.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as work:
        for n in sizes:
            rounds = args.rounds if args.rounds is not None else (1 if n >= 1_000_000 else 3)
            measure(n, rounds, args.run_size, Path(work))
            Path(work, f"mes-{n}.jsonl").unlink()


if __name__ == "__main__":
    main()
