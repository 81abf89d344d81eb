"""Ingest rides through broker restarts, a locked ledger and decoder bugs (issue 7, sections 4 and 6).

The broker and the ledger fail as scripted around the in-memory stub broker and a SQLite ledger;
waits run on a fake clock, so a two-minute outage takes no time. What must hold: every document
reaches the translate queue (the same message ids, each once when the broker said which ones it
had not confirmed), and only a fault that outlasts the deadline fails ingest, with one line that
names what it waited for and for how long.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.broker import Headers, Names, build_topology
from bridge.broker.confirms import PublishError
from bridge.broker.messages import OutMessage
from bridge.broker.stub import StubBroker, StubChannel
from bridge.codecs import codec_for
from bridge.errors import ConfigError, TransientError
from bridge.ledger import Ledger
from bridge.pipeline import Ingestor, RetryPolicy, TranslateStage, Worker
from bridge.pipeline.ingest import identify

from ..conftest import MAPPINGS, ROOT
from .ledger_helpers import hold_sqlite_write_lock
from .test_pipeline_stub import CATALOG, Route

CASES = MAPPINGS / "sap" / "cases"
HOSTILE = ROOT / "tests" / "data" / "hostile" / "faults"
NAMES = Names(prefix="t", mes_exchange="t.mes")
DOCUMENTS = ("LOIPRO05_S4HANA_Original.xml", "BATMAS03_example.xml", "MATMAS05_DMC_R1CH01007_raw.xml")
LOCKED = "ledger: archive raw payloads: database unavailable (database is locked); retry"
CLOSED = "channel closed before the broker confirmed: (320, 'CONNECTION_FORCED - broker forced connection closure')"


class FakeClock:
    """Monotonic seconds that move only when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


class RestartingBroker:
    """A stub channel that is down until ``down_until`` and fails publishes as scripted.

    Faults: ``"closed"`` (the first half is confirmed, then the channel closes), ``"nack"``
    (nothing confirmed), ``"silent"`` (no confirm within the timeout).
    """

    def __init__(self, channel: StubChannel, clock: FakeClock, faults: Sequence[str] = (), down_until: float = 0.0) -> None:
        self.channel = channel
        self.clock = clock
        self.faults = list(faults)
        self.down_until = down_until
        self.attempts: list[list[str]] = []

    def wait_ready(self, timeout: float) -> bool:
        if self.clock.now < self.down_until:
            self.clock.sleep(min(timeout, self.down_until - self.clock.now))
        return self.clock.now >= self.down_until

    def publish(self, messages: Sequence[OutMessage], timeout: float = 30.0) -> None:
        if not self.wait_ready(timeout):
            raise PublishError("not connected to the broker (channel ingest)", messages)
        self.attempts.append([m.message_id for m in messages])
        fault = self.faults.pop(0) if self.faults else None
        if fault == "closed":
            half = len(messages) // 2
            self.channel.publish(messages[:half])
            raise PublishError(CLOSED, messages[half:])
        if fault == "nack":
            raise PublishError(f"the broker refused {len(messages)} message(s) (nack)", messages)
        if fault == "silent":
            self.clock.sleep(timeout)
            raise PublishError(f"the broker did not confirm {len(messages)} message(s) within {timeout:.0f} s", messages)
        self.channel.publish(messages, timeout)


class LockedLedger:
    """The real ledger, but its writes fail as a locked SQLite file does, as often as scripted."""

    def __init__(self, ledger: Ledger, clock: FakeClock, *, archive: int = 0, record: int = 0, busy: float = 30.0) -> None:
        self.ledger = ledger
        self.clock = clock
        self.failing = {"archive": archive, "record": record}
        self.busy = busy

    def _maybe_locked(self, step: str, action: str) -> None:
        if self.failing[step]:
            self.failing[step] -= 1
            self.clock.sleep(self.busy)  # the busy timeout is waited for first
            raise TransientError(f"ledger: {action}: database unavailable (database is locked); retry")

    def archive_raw(self, records: Any) -> None:
        self._maybe_locked("archive", "archive raw payloads")
        self.ledger.archive_raw(records)

    def record(self, entries: Any) -> None:
        self._maybe_locked("record", "record journal entries")
        self.ledger.record(entries)


@pytest.fixture
def broker() -> StubBroker:
    stub = StubBroker()
    stub.declare(build_topology(NAMES, routes=[Route("mes", "mes", ("#",))], retry_tiers=(5, 30)))
    return stub


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    opened = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield opened
    opened.close()


def ingestor(channel: Any, ledger: Any, clock: FakeClock | None = None, deadline: float = 120.0) -> Ingestor:
    if clock is None:
        return Ingestor(NAMES, channel, ledger, codec_for=codec_for, deadline=deadline)
    return Ingestor(NAMES, channel, ledger, codec_for=codec_for, deadline=deadline, clock=clock, sleep=clock.sleep)


def documents(ingest: Ingestor, names: Sequence[str] = DOCUMENTS) -> list[Any]:
    return ingest.prepare([((CASES / n).read_bytes(), n) for n in names], "sap")


def queued(broker: StubBroker) -> list[str]:
    return [d.message_id or "" for d in broker.messages(NAMES.translate_queue)]


# -- riding through ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "down_until", "archive", "record", "exactly_once", "summary"),
    [
        pytest.param(["closed"], 0, 0, 0, True, "1 broker outage(s) (1 failed attempt(s), 2 message(s) published again)", id="issue-channel-closed-before-the-broker-confirmed"),
        pytest.param([], 25.0, 0, 0, True, "1 broker outage(s)", id="broker-down-for-25-s"),
        pytest.param(["nack", "nack"], 0, 0, 0, True, "1 broker outage(s) (2 failed attempt(s), 6 message(s) published again)", id="nacked-twice"),
        pytest.param(["silent"], 0, 0, 0, True, "1 broker outage(s) (1 failed attempt(s), 3 message(s) published again)", id="no-confirm-in-time"),
        pytest.param([], 0, 3, 0, True, "1 ledger outage(s) (3 failed attempt(s))", id="issue-database-is-locked-while-archiving"),
        pytest.param([], 0, 0, 2, True, "1 ledger outage(s) (2 failed attempt(s))", id="database-is-locked-while-journaling"),
        pytest.param(["closed", "nack"], 10.0, 1, 1, True, "and 2 ledger outage(s) (2 failed attempt(s))", id="everything-at-once"),
    ],
)
def test_ingest_rides_through_a_restarting_broker_and_a_locked_ledger(
    broker: StubBroker,
    ledger: Ledger,
    faults: list[str],
    down_until: float,
    archive: int,
    record: int,
    exactly_once: bool,
    summary: str,
) -> None:
    clock = FakeClock()
    channel = RestartingBroker(broker.channel(name="ingest"), clock, faults, down_until)
    ingest = ingestor(channel, LockedLedger(ledger, clock, archive=archive, record=record), clock)
    docs = ingest.ingest(documents(ingest))

    ids = [d.message_id for d in docs]
    assert sorted(queued(broker)) == sorted(ids)  # each exactly once: only the unconfirmed went again
    assert [e.status for d in docs for e in ledger.journal(d.message_id)] == ["received"] * 3
    assert ledger.raw_payload(ids[0]) is not None
    assert summary in ingest.stats.summary()
    assert clock.now < 120


def test_messages_published_again_keep_their_ids_and_receipt_times(broker: StubBroker, ledger: Ledger) -> None:
    clock = FakeClock()
    channel = RestartingBroker(broker.channel(name="ingest"), clock, ["nack"])
    ingest = ingestor(channel, ledger, clock)
    ingest.ingest(documents(ingest))
    first, second = channel.attempts
    assert first == second
    stamps = [m.header(Headers.RECEIVED_AT) for m in broker.messages(NAMES.translate_queue)]
    assert len(set(stamps)) == 3


def test_an_outage_is_one_warning_and_one_all_clear(
    broker: StubBroker, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    ingest = ingestor(RestartingBroker(broker.channel(name="ingest"), clock, down_until=60.0), ledger, clock)
    with caplog.at_level(logging.DEBUG, logger="bridge.pipeline.deadline"):
        ingest.ingest(documents(ingest))
    levels = [r.levelno for r in caplog.records]
    assert levels.count(logging.WARNING) == 1
    assert levels.count(logging.INFO) == 1
    assert re.match(r"waited 6\d\.\d s for the broker to confirm 3 message\(s\)", caplog.records[-1].getMessage())


def test_a_channel_that_is_still_opening_is_no_outage(
    broker: StubBroker, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    ingest = ingestor(RestartingBroker(broker.channel(name="ingest"), clock, down_until=0.3), ledger, clock)
    with caplog.at_level(logging.WARNING):
        ingest.ingest(documents(ingest))
    assert caplog.records == []
    assert ingest.stats.summary() == ""
    assert len(queued(broker)) == 3


def test_a_real_sqlite_lock_longer_than_the_busy_timeout_is_ridden_through(broker: StubBroker, tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    with Ledger.connect(f"sqlite:///{path}", busy_timeout=0.1) as ledger:
        ingest = ingestor(broker.channel(name="ingest"), ledger, deadline=10.0)
        docs = documents(ingest)
        holder = hold_sqlite_write_lock(path, 0.6)
        started = time.monotonic()
        ingest.ingest(docs)
        holder.join()
    assert time.monotonic() - started >= 0.5
    assert ingest.stats.ledger_failures >= 2  # "database is locked" after each 0.1 s busy wait
    assert sorted(queued(broker)) == sorted(d.message_id for d in docs)


# -- giving up -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("down_until", "archive", "expected"),
    [
        pytest.param(
            float("inf"),
            0,
            "gave up after 12{} s waiting for the broker to confirm 3 message(s) "
            "(broker.ingest_deadline_s = 120 s): not connected to the broker",
            id="broker-never-comes-back",
        ),
        pytest.param(
            0.0,
            1000,
            "gave up after 1{} s waiting for the ledger to archive 3 raw payload(s) "
            "(broker.ingest_deadline_s = 120 s): ledger: archive raw payloads: database unavailable "
            "(database is locked)",
            id="ledger-stays-locked",
        ),
    ],
)
def test_a_fault_that_outlasts_the_deadline_fails_with_one_line_naming_the_wait(
    broker: StubBroker, ledger: Ledger, down_until: float, archive: int, expected: str
) -> None:
    clock = FakeClock()
    channel = RestartingBroker(broker.channel(name="ingest"), clock, down_until=down_until)
    ingest = ingestor(channel, LockedLedger(ledger, clock, archive=archive), clock)
    with pytest.raises(TransientError) as caught:
        ingest.ingest(documents(ingest))
    message = str(caught.value)
    head, tail = expected.split("{}")
    assert message.startswith(head)
    assert message.endswith(tail) or tail in message
    assert "\n" not in message
    assert "; retry" not in message
    assert 120 <= clock.now <= 120 + 30 + 2  # the deadline, plus at most one attempt's wait


def test_a_ledger_that_is_not_merely_busy_fails_at_once(broker: StubBroker) -> None:
    class WrongSchema:
        calls = 0

        def archive_raw(self, records: Any) -> None:
            self.calls += 1
            raise ConfigError("ledger: archive raw payloads: the database schema is wrong or missing")

    clock = FakeClock()
    wrong = WrongSchema()
    ingest = ingestor(broker.channel(name="ingest"), wrong, clock)
    with pytest.raises(ConfigError, match="schema"):
        ingest.ingest(documents(ingest))
    assert (wrong.calls, clock.now) == (1, 0.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    faults=st.lists(st.sampled_from(["closed", "nack", "silent"]), max_size=3),
    down_until=st.sampled_from([0.0, 5.0, 50.0, 500.0]),
    archive=st.integers(0, 3),
    record=st.integers(0, 3),
    deadline=st.sampled_from([0.0, 30.0, 120.0, 300.0]),
)
def test_ingest_either_confirms_every_document_or_fails_with_one_line_after_the_deadline(
    tmp_path_factory: pytest.TempPathFactory,
    faults: list[str],
    down_until: float,
    archive: int,
    record: int,
    deadline: float,
) -> None:
    stub = StubBroker()
    stub.declare(build_topology(NAMES, routes=[Route("mes", "mes", ("#",))], retry_tiers=(5, 30)))
    clock = FakeClock()
    with Ledger.connect(f"sqlite:///{tmp_path_factory.mktemp('l') / 'ledger.sqlite'}") as ledger:
        channel = RestartingBroker(stub.channel(name="ingest"), clock, faults, down_until)
        ingest = ingestor(channel, LockedLedger(ledger, clock, archive=archive, record=record, busy=5.0), clock, deadline)
        docs = documents(ingest)
        failure = ""
        try:
            ingest.ingest(docs)
        except TransientError as exc:
            failure = str(exc)
    if failure:
        assert clock.now >= deadline
        assert failure.startswith("gave up after ")
        assert f"= {deadline:g} s)" in failure
        assert "\n" not in failure
        # nothing is in the queue twice: ingesting again completes it
        assert len(set(queued(stub))) == len(queued(stub))
    else:
        assert sorted(queued(stub)) == sorted(d.message_id for d in docs)
        assert ingest.stats.documents == 3


# -- decoder bugs do not stop ingest ---------------------------------------------------------


class BrokenCodec:
    """A codec whose decoder has a bug: it raises something that is not a bridge error."""

    system = "sap"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def sniff(self, data: bytes) -> bool:
        return True

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[Any]:
        raise self.error


UNEXPECTED = [
    pytest.param(OverflowError("date value out of range"), id="issue-overflow-error"),
    pytest.param(ValueError("invalid literal for int() with base 10: '00000²'"), id="issue-superscript-digit"),
    pytest.param(IndexError("list index out of range"), id="index-error"),
    pytest.param(KeyError("E1AFKOL"), id="key-error"),
    pytest.param(RecursionError("maximum recursion depth exceeded"), id="recursion-error"),
    pytest.param(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), id="unicode-error"),
]


@pytest.mark.parametrize("error", UNEXPECTED)
def test_a_decoder_bug_is_logged_once_with_its_type_and_the_document_is_still_ingested(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bridge.pipeline.ingest"):
        document = identify(b"<IDOC/>", system="sap", origin="order.xml", codec=BrokenCodec(error), options={})
    assert document.document_type == "unknown"
    assert document.message_id.startswith("sap:file:")
    [record] = caplog.records
    assert type(error).__name__ in record.getMessage()
    assert "order.xml" in record.getMessage()
    assert record.exc_info is None  # one line, no traceback


def test_a_document_a_decoder_bug_met_is_dead_lettered_by_translate_with_the_reason(
    broker: StubBroker, ledger: Ledger
) -> None:
    codec = BrokenCodec(OverflowError("date value out of range"))
    ingest = Ingestor(NAMES, broker.channel(name="ingest"), ledger, codec_for=lambda _system: codec)
    ingest.ingest(ingest.prepare([(b"<IDOC/>", "order.xml")], "sap"))
    translate = worker(broker, ledger, codec_for=lambda _system: codec)
    translate.handle(translate.channel.get_batch(10, 0, block=0))
    [letter] = broker.messages(NAMES.dead_letter_queue(NAMES.translate_queue))
    assert letter.header(Headers.ERROR_MESSAGE) == "unexpected OverflowError: date value out of range"


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=200),
    error=st.sampled_from([OverflowError, ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, AttributeError]),
    text=st.text(max_size=40),
)
def test_no_decoder_exception_escapes_identify(data: bytes, error: type[Exception], text: str) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("bridge.pipeline.ingest")
    logger.addHandler(handler)
    try:
        document = identify(data, system="sap", origin="f", codec=BrokenCodec(error(text)), options={})
    finally:
        logger.removeHandler(handler)
    assert document.body == data
    assert document.document_type == "unknown"
    assert len(records) == 1
    assert error.__name__ in records[0].getMessage()


def worker(broker: StubBroker, ledger: Ledger, codec_for: Any = codec_for) -> Worker:
    channel = broker.channel(prefetch=100, name="translate")
    channel.consume(NAMES.translate_queue)
    stage = TranslateStage(NAMES, CATALOG, ledger, codec_for=codec_for)
    return Worker(stage, channel, RetryPolicy(NAMES, tiers=(5, 30), in_process_attempts=1, in_process_wait=0))


HOSTILE_FILES = sorted(p for p in HOSTILE.iterdir() if p.name != "README.md")


def test_the_hostile_corpus_has_a_readme_line_for_every_file() -> None:
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    assert HOSTILE_FILES
    for path in HOSTILE_FILES:
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=[p.name for p in HOSTILE_FILES])
def test_every_hostile_document_is_ingested_and_then_translated_or_dead_lettered(
    path: Path, broker: StubBroker, ledger: Ledger
) -> None:
    ingest = ingestor(broker.channel(name="ingest"), ledger)
    [document] = ingest.ingest(ingest.prepare([(path.read_bytes(), path.name)], "sap"))
    assert queued(broker) == [document.message_id]
    translate = worker(broker, ledger)
    translate.handle(translate.channel.get_batch(10, 0, block=0))
    letters = broker.messages(NAMES.dead_letter_queue(NAMES.translate_queue))
    translated = broker.published(NAMES.canonical_exchange)
    assert len(letters) + bool(translated) == 1, "translated or dead-lettered, exactly one of them"
    for letter in letters:
        reason = letter.header(Headers.ERROR_MESSAGE)
        assert reason
        assert "\n" not in reason
        assert "Traceback" not in reason
