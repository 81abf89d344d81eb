"""Incremental polling of a system that cannot push: a watermark per feed, an overlap window,
and the documents handed to ingest before the watermark moves.

An adapter describes what it polls as :class:`ChangeFeed` objects (a form, an API): ``changes``
lists the records modified at or after a moment, oldest first with a stable tie-breaker (the
system's modification time and the record's id); ``fetch`` reads one record's full document as
the system sent it. :class:`Poller` is the source the runtime starts: every ``poll_s`` it reads
each feed from its saved watermark minus ``overlap_s`` (a record committed late with an earlier
modification time is still found), fetches what it has not taken in yet, ingests in batches
(archived and confirmed by the broker) and only then saves the new watermark
(:mod:`bridge.ledger.source_positions`). A crash in between polls the same records again: their
message ids and versions are the same, and the ledger absorbs the duplicates.

Watermarks are the system's own local times (zone-less, as K/3 Cloud and YonBIP write them),
compared as such; the time zone matters only to the mappings.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bridge.errors import BridgeError, ConfigError

__all__ = ["Change", "ChangeFeed", "Poller", "Watermark", "parse_local_time"]

log = logging.getLogger(__name__)


def parse_local_time(text: str, what: str = "time") -> datetime:
    """``2026-01-01``, ``2026-01-01 08:00:00``, ``2026-01-01T08:00:00.123`` as a naive datetime.

    Raises:
        ConfigError: anything else (the message names ``what``).
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a local time like 2026-01-01 08:00:00") from None
    if value.tzinfo is not None:
        raise ConfigError(f"{what}: {text!r} carries a zone; the system's local time is expected")
    return value


def _id_key(record_id: str) -> tuple[int, int | str]:
    return (0, int(record_id)) if record_id.isdigit() else (1, record_id)


@dataclass(frozen=True)
class Change:
    """One record the system reports as modified."""

    modified: datetime
    id: str
    label: str = ""

    @property
    def key(self) -> tuple[datetime, tuple[int, int | str]]:
        return (self.modified, _id_key(self.id))


@dataclass(frozen=True)
class Watermark:
    """How far a feed has been taken in: the last modification time and id."""

    modified: datetime
    id: str = ""

    @property
    def key(self) -> tuple[datetime, tuple[int, int | str]]:
        return (self.modified, _id_key(self.id) if self.id else (-1, 0))

    def to_text(self) -> str:
        return json.dumps({"modified": self.modified.isoformat(timespec="milliseconds"), "id": self.id})

    @classmethod
    def from_text(cls, text: str, what: str) -> Watermark:
        try:
            data = json.loads(text)
            return cls(parse_local_time(str(data["modified"]), what), str(data.get("id", "")))
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{what}: the saved position {text[:100]!r} is not a watermark; set it with backfill") from None


class ChangeFeed(Protocol):
    """What one polled kind of record looks like to the poller."""

    name: str

    def changes(self, since: datetime | None) -> Iterator[Change]:
        """Records modified at or after ``since`` (all when None), ordered by (modified, id)."""
        ...

    def fetch(self, change: Change) -> tuple[bytes, str] | None:
        """The record's document as the system sends it, and its origin (for messages); None
        when the record is gone meanwhile (deleted between the listing and the read)."""
        ...


class Poller:
    """A source that polls feeds of one system (see the module docstring).

    Args:
        system: the system's name (positions are saved as ``<system>:<feed>``).
        context: the runtime's :class:`~bridge.adapter.source.SourceContext` (ingest, positions).
        feeds: what is polled.
        poll_s: seconds between polls.
        overlap_s: how far before the watermark each poll reads again.
        since: where a feed without a saved position starts (None: from its first record).
        batch: documents ingested (and confirmed) at a time.
    """

    routes: Sequence[Any] = ()

    def __init__(
        self, system: str, context: Any, feeds: Sequence[ChangeFeed], *, poll_s: float, overlap_s: float,
        since: datetime | None = None, batch: int = 50, wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.name = f"{system} poller"
        self.system, self.context, self.feeds = system, context, tuple(feeds)
        self.poll_s, self.overlap = poll_s, timedelta(seconds=overlap_s)
        self.since, self.batch = since, batch
        self._stopping = threading.Event()
        self._wait = wait or self._stopping.wait
        self._thread: threading.Thread | None = None
        self._seen: dict[str, dict[str, datetime]] = {feed.name: {} for feed in self.feeds}
        self.polls = 0

    def position_name(self, feed: ChangeFeed) -> str:
        return f"{self.system}:{feed.name}"

    def watermark(self, feed: ChangeFeed) -> Watermark | None:
        saved = self.context.positions.get(self.position_name(feed))
        if saved is None:
            return None
        return Watermark.from_text(saved.position, f"position {self.position_name(feed)}")

    def poll_once(self) -> int:
        """One poll of every feed; the number of documents ingested."""
        taken = 0
        for feed in self.feeds:
            taken += self._poll_feed(feed)
        self.polls += 1
        return taken

    def _poll_feed(self, feed: ChangeFeed) -> int:
        mark = self.watermark(feed)
        start = mark.modified - self.overlap if mark is not None else self.since
        seen = self._seen[feed.name]
        if start is not None:  # what is older than the window cannot come again
            for record_id in [i for i, m in seen.items() if m < start]:
                del seen[record_id]
        pending: list[tuple[Change, bytes, str]] = []
        taken = 0
        for change in feed.changes(start):
            if seen.get(change.id) == change.modified:
                continue
            fetched = feed.fetch(change)
            if fetched is None:
                log.info("%s: %s is gone since it was listed; skipped", self.name, change.label or change.id)
                seen[change.id] = change.modified
                continue
            pending.append((change, *fetched))
            if len(pending) >= self.batch:
                mark = self._ingest(feed, pending, mark)
                taken += len(pending)
                pending = []
        if pending:
            self._ingest(feed, pending, mark)
            taken += len(pending)
        return taken

    def _ingest(self, feed: ChangeFeed, pending: list[tuple[Change, bytes, str]], mark: Watermark | None) -> Watermark | None:
        self.context.ingest([(data, origin) for _, data, origin in pending])
        seen = self._seen[feed.name]
        for change, _, _ in pending:
            seen[change.id] = change.modified
        last = max((c for c, _, _ in pending), key=lambda c: c.key)
        if mark is None or last.key > mark.key:
            mark = Watermark(last.modified, last.id)
            self.context.positions.set(self.position_name(feed), mark.to_text())
        return mark

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                taken = self.poll_once()
                if taken:
                    log.info("%s: took in %d document(s)", self.name, taken)
            except ConfigError as exc:
                log.error("%s: %s (polling again in %.0f s)", self.name, exc, self.poll_s)
            except BridgeError as exc:
                log.warning("%s: %s (polling again in %.0f s)", self.name, exc, self.poll_s)
            except Exception:  # a poller must outlive a bug in one feed
                log.exception("%s: the poll failed unexpectedly (polling again in %.0f s)", self.name, self.poll_s)
            if self._wait(self.poll_s):
                return
