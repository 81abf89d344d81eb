"""The ledger on a real PostgreSQL, each test inside its own throw-away schema."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from bridge.errors import ConfigError
from bridge.ledger import LATEST_VERSION, Decision, DeliveryItem, JournalEntry, Ledger, RawRecord, migrate

from ..conftest import all_at_once

pytestmark = pytest.mark.integration


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema ``ledger_<uuid>``, dropped with everything in it afterwards."""
    name = f"ledger_{uuid.uuid4().hex}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture
def ledger(postgres_url: str, schema: str) -> Iterator[Ledger]:
    opened = Ledger.connect(postgres_url, schema=schema)
    yield opened
    opened.close()


def item(message_id: str, version: str, business_key: str = "430094") -> DeliveryItem:
    return DeliveryItem(message_id, "order", business_key, version)


class Writer:
    """A write callback that remembers what it was given."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[DeliveryItem]] = []
        self.delay = delay

    def __call__(self, items: list[DeliveryItem]) -> None:
        time.sleep(self.delay)
        self.calls.append(items)


def test_migrations_create_the_tables_inside_the_given_schema_only(
    ledger: Ledger, postgres_url: str, schema: str
) -> None:
    inspector = inspect(ledger.engine)
    assert {
        "bridge_schema_version",
        "bridge_journal",
        "bridge_raw_archive",
        "bridge_idempotency_keys",
        "bridge_applied_versions",
    } <= set(inspector.get_table_names(schema=schema))
    assert ledger.schema_version() == LATEST_VERSION
    assert migrate(ledger.engine) == []
    Ledger.connect(postgres_url, schema=schema).close()
    with ledger.engine.connect() as conn:
        versions = conn.execute(text(f'SELECT version FROM "{schema}".bridge_schema_version')).scalars().all()
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_processes_migrating_at_once_apply_each_step_once(postgres_url: str, schema: str) -> None:
    _, errors = all_at_once(*[lambda: Ledger.connect(postgres_url, schema=schema).close()] * 4)
    assert errors == []
    with Ledger.connect(postgres_url, schema=schema, migrate=False) as ledger:
        assert ledger.schema_version() == LATEST_VERSION


def test_a_newer_schema_version_is_refused(ledger: Ledger, postgres_url: str, schema: str) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                f'INSERT INTO "{schema}".bridge_schema_version (version, description, applied_at) '
                "VALUES (99, 'from the future', now())"
            )
        )
    with pytest.raises(ConfigError, match="version 99"):
        Ledger.connect(postgres_url, schema=schema)


def test_a_missing_schema_is_a_config_error(postgres_url: str) -> None:
    with pytest.raises(ConfigError, match="schema"):
        Ledger.connect(postgres_url, schema=f"ledger_missing_{uuid.uuid4().hex}")


def test_deliver_applies_then_skips_duplicates_and_marks_older_versions_stale(ledger: Ledger) -> None:
    writer = Writer()
    first = [item("m2", "20231128083400705437"), item("m1", "9999"), item("m1", "9999"), item("b", "1", "B")]
    assert ledger.deliver("mes", first, writer) == [
        Decision.APPLIED,
        Decision.APPLIED,
        Decision.DUPLICATE,
        Decision.APPLIED,
    ]
    assert [i.message_id for i in writer.calls[0]] == ["m1", "m2", "b"]

    again = Writer()
    decisions = ledger.deliver("mes", [item("m2", "20231128083400705437"), item("m0", "10000")], again)
    assert decisions == [Decision.DUPLICATE, Decision.STALE]
    assert again.calls == []
    assert ledger.deliver("mes", [item("m0", "10000")], again) == [Decision.DUPLICATE]
    assert ledger.deliver("mes", [item("m3", "20231128083400705438")], again) == [Decision.APPLIED]

    assert ledger.counts() == {"delivered": 4, "stale": 1}
    assert [(r.status, r.attempts) for r in ledger.journal("m2")] == [("delivered", 2)]


def test_a_failing_writer_leaves_no_trace_and_the_retry_applies(ledger: Ledger) -> None:
    def failing(items: list[DeliveryItem]) -> None:
        raise RuntimeError("sink down")

    with pytest.raises(RuntimeError, match="sink down"):
        ledger.deliver("mes", [item("m1", "1")], failing)
    assert ledger.counts() == {}
    assert ledger.deliver("mes", [item("m1", "1")], Writer()) == [Decision.APPLIED]


def test_concurrent_deliveries_of_the_same_key_apply_once(postgres_url: str, schema: str) -> None:
    first = Ledger.connect(postgres_url, schema=schema)
    second = Ledger.connect(postgres_url, schema=schema)
    writer = Writer(delay=0.3)

    def deliver(ledger: Ledger, message_id: str) -> list[Decision]:
        return ledger.deliver(
            "mes", [item(message_id, "7"), item(f"{message_id}-own", "1", message_id)], writer
        )

    results, errors = all_at_once(lambda: deliver(first, "a"), lambda: deliver(second, "b"))
    assert errors == []
    first.close()
    second.close()

    shared = sorted(r[0] for r in results)
    assert shared == [Decision.APPLIED, Decision.DUPLICATE]
    assert [r[1] for r in results] == [Decision.APPLIED, Decision.APPLIED]
    written = [i.business_key for call in writer.calls for i in call if i.version == "7"]
    assert written == ["430094"]


def test_archive_and_journal_round_trip(ledger: Ledger) -> None:
    ledger.archive_raw([RawRecord("m1", "sap", "ORDERS05", "1", b"\x00\xff<IDOC/>")])
    ledger.archive_raw([RawRecord("m1", "sap", "ORDERS05", "1", b"other")])
    stored = ledger.raw_payload("m1")
    assert stored is not None
    assert stored.payload == b"\x00\xff<IDOC/>"
    ledger.record([JournalEntry("m1", "ingest", "received", source_system="sap")])
    ledger.record([JournalEntry("m1", "ingest", "failed", error="boom", attempts=3)])
    (row,) = ledger.journal("m1")
    assert (row.status, row.error, row.attempts, row.source_system) == ("failed", "boom", 3, "sap")
