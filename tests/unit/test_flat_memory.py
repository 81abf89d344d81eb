"""The flat reader holds no second copy of the file: no decoded text, no list of all its lines."""

from __future__ import annotations

import tracemalloc

import pytest

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import read_idocs_flat
from bench.memory import flat_matmas


def big_matmas(size: int, *, pad: bool) -> bytes:
    """A MATMAS05 file of about ``size`` bytes (see bench/memory.py)."""
    return flat_matmas(size, pad=pad)


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
