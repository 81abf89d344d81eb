"""The flat reader holds no second copy of the file: no decoded text, no list of all its lines."""

from __future__ import annotations

import tracemalloc

import pytest

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import read_idocs_flat

from ..conftest import MAPPINGS

MATMAS = (MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc").read_text(encoding="utf-8")


def big_matmas(size: int, *, pad: bool) -> bytes:
    """A MATMAS05 file of about ``size`` bytes: the sample's plant + storage location lines
    repeated (every line with its own SEGNUM, storage locations under their plant)."""
    control, *body = [line for line in MATMAS.split("\n") if line]
    head, group, tail = body[:3], body[3:8], body[8:]
    out = [control.ljust(524) if pad else control]
    segnum = 0

    def emit(line: str, parent: int | None = None) -> int:
        nonlocal segnum
        segnum += 1
        psgnum = f"{parent:06d}" if parent is not None else line[55:61]
        line = f"{line[:49]}{segnum:06d}{psgnum}{line[61:]}"
        out.append(line.ljust(1063) if pad else line.rstrip())
        return segnum

    for line in head:
        emit(line)
    total = sum(len(line) + 1 for line in out)
    while total < size and segnum < 999_000:
        plant = emit(group[0], 1)
        for line in group[1:]:
            emit(line, plant)
        total += sum(len(line) + 1 for line in out[-5:])
    for line in tail:
        emit(line, 1)
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize(
    ("pad", "bound"),
    [
        # padded lines: the tree is small against the bytes, so any copy of the file shows
        pytest.param(True, 2.0, id="padded-lines"),
        # SAP's stripped lines: ~70 bytes each, the tree itself is ~6 times that
        pytest.param(False, 8.0, id="stripped-lines"),
    ],
)
def test_reading_a_large_flat_file_peaks_at_a_small_multiple_of_its_size(pad: bool, bound: float) -> None:
    registry = DefinitionRegistry()
    data = big_matmas(3_000_000, pad=pad)
    read_idocs_flat(data[:20000].rsplit(b"\n", 1)[0], registry)  # definitions parsed before measuring
    tracemalloc.start()
    try:
        (read,) = read_idocs_flat(data, registry, source="big.idoc")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(read.idoc.root["E1MARAM"][0]["E1MARCM"]) > 500
    assert peak / len(data) < bound, f"peak {peak / len(data):.2f} x the file's size"
