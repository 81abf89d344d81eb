"""One warning per route while nothing is bound for its events, not one per message and retry.

With no queue bound to the MES exchange for an event, every publish of it comes back unroutable:
the event goes through the retry queues and then to the dead-letter queue, as designed. Logging
that at WARNING for every batch, message and retry would bury everything else, so a route warns
once when it breaks (naming the events that came back), logs events that join them later at
INFO, the repeats at DEBUG, and says at INFO when every one of them was delivered again: the
next break warns again. The dead-letter ERROR of each message stays, as for any dead letter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from bridge.broker.confirms import UnroutableError

__all__ = ["UnroutableEvents"]

log = logging.getLogger(__name__)


class UnroutableEvents:
    """The events of one route that came back unroutable and were not delivered since.

    Args:
        route: the route's name (in every message).
    """

    def __init__(self, route: str) -> None:
        self.route = route
        self._events: set[str] = set()
        self._lock = threading.Lock()

    @property
    def events(self) -> frozenset[str]:
        """The events unroutable now (empty while the route is healthy)."""
        return frozenset(self._events)

    def returned(self, error: UnroutableError, events: Iterable[str]) -> None:
        """``events`` came back unroutable with ``error``: warn if the route just broke.

        Marks ``error`` as reported, so that the callers log its repeats at DEBUG.
        """
        events = sorted(set(events))
        with self._lock:
            broke = not self._events
            new = [event for event in events if event not in self._events]
            self._events.update(new)
        if broke:
            log.warning(
                "route %s: %s; these events are retried and then dead-lettered until a queue is "
                "bound for them (not logged again until the route delivers them)",
                self.route,
                error,
            )
        elif new:
            log.info("route %s: %s is unroutable too (%s)", self.route, ", ".join(new), error)
        else:
            log.debug("route %s: still unroutable: %s", self.route, error)
        error.reported = True

    def delivered(self, events: Iterable[str]) -> None:
        """``events`` were written to the route's sink: the route recovers when none is left."""
        if not self._events:  # the common case: nothing to recover from
            return
        with self._lock:
            before = len(self._events)
            self._events.difference_update(events)
            recovered = before > 0 and not self._events
        if recovered:
            log.info("route %s: every event is routable again", self.route)
