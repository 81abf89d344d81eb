"""Benchmark: what translating one IDoc costs per stage, in instructions (repeatable on a shared,
noisy machine) and in time (interleaved rounds, median and spread).

Stages, each run over the same document (default the 4.7 KB LOIPRO05 that bench/pipeline.py sends):

decode     ``SapCodec.decode``: IDoc-XML bytes to the segment tree the mapping walks
map        ``CompiledMapping.map_document``: the tree to (event, payload) pairs
validate   ``apply_models`` minus ``map``: the envelopes built and validated as pydantic models
serialise  the models to the JSON bytes the translate stage publishes
translate  all of them, as the translate stage does per raw message (the sum, measured whole)

Instructions: one child interpreter under ``valgrind --tool=callgrind`` sets up (imports,
mappings, the document), then runs each stage ``-n`` times between two marker calls:
``time.thread_time()`` zeroes callgrind's counters (``--zero-before=time_thread_time``) and
``time.process_time()`` dumps them (``--dump-before=time_process_time``), neither of which the
translation calls; each dump over ``-n`` is the stage's instructions per document, set-up and
imports left out. Python's hash seed is fixed, so the figure repeats run after run whatever
else the machine does. Time: the stages in this
process, interleaved over ``--rounds`` rounds (the order reversed every other round), median
and min-max of microseconds per document.

Usage: .venv/bin/python bench/translate_instructions.py [-n 30] [--rounds 5] [--file LOIPRO05.xml]
           [--no-valgrind] [--time-n 500]

Today's figures (the baseline for issue 12), code of commit 3115eeb, 2-core shared container
(a CI run on the other core), command
``.venv/bin/python bench/translate_instructions.py -n 20 --rounds 3 --time-n 300`` (about 80 s):

  stage       us/doc (median)       [min-max]   instructions/doc   share
  decode                402.1       [399-429]          1,641,135     65%
  map                   137.9       [112-143]            487,733     19%
  validate               75.2 (validate - map)            196,147      8%
  serialise              54.3         [46-66]            196,962      8%
  translate             974.1       [698-989]          2,526,804

The stages add up to the whole (2.52M against 2.53M). Instruction counts repeat within 1 %
run after run (translate 2,533,440 / 2,543,452 / 2,544,371 / 2,531,742 / 2,526,804 over five
runs); times move by tens of percent with the machine's load. The first counted window of a
run came out about 25M instructions high whatever ran in it (decode 2.9M per document first,
1.6M after the others), so a throwaway window goes first.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_FILE = ROOT / "mappings" / "sap" / "cases" / "LOIPRO05_DMC_nonSAP_ERP.xml"  # the 4.7 KB of bench/pipeline.py
STAGES = ("decode", "map", "validate", "serialise", "translate")
_WARM = 10
_TOTALS = re.compile(r"^totals:\s*(\d+)", re.MULTILINE)


class Work:
    """The document and what each stage needs, prepared once."""

    def __init__(self, file: Path) -> None:
        from datetime import UTC, datetime

        from adapters.sap.codec import SapCodec
        from bridge.mapping import MappingCatalog

        self.data = file.read_bytes()
        self.codec = SapCodec()
        catalog = MappingCatalog.load(ROOT / "mappings")
        [self.document] = self.codec.decode(self.data, origin=file.name)
        self.mapping = catalog.reading(self.document.system, self.document.document_type, self.document.extension)
        moment = datetime(2000, 1, 1, tzinfo=UTC)
        self.clock = lambda: moment
        self.models = self.mapping.apply_models(self.document, clock=self.clock)

    def decode(self) -> object:
        return self.codec.decode(self.data, origin="bench")

    def map(self) -> object:
        return self.mapping.map_document(self.document)

    def validate(self) -> object:  # map + validate; the map is taken off afterwards
        return self.mapping.apply_models(self.document, clock=self.clock)

    def serialise(self) -> object:
        return [m.__pydantic_serializer__.to_json(m, by_alias=True, exclude_none=True) for m in self.models]

    def translate(self) -> object:
        out = []
        for document in self.codec.decode(self.data, origin="bench"):
            for model in self.mapping.apply_models(document, clock=self.clock):
                out.append(model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True))
        return out

    def stage(self, name: str) -> Callable[[], object]:
        return getattr(self, name)  # type: ignore[no-any-return]


def child(count: int, file: Path) -> None:
    """Set up, then run each stage ``count`` times between the markers valgrind watches."""
    work = Work(file)
    for stage in STAGES:  # warm every stage first: what a long-running worker has done before
        for _ in range(_WARM):  # (the interpreter specialises code after some runs)
            work.stage(stage)()
    # the first counted window comes out about 25M instructions high whatever runs in it (seen:
    # decode 2.9M/doc first, 1.6M/doc after the others): a throwaway window goes first
    for stage in ("translate", *STAGES):
        run = work.stage(stage)
        gc.collect()  # the set-up's garbage is not this stage's
        gc.disable()  # collections come when they come: counted, they would not add up per stage
        time.thread_time()  # callgrind zeroes its counters here
        for _ in range(count):
            run()
        time.process_time()  # ... and dumps them here
        gc.enable()


def instructions_per_document(count: int, file: Path) -> dict[str, float]:
    """Each stage's instructions per document, from one callgrind run of :func:`child`."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--zero-before=time_thread_time",
                   "--dump-before=time_process_time", f"--callgrind-out-file={out}", sys.executable, __file__,
                   "--child", "-n", str(count), "--file", str(file)]
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"the valgrind run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        dumps = sorted(Path(folder).glob("callgrind.out.*"), key=lambda p: int(p.suffix.lstrip(".")))
        if len(dumps) != len(STAGES) + 1:  # a marker met elsewhere would shift every stage
            raise SystemExit(f"expected {len(STAGES) + 1} callgrind dumps (a throwaway and one per stage), "
                             f"got {len(dumps)}")
        dumps = dumps[1:]
        totals = []
        for dump in dumps:
            found = _TOTALS.search(dump.read_text(encoding="utf-8", errors="replace"))
            if found is None:
                raise SystemExit(f"no totals line in {dump.name}")
            totals.append(int(found.group(1)))
    return {stage: total / count for stage, total in zip(STAGES, totals, strict=True)}


def timings(work: Work, rounds: int, n: int) -> dict[str, list[float]]:
    """Microseconds per document of each stage, the stages interleaved per round."""
    found: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for stage in STAGES:  # warm-up
        work.stage(stage)()
    for round_no in range(rounds):
        for stage in STAGES if round_no % 2 == 0 else STAGES[::-1]:
            run = work.stage(stage)
            started = time.perf_counter()
            for _ in range(n):
                run()
            found[stage].append((time.perf_counter() - started) * 1e6 / n)
    return found


def _spread(values: list[float]) -> str:
    return f"[{min(values):,.0f}-{max(values):,.0f}]"


def report(times: dict[str, list[float]], counted: dict[str, float] | None) -> None:
    median = {stage: statistics.median(values) for stage, values in times.items()}
    shown = dict(median)
    shown["validate"] = median["validate"] - median["map"]
    print(f"  {'stage':<11}{'us/doc (median)':>16} {'[min-max]':>15}{'instructions/doc':>19}{'share':>8}")
    total_instr = counted["translate"] if counted else None
    for stage in STAGES:
        spread = _spread(times[stage]) if stage != "validate" else "(validate - map)"
        instr = ""
        share = ""
        if counted:
            value = counted[stage] - (counted["map"] if stage == "validate" else 0)
            instr = f"{value:,.0f}"
            share = f"{value / total_instr:7.0%}" if total_instr and stage != "translate" else ""
        print(f"  {stage:<11}{shown[stage]:16,.1f} {spread:>15}{instr:>19}{share:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="documents per valgrind run (default 30)")
    parser.add_argument("--time-n", type=int, default=500, help="documents per timed round (default 500)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--no-valgrind", action="store_true", help="time only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.n, args.file)
        return
    if args.n < 1 or args.rounds < 1 or args.time_n < 1:
        raise SystemExit("-n, --time-n and --rounds must be at least 1")
    work = Work(args.file)
    print(f"{args.file.name} ({len(work.data):,} bytes), {len(work.models)} event(s); time: {args.rounds} rounds "
          f"of {args.time_n} documents, interleaved", flush=True)
    times = timings(work, args.rounds, args.time_n)
    counted = None
    if not args.no_valgrind:
        if shutil.which("valgrind") is None:
            raise SystemExit("valgrind is not installed (apt-get install valgrind), or pass --no-valgrind")
        print(f"instructions: callgrind, {args.n} documents per stage (PYTHONHASHSEED=0) ...", flush=True)
        counted = instructions_per_document(args.n, args.file)
    report(times, counted)


if __name__ == "__main__":
    main()
