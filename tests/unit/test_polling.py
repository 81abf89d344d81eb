"""The generic poller: watermark, overlap window, nothing lost across a crash, duplicates only
inside the window (the ledger absorbs them), a record gone meanwhile skipped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bridge.adapter.polling import Change, Poller, Watermark, parse_local_time
from bridge.errors import ConfigError, TransientError
from bridge.ledger import Ledger

T0 = datetime(2026, 12, 1, 8, 0, 0)


@dataclass
class Feed:
    name: str = "BILLS"
    records: dict[str, datetime] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    asked: list[datetime | None] = field(default_factory=list)

    def changes(self, since: datetime | None) -> Iterator[Change]:
        self.asked.append(since)
        for record_id, modified in sorted(self.records.items(), key=lambda kv: (kv[1], int(kv[0]))):
            if since is None or modified >= since:
                yield Change(modified, record_id, f"bill {record_id}")

    def fetch(self, change: Change) -> tuple[bytes, str] | None:
        if change.id in self.gone:
            return None
        return f"{change.id}@{change.modified.isoformat()}".encode(), f"bill {change.id}"


@dataclass
class Context:
    positions: Any
    system: str = "erp"
    ingested: list[bytes] = field(default_factory=list)
    fail_ingest: bool = False

    def ingest(self, items: Any) -> list[Any]:
        if self.fail_ingest:
            raise TransientError("broker down")
        self.ingested.extend(data for data, _ in items)
        return []


@pytest.fixture
def context() -> Iterator[Context]:
    ledger = Ledger.connect("sqlite://")
    yield Context(ledger.positions)
    ledger.close()


def poller(context: Context, feed: Feed, **kwargs: Any) -> Poller:
    return Poller("erp", context, [feed], poll_s=1, overlap_s=kwargs.pop("overlap_s", 60), **kwargs)


def test_a_first_poll_takes_everything_since_the_configured_start_and_saves_the_watermark(context: Context) -> None:
    feed = Feed(records={"1": T0, "2": T0 + timedelta(seconds=5), "3": T0 - timedelta(days=1)})
    assert poller(context, feed, since=T0).poll_once() == 2
    assert context.ingested == [b"1@2026-12-01T08:00:00", b"2@2026-12-01T08:00:05"]
    assert Watermark.from_text(context.positions.get("erp:BILLS").position, "x") == Watermark(T0 + timedelta(seconds=5), "2")


def test_the_next_poll_reads_from_the_watermark_minus_the_overlap_and_takes_only_what_changed(context: Context) -> None:
    feed = Feed(records={"1": T0, "2": T0 + timedelta(seconds=5)})
    p = poller(context, feed, since=T0, overlap_s=60)
    p.poll_once()
    feed.records["1"] = T0 + timedelta(minutes=2)  # changed
    feed.records["9"] = T0 + timedelta(seconds=1)  # committed late, with an earlier modification time
    assert p.poll_once() == 2
    assert feed.asked[-1] == T0 + timedelta(seconds=5) - timedelta(seconds=60)
    assert context.ingested[-2:] == [b"9@2026-12-01T08:00:01", b"1@2026-12-01T08:02:00"]


def test_a_restarted_poller_goes_on_from_the_saved_watermark(context: Context) -> None:
    feed = Feed(records={"1": T0, "2": T0 + timedelta(hours=1)})
    poller(context, feed, since=T0, overlap_s=0).poll_once()
    feed.records["3"] = T0 + timedelta(hours=2)
    again = poller(context, feed, since=T0, overlap_s=0)
    again.poll_once()
    assert feed.asked[-1] == T0 + timedelta(hours=1)
    # after a restart the record at the watermark itself comes again: the ledger absorbs it
    assert context.ingested[2:] == [b"2@2026-12-01T09:00:00", b"3@2026-12-01T10:00:00"]


def test_a_failed_ingest_leaves_the_watermark_where_it_was(context: Context) -> None:
    feed = Feed(records={"1": T0})
    context.fail_ingest = True
    with pytest.raises(TransientError):
        poller(context, feed, since=T0).poll_once()
    assert context.positions.get("erp:BILLS") is None
    context.fail_ingest = False
    assert poller(context, feed, since=T0).poll_once() == 1


def test_a_record_deleted_between_listing_and_reading_is_skipped(context: Context) -> None:
    feed = Feed(records={"1": T0, "2": T0 + timedelta(seconds=1)}, gone={"1"})
    assert poller(context, feed, since=T0).poll_once() == 1
    assert context.ingested == [b"2@2026-12-01T08:00:01"]


def test_a_backfill_position_sends_the_poller_back(context: Context) -> None:
    feed = Feed(records={"1": T0, "2": T0 + timedelta(days=1)})
    p = poller(context, feed, since=T0 + timedelta(hours=12), overlap_s=0)
    assert p.poll_once() == 1
    context.positions.set("erp:BILLS", Watermark(T0).to_text(), by="backfill by ops")
    assert p.poll_once() == 1  # the old record; the newer one was seen by this poller already
    assert context.ingested == [b"2@2026-12-02T08:00:00", b"1@2026-12-01T08:00:00"]


def test_batches_save_the_watermark_as_they_go(context: Context) -> None:
    feed = Feed(records={str(i): T0 + timedelta(seconds=i) for i in range(1, 8)})
    p = poller(context, feed, since=T0, batch=3)
    saved: list[str] = []
    original = context.positions.set
    context.positions.set = lambda source, position, by="poller": (saved.append(position), original(source, position, by))
    assert p.poll_once() == 7
    assert [Watermark.from_text(s, "x").id for s in saved] == ["3", "6", "7"]


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-12-01T08:00:00+08:00"])
def test_a_start_that_is_not_a_local_time_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigError, match="local time"):
        parse_local_time(text, "since")


def test_a_saved_position_that_is_not_a_watermark_is_a_configuration_error(context: Context) -> None:
    context.positions.set("erp:BILLS", "garbage")
    with pytest.raises(ConfigError, match="backfill"):
        poller(context, Feed(), since=T0).poll_once()
