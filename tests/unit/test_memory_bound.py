"""Peak memory of ``bridge translate`` and ``bridge idoc show`` stays under 10 times the document.

Each command runs on a ~8 MB document of each kind (see bench/memory.py) in a fresh
interpreter; its peak RSS (``VmHWM``) above an interpreter that imported the same modules,
divided by the document's size, must stay under :data:`BOUND`. ``bench/memory.py`` prints the
same figures with several rounds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.memory import COMMANDS, KINDS, XML_SAMPLE, baseline, measure, write_document

BOUND = 10.0
SIZE = 8_000_000

@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("memory")
    (folder / "small.xml").write_bytes(XML_SAMPLE.read_bytes())
    return folder


@pytest.fixture(scope="module")
def bases(folder: Path) -> dict[str, tuple[int, int]]:
    return {command: baseline(command, folder / "small.xml") for command in COMMANDS}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", KINDS)
def test_peak_memory_stays_under_ten_times_the_document(
    folder: Path, bases: dict[str, tuple[int, int]], kind: str, command: str
) -> None:
    path = folder / f"{kind}{'.xml' if kind.startswith('xml') else '.idoc'}"
    if not path.exists():
        write_document(kind, SIZE, folder)
    measured = measure(command, path, rounds=1, base=bases[command])
    imports = measured.baseline / 2**20
    above = measured.above[0] / 2**20
    assert measured.ratio < BOUND, (
        f"{command} on {kind} ({measured.size / 1e6:.1f} MB): {above:.1f} MiB above the "
        f"{imports:.1f} MiB baseline = {measured.ratio:.2f} x the document"
    )
