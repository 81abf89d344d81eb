"""bench/fuzz_decoders.py runs, summarises, and counts a case over its time bound as a finding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "bench" / "fuzz_decoders.py"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FUZZ), "--findings", str(tmp_path / "findings"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_short_run_finds_nothing_and_prints_the_figures(tmp_path: Path) -> None:
    # a generous bound per case: on a loaded machine the first case (worker start-up) can take
    # seconds; the bound itself is tested below
    done = run(tmp_path, "--seconds", "2", "--seed", "1", "--case-timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("cases run: ", "seconds: ", "cases/s: ", "findings: 0"):
        assert figure in done.stdout
    assert int(done.stdout.split("cases run: ")[1].split()[0]) > 0  # a count, not a speed: the machine is shared


def test_a_case_over_the_time_bound_is_a_saved_hang_and_the_run_exits_1(tmp_path: Path) -> None:
    done = run(tmp_path, "--seconds", "1", "--seed", "1", "--case-timeout", "0.000001")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Hang: " in done.stdout
    assert list((tmp_path / "findings").glob("Hang-*.bin"))
