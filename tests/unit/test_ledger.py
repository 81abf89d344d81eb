"""The ledger on a SQLite file: migrations, raw archive, journal and idempotent delivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from bridge.errors import BridgeError, ConfigError, PermanentError, TransientError
from bridge.ledger import (
    LATEST_VERSION,
    MIGRATIONS,
    Decision,
    DeliveryItem,
    JournalEntry,
    Ledger,
    Migration,
    RawRecord,
    is_older,
    migrate,
    version_key,
)
from bridge.ledger.engine import _typed_error
from bridge.ledger.models import LedgerBase

from ..conftest import all_at_once
from .ledger_helpers import hold_sqlite_write_lock


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    opened = Ledger.connect(url)
    yield opened
    opened.close()


class Writer:
    """A sink's write callback that remembers what it was given."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[DeliveryItem]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, items: list[DeliveryItem]) -> None:
        time.sleep(self.delay)
        with self._lock:
            self.calls.append(items)

    @property
    def written(self) -> list[str]:
        return [f"{i.message_id}@{i.version}" for call in self.calls for i in call]


def item(message_id: str, version: str, business_key: str = "430094", entity: str = "order") -> DeliveryItem:
    return DeliveryItem(message_id, entity, business_key, version, payload={"id": message_id})


# ------------------------------------------------------------------------------ migrations


def test_migrations_create_every_table_and_record_the_version(ledger: Ledger) -> None:
    tables = set(inspect(ledger.engine).get_table_names())
    assert tables == set(LedgerBase.metadata.tables)
    assert ledger.schema_version() == LATEST_VERSION
    for name, table in LedgerBase.metadata.tables.items():
        columns = {c["name"] for c in inspect(ledger.engine).get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_migrating_again_applies_nothing(ledger: Ledger, url: str) -> None:
    assert migrate(ledger.engine) == []
    Ledger.connect(url).close()
    with ledger.engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM bridge_schema_version")).scalars().all()
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_processes_migrating_at_once_apply_each_step_once(url: str) -> None:
    _, errors = all_at_once(*[lambda: Ledger.connect(url).close()] * 4)
    assert errors == []
    with Ledger.connect(url, migrate=False) as ledger, ledger.engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM bridge_schema_version")).scalars().all()
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_a_database_newer_than_the_code_is_refused_with_config_error(ledger: Ledger, url: str) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bridge_schema_version (version, description, applied_at) VALUES (99, 'x', '2030-01-01')"
            )
        )
    with pytest.raises(ConfigError, match="version 99"):
        Ledger.connect(url)
    with pytest.raises(ConfigError, match="version 99"):
        migrate(ledger.engine)
    with pytest.raises(ConfigError, match="version 99"):
        Ledger.connect(url, migrate=False)


def test_connecting_without_migrating_refuses_an_empty_database(url: str) -> None:
    with pytest.raises(ConfigError, match="version 0"):
        Ledger.connect(url, migrate=False)


def test_migration_steps_must_be_numbered_without_gaps(ledger: Ledger) -> None:
    def noop(conn: object) -> None:
        return None

    with pytest.raises(ConfigError, match="without gaps"):
        migrate(ledger.engine, [Migration(1, "a", noop), Migration(3, "b", noop)])


def test_a_new_step_is_applied_in_its_own_transaction(ledger: Ledger) -> None:
    extra = len(MIGRATIONS) + 1
    steps = [
        *MIGRATIONS,
        Migration(extra, "extra", lambda conn: conn.execute(text("CREATE TABLE bridge_extra (id INTEGER)"))),
    ]
    assert migrate(ledger.engine, steps) == [extra]
    assert migrate(ledger.engine, steps) == []
    assert "bridge_extra" in inspect(ledger.engine).get_table_names()


# ------------------------------------------------------------------------------ connection


def test_sqlite_runs_in_wal_mode_with_normal_sync_and_foreign_keys(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000  # ledger.busy_timeout_s


def test_the_busy_timeout_is_the_one_given(url: str) -> None:
    with Ledger.connect(url, busy_timeout=0.25) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250


@pytest.mark.parametrize(
    ("held", "fails"),
    [
        pytest.param(0.1, False, id="a-shorter-lock-is-waited-for"),
        pytest.param(0.8, True, id="issue-a-longer-lock-is-database-is-locked"),
    ],
)
def test_a_write_waits_for_another_process_lock_up_to_the_busy_timeout(
    url: str, tmp_path: Path, held: float, fails: bool
) -> None:
    with Ledger.connect(url, busy_timeout=0.3) as ledger:
        holder = hold_sqlite_write_lock(tmp_path / "ledger.sqlite", held)
        started = time.monotonic()
        if fails:
            with pytest.raises(TransientError, match=r"archive raw payloads: database unavailable \(database is locked\)"):
                ledger.archive_raw([RawRecord("m1", "sap", "LOIPRO05", "1", b"<IDOC/>")])
            assert time.monotonic() - started >= 0.25  # waited for the busy timeout, did not fail at once
        else:
            ledger.archive_raw([RawRecord("m1", "sap", "LOIPRO05", "1", b"<IDOC/>")])
        holder.join()
        assert (ledger.raw_payload("m1") is None) is fails


def test_reads_do_not_wait_for_another_process_write_lock(url: str, tmp_path: Path) -> None:
    with Ledger.connect(url, busy_timeout=5) as ledger:
        holder = hold_sqlite_write_lock(tmp_path / "ledger.sqlite", 0.5)
        started = time.monotonic()
        assert ledger.statuses(["m1"], "translate") == {}
        assert time.monotonic() - started < 0.4  # WAL: readers never wait for the writer
        holder.join()


def test_a_probe_connects_only_when_pinged_and_neither_migrates_nor_checks(tmp_path: Path) -> None:
    unreachable = Ledger.probe("postgresql+psycopg://postgres@127.0.0.1:1/test")
    with pytest.raises(TransientError, match="ping"):
        unreachable.ping()
    unreachable.close()
    empty = tmp_path / "empty.sqlite"
    with Ledger.probe(f"sqlite:///{empty}") as probe:
        probe.ping()
        assert probe.schema_version() == 0


def test_an_unreachable_database_is_a_transient_error() -> None:
    with pytest.raises(TransientError, match="unavailable"):
        Ledger.connect("postgresql+psycopg://postgres@127.0.0.1:1/test")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@h/db", "only sqlite and postgresql"),
    ],
)
def test_bad_or_unsupported_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Ledger.connect(url)


def test_a_schema_is_refused_for_sqlite(url: str) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Ledger.connect(url, schema="ledger")


def test_a_missing_table_is_a_config_error(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text("DROP TABLE bridge_journal"))
    with pytest.raises(ConfigError, match="no such table"):
        ledger.journal("m1")


def test_ping_answers_on_a_working_database_and_fails_typed_on_a_broken_one(ledger: Ledger, tmp_path: Path) -> None:
    assert ledger.ping() is None
    broken = tmp_path / "not-a-database.sqlite"
    broken.write_bytes(b"this is not an SQLite file" * 100)
    probe = Ledger.probe(f"sqlite:///{broken}")
    with pytest.raises(BridgeError, match="ping"):
        probe.ping()
    probe.close()


def test_database_errors_map_to_the_typed_error_tree() -> None:
    def wrap(cls: type[DBAPIError], message: str) -> DBAPIError:
        return cls("INSERT ...", {}, Exception(message))

    assert isinstance(_typed_error(wrap(IntegrityError, "duplicate key"), "x"), TransientError)
    assert isinstance(_typed_error(wrap(OperationalError, "connection refused"), "x"), TransientError)
    assert isinstance(_typed_error(wrap(OperationalError, "no such table: t"), "x"), ConfigError)
    assert isinstance(_typed_error(wrap(ProgrammingError, "relation does not exist"), "x"), ConfigError)
    assert not isinstance(_typed_error(wrap(OperationalError, "locked"), "x"), PermanentError)


# ------------------------------------------------------------------------------ raw archive


def test_archiving_a_message_again_keeps_the_first_payload(ledger: Ledger) -> None:
    first = RawRecord("m1", "sap", "ORDERS05", "0000000000430094", b"<IDOC/>", "application/xml")
    ledger.archive_raw([first, RawRecord("m1", "sap", "ORDERS05", "0000000000430094", b"other")])
    ledger.archive_raw([RawRecord("m1", "sap", "ORDERS05", "0000000000430094", b"again")])

    stored = ledger.raw_payload("m1")
    assert stored is not None
    assert stored.payload == b"<IDOC/>"
    assert stored.content_type == "application/xml"
    assert stored.received_at is not None
    assert stored.received_at.tzinfo is UTC


def test_the_raw_payload_of_an_unknown_message_is_none(ledger: Ledger) -> None:
    assert ledger.raw_payload("nope") is None


def test_received_at_is_kept_in_utc(ledger: Ledger) -> None:
    when = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    ledger.archive_raw([RawRecord("m1", "sap", "ORDERS05", "1", b"x", received_at=when)])
    stored = ledger.raw_payload("m1")
    assert stored is not None
    assert stored.received_at == when


# ------------------------------------------------------------------------------ journal


def test_recording_a_stage_again_updates_its_one_row(ledger: Ledger) -> None:
    ledger.record([JournalEntry("m1", "ingest", "received", source_system="sap", document_key="430094")])
    ledger.record([JournalEntry("m1", "translate", "failed", error="boom", attempts=1)])
    ledger.record([JournalEntry("m1", "translate", "translated", attempts=2, entity="order")])

    rows = ledger.journal("m1")
    assert [(r.stage, r.status) for r in rows] == [("ingest", "received"), ("translate", "translated")]
    translate = rows[1]
    assert translate.error is None
    assert translate.attempts == 2
    assert translate.entity == "order"
    assert translate.created_at is not None
    assert translate.updated_at is not None
    assert translate.updated_at >= translate.created_at
    assert rows[0].source_system == "sap"


def test_within_one_call_the_last_entry_for_a_stage_wins(ledger: Ledger) -> None:
    ledger.record(
        [JournalEntry("m1", "ingest", "received"), JournalEntry("m1", "ingest", "failed", error="e")]
    )
    assert [(r.status, r.error) for r in ledger.journal("m1")] == [("failed", "e")]


def test_a_later_record_without_details_keeps_the_known_ones(ledger: Ledger) -> None:
    ledger.record([JournalEntry("m1", "ingest", "received", source_system="sap", correlation_id="c1")])
    ledger.record([JournalEntry("m1", "ingest", "dead_lettered", error="bad")])
    (row,) = ledger.journal("m1")
    assert (row.status, row.source_system, row.correlation_id) == ("dead_lettered", "sap", "c1")


@pytest.mark.parametrize(
    "entry",
    [
        JournalEntry("m1", "ingest", "lost"),
        JournalEntry("m1", "deliver:", "delivered"),
        JournalEntry("m1", "x", "failed"),
    ],
)
def test_unknown_statuses_and_stages_are_refused(ledger: Ledger, entry: JournalEntry) -> None:
    with pytest.raises(ValueError, match="journal"):
        ledger.record([entry])


def test_recent_lists_newest_first_and_filters(ledger: Ledger) -> None:
    for n in range(5):
        ledger.record([JournalEntry(f"m{n}", "ingest", "received" if n % 2 else "failed")])
    assert [r.message_id for r in ledger.recent(limit=3)] == ["m4", "m3", "m2"]
    assert [r.message_id for r in ledger.recent(status="received")] == ["m3", "m1"]
    assert ledger.recent(stage="translate") == []
    assert ledger.counts() == {"failed": 3, "received": 2}


# ------------------------------------------------------------------------------ delivery


def test_new_items_are_applied_and_handed_to_the_writer(ledger: Ledger) -> None:
    writer = Writer()
    decisions = ledger.deliver("mes", [item("m1", "1", "A"), item("m2", "1", "B")], writer)
    assert decisions == [Decision.APPLIED, Decision.APPLIED]
    assert writer.written == ["m1@1", "m2@1"]
    assert writer.calls[0][0].payload == {"id": "m1"}
    assert [(r.stage, r.status, r.attempts) for r in ledger.journal("m1")] == [
        ("deliver:mes", "delivered", 1)
    ]


def test_a_duplicate_within_one_batch_is_skipped_and_the_first_wins(ledger: Ledger) -> None:
    writer = Writer()
    decisions = ledger.deliver("mes", [item("m1", "7"), item("m2", "7"), item("m1", "7")], writer)
    assert decisions == [Decision.APPLIED, Decision.DUPLICATE, Decision.DUPLICATE]
    assert writer.written == ["m1@7"]
    assert ledger.journal("m2")[0].status == "duplicate"


def test_duplicates_in_later_batches_are_skipped_without_calling_the_writer(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m1", "7")], Writer())
    writer = Writer()
    assert ledger.deliver("mes", [item("m1", "7"), item("m9", "7")], writer) == [Decision.DUPLICATE] * 2
    assert writer.calls == []
    redelivered = ledger.journal("m1")[0]
    assert (redelivered.status, redelivered.attempts) == ("delivered", 2)
    assert ledger.journal("m9")[0].status == "duplicate"


def test_keys_are_per_target(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m1", "7")], Writer())
    assert ledger.deliver("files", [item("m1", "7")], Writer()) == [Decision.APPLIED]


def test_older_versions_are_stale_and_a_redelivered_stale_item_is_a_duplicate(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m5", "5")], Writer())
    writer = Writer()
    assert ledger.deliver("mes", [item("m3", "3"), item("m6", "6")], writer) == [
        Decision.STALE,
        Decision.APPLIED,
    ]
    assert writer.written == ["m6@6"]
    assert ledger.journal("m3")[0].status == "stale"
    assert ledger.deliver("mes", [item("m3", "3")], Writer()) == [Decision.DUPLICATE]
    assert ledger.journal("m3")[0].status == "stale"
    assert ledger.deliver("mes", [item("m4", "4")], Writer()) == [Decision.STALE]


def test_versions_of_one_object_in_a_batch_are_written_in_order_and_the_newest_is_kept(
    ledger: Ledger,
) -> None:
    writer = Writer()
    batch = [item("m3", "3"), item("b1", "1", "B"), item("m1", "1"), item("m2", "2")]
    assert ledger.deliver("mes", batch, writer) == [Decision.APPLIED] * 4
    assert writer.written == ["m1@1", "b1@1", "m2@2", "m3@3"]
    assert ledger.deliver("mes", [item("x0", "0")], Writer()) == [Decision.STALE]
    assert ledger.deliver("mes", [item("x4", "4")], Writer()) == [Decision.APPLIED]


def test_an_equal_version_under_another_spelling_is_applied_not_stale(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m1", "0430094")], Writer())
    assert ledger.deliver("mes", [item("m2", "430094")], Writer()) == [Decision.APPLIED]


def test_a_failing_writer_rolls_everything_back_and_the_retry_applies(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m1", "1", "A")], Writer())
    boom = TransientError("MES down")

    def failing(items: list[DeliveryItem]) -> None:
        raise boom

    batch = [item("m2", "2", "A"), item("m3", "1", "B"), item("m1", "1", "A")]
    with pytest.raises(TransientError) as raised:
        ledger.deliver("mes", batch, failing)
    assert raised.value is boom
    assert ledger.journal("m2") == []
    assert ledger.counts() == {"delivered": 1}

    writer = Writer()
    assert ledger.deliver("mes", batch, writer) == [Decision.APPLIED, Decision.APPLIED, Decision.DUPLICATE]
    assert writer.written == ["m2@2", "m3@1"]


def test_a_batch_with_nothing_in_it_does_nothing(ledger: Ledger) -> None:
    writer = Writer()
    assert ledger.deliver("mes", [], writer) == []
    assert writer.calls == []


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("9999", "20231128083400705437"),
        ("0000000000430094", "430095"),
        ("430094", "0000000000430095"),
        ("99999999999999999999999", "100000000000000000000000"),
        ("9", "10"),
        ("1", "A"),
        ("A", "B"),
    ],
)
def test_versions_compare_numerically_when_all_digits(older: str, newer: str) -> None:
    assert is_older(older, newer)
    assert not is_older(newer, older)
    assert version_key(older) < version_key(newer)


def test_equal_numbers_with_leading_zeros_are_the_same_version() -> None:
    assert version_key("0000000000430094") == version_key("430094")
    assert not is_older("007", "7")
    assert not is_older("7", "007")


def test_delivery_orders_long_numeric_versions_by_value(ledger: Ledger) -> None:
    ledger.deliver("mes", [item("m1", "20231128083400705437")], Writer())
    assert ledger.deliver("mes", [item("m2", "9999")], Writer()) == [Decision.STALE]
    ledger.deliver("mes", [item("k1", "0000000000430094", "K")], Writer())
    assert ledger.deliver("mes", [item("k2", "430095", "K"), item("k3", "430093", "K")], Writer()) == [
        Decision.APPLIED,
        Decision.STALE,
    ]


def test_concurrent_deliveries_of_the_same_key_apply_once(url: str) -> None:
    first, second = Ledger.connect(url), Ledger.connect(url)
    writer = Writer(delay=0.2)
    results, errors = all_at_once(
        lambda: first.deliver("mes", [item("a", "7")], writer),
        lambda: second.deliver("mes", [item("b", "7")], writer),
    )
    assert errors == []
    first.close()
    second.close()

    assert sorted(d for r in results for d in r) == [Decision.APPLIED, Decision.DUPLICATE]
    assert len(writer.calls) == 1


def test_timestamps_read_back_as_aware_utc(ledger: Ledger) -> None:
    ledger.record([JournalEntry("m1", "ingest", "received")])
    (row,) = ledger.journal("m1")
    assert row.created_at is not None
    assert row.created_at.tzinfo is UTC
    with ledger.engine.connect() as conn:
        raw = conn.execute(text("SELECT created_at FROM bridge_journal")).scalar()
    assert isinstance(raw, str)
    assert "+" not in raw  # stored as naive UTC text


# ------------------------------------------------------------------------------ sink state


def test_a_stateful_sink_gets_its_last_committed_state_and_a_failed_write_keeps_it(ledger: Ledger) -> None:
    seen: list[str | None] = []

    def write(items: list[DeliveryItem], state: str | None) -> str:
        seen.append(state)
        return str(int(state or 0) + len(items))

    def failing(items: list[DeliveryItem], state: str | None) -> str:
        seen.append(state)
        raise RuntimeError("disk full")

    first = [DeliveryItem("m1", "order", "1", "1"), DeliveryItem("m2", "order", "2", "1")]
    ledger.deliver("files", first, write, stateful=True)
    with pytest.raises(RuntimeError, match="disk full"):
        ledger.deliver("files", [DeliveryItem("m3", "order", "3", "1")], failing, stateful=True)
    ledger.deliver("files", [DeliveryItem("m3", "order", "3", "1")], write, stateful=True)
    assert seen == [None, "2", "2"]


def test_the_file_sink_drops_an_uncommitted_tail_so_each_event_is_written_once(
    ledger: Ledger, tmp_path
) -> None:
    import json

    from adapters.file.sink import FileSink

    sink = FileSink("files", tmp_path / "out.jsonl")

    def item(n: int) -> DeliveryItem:
        return DeliveryItem(f"m{n}", "order", str(n), "1", payload={"message_id": f"m{n}"})

    ledger.deliver("files", [item(1), item(2)], sink.write, stateful=True)

    def crash_after_write(items: list[DeliveryItem], state: str | None) -> str:
        sink.write(items, state)
        raise KeyboardInterrupt  # the process dies before the ledger commits

    with pytest.raises(KeyboardInterrupt):
        ledger.deliver("files", [item(3)], crash_after_write, stateful=True)
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3  # the uncommitted line is there
    ledger.deliver("files", [item(3), item(4)], sink.write, stateful=True)  # redelivered
    lines = [json.loads(line)["message_id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines == ["m1", "m2", "m3", "m4"]
