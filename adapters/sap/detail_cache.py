"""Confirmation details already read, so that a daily reconciliation over a 30-day window asks
SAP for each confirmation's quantities once, not thirty times.

BAPI_PRODORDCONF_GETLIST lists an order's confirmations without their quantities; each one's
yield and scrap need a BAPI_PRODORDCONF_GETDETAIL call. A posted confirmation's detail never
changes in SAP: a correction is a cancellation, a new counter whose REV_CONF_CNT names the one
it cancels (and GETLIST marks the cancelled one REVERSED), so the list, read fresh on every run,
tells what counts, and a detail read once can be kept. The cache is per process (the scheduler
in ``bridge run`` keeps it between runs), keyed by the SAP system (its URL and client) and the
confirmation (number, and its counter with the list row's order, operation, date and marks, so
that a system refreshed from a copy, which reuses numbers, is not answered from before), and
bounded: past ``capacity`` the least recently used entry goes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_CAPACITY", "DetailCache", "shared_details"]

DEFAULT_CAPACITY = 200_000

_Key = tuple[str, str, str]


class DetailCache:
    """Confirmation details by (system, CONF_NO, identity), least recently used out first
    (``identity``: the counter, and whatever else the caller knows of the confirmation)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a detail cache holds at least one entry")
        self.capacity = capacity
        self._entries: OrderedDict[_Key, Mapping[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, system: str, conf_no: str, counter: str) -> Mapping[str, Any] | None:
        key = (system, str(conf_no), str(counter))
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, system: str, conf_no: str, counter: str, detail: Mapping[str, Any]) -> None:
        """Keep a detail SAP returned (an empty one, as for a confirmation SAP does not know, is
        not kept: it is asked again next time)."""
        if not detail:
            return
        key = (system, str(conf_no), str(counter))
        with self._lock:
            self._entries[key] = dict(detail)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_SHARED = DetailCache()


def shared_details() -> DetailCache:
    """The process's cache, used by every SAP query of the process."""
    return _SHARED
