"""The SAP confirmation-detail cache: a detail is kept per system and confirmation, the least
recently used goes first past the capacity, and empty details are not kept."""

from __future__ import annotations

import pytest

from adapters.sap.detail_cache import DetailCache


def test_a_detail_is_kept_per_system_and_confirmation() -> None:
    cache = DetailCache()
    cache.put("https://sap-a/100", "00001234", "00000001", {"YIELD": "10"})
    assert cache.get("https://sap-a/100", "00001234", "00000001") == {"YIELD": "10"}
    assert cache.get("https://sap-b/100", "00001234", "00000001") is None  # another system
    assert cache.get("https://sap-a/100", "00001234", "00000002") is None  # another counter
    assert (cache.hits, cache.misses) == (1, 2)


def test_the_least_recently_used_goes_first() -> None:
    cache = DetailCache(capacity=2)
    cache.put("s", "1", "1", {"YIELD": "1"})
    cache.put("s", "2", "1", {"YIELD": "2"})
    assert cache.get("s", "1", "1") is not None  # 1 is now the most recent
    cache.put("s", "3", "1", {"YIELD": "3"})
    assert len(cache) == 2
    assert cache.get("s", "2", "1") is None
    assert cache.get("s", "1", "1") == {"YIELD": "1"}


def test_an_empty_detail_is_asked_again() -> None:
    cache = DetailCache()
    cache.put("s", "1", "1", {})
    assert cache.get("s", "1", "1") is None
    assert len(cache) == 0


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        DetailCache(capacity=0)
