"""The SAP file port: files taken atomically into processing/, ingested, moved to processed/ or
error/ (with the reason beside them); duplicates and a crash midway publish nothing twice, a
transient failure leaves the file for the next look, a young file is left alone."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from adapters.sap.codec import SapCodec
from adapters.sap.file_port import FilePort
from adapters.sap.settings import SapSourceSettings
from adapters.sap.source import sources
from bridge.adapter.source import SourceContext
from bridge.broker.connector import StubConnector
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.limits import MAX_BYTES_ENV
from bridge.pipeline.ingest import identify
from bridge.runtime import Runtime, names_for

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
LOIPRO = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
BATMAS = (CASES / "BATMAS03_example.xml").read_bytes()
MATMAS_FLAT = (CASES / "MATMAS05_3PL_material_master.idoc").read_bytes()
CODEC = SapCodec()


def message_id(data: bytes) -> str:
    return identify(data, system="sap", origin="test", codec=CODEC, options={}).message_id


class FakeLedger:
    """The ingest path and the ledger's journal, as the file port sees them."""

    def __init__(self) -> None:
        self.ingested: set[str] = set()
        self.calls: list[list[tuple[bytes, str]]] = []
        self.errors: list[Exception] = []
        self.asked: list[list[str]] = []

    def ingest(self, items):
        items = list(items)
        if self.errors:
            raise self.errors.pop(0)
        self.calls.append(items)
        raw = [identify(data, system="sap", origin=origin, codec=CODEC, options={}) for data, origin in items]
        self.ingested.update(r.message_id for r in raw)
        return raw

    def already_ingested(self, message_ids):
        self.asked.append(list(message_ids))
        return {m for m in message_ids if m in self.ingested}

    @property
    def bodies(self) -> list[bytes]:
        return [data for call in self.calls for data, _ in call]


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


def port_for(
    directory: Path, ledger: FakeLedger, *, clock=time.time, sap: dict | None = None, **file_port: object
) -> FilePort:
    settings = SapSourceSettings.model_validate(
        {"file_port": {"directory": str(directory), **file_port}, **(sap or {})}
    )
    context = SourceContext(
        system="sap",
        settings=settings,
        ingest=ledger.ingest,
        codec=CODEC,
        already_ingested=ledger.already_ingested,
    )
    port = FilePort(context, settings, clock=clock)
    port.prepare()
    return port


def drop(folder: Path, name: str, data: bytes, *, age_s: float = 60) -> Path:
    """A file as SAP's port leaves it: written, then not touched for ``age_s`` seconds."""
    path = folder / name
    path.write_bytes(data)
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_a_good_file_is_ingested_once_and_moved_to_processed(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "order.xml", LOIPRO)
    port.poll_once()
    [[(data, origin)]] = ledger.calls
    assert data == LOIPRO
    assert origin == str(tmp_path / "order.xml")
    assert names(tmp_path / "processed") == ["order.xml"]
    assert (tmp_path / "processed" / "order.xml").read_bytes() == LOIPRO
    assert names(tmp_path) == names(tmp_path / "processing") == names(tmp_path / "error") == []
    port.poll_once()  # nothing left: nothing more
    assert len(ledger.calls) == 1


def test_files_are_taken_in_name_order_flat_and_xml(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "b.idoc", MATMAS_FLAT)
    drop(tmp_path, "a.xml", LOIPRO)
    drop(tmp_path, "c.xml", BATMAS)
    port.poll_once()
    assert ledger.bodies == [LOIPRO, MATMAS_FLAT, BATMAS]
    assert names(tmp_path / "processed") == ["a.xml", "b.idoc", "c.xml"]


def test_a_duplicate_file_is_not_published_again_and_goes_to_processed(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "first.xml", LOIPRO)
    drop(tmp_path, "again.xml", LOIPRO)
    port.poll_once()
    assert ledger.bodies == [LOIPRO]  # "again.xml" is taken first (name order) and published
    assert names(tmp_path / "processed") == ["again.xml", "first.xml"]
    assert message_id(LOIPRO) in ledger.asked[-1]  # asked with the ingest path's own id


def test_a_file_that_does_not_decode_is_ingested_and_moved_to_error_with_its_reason(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    corrupt = LOIPRO.replace(b"</EDI_DC40>", b"")
    drop(tmp_path, "broken.xml", corrupt)
    drop(tmp_path, "good.xml", LOIPRO)
    port.poll_once()
    assert ledger.bodies == [corrupt, LOIPRO]  # nothing is lost: translate dead-letters it
    assert names(tmp_path / "error") == ["broken.xml", "broken.xml.reason.txt"]
    reason = (tmp_path / "error" / "broken.xml.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith(f"ingested as {message_id(corrupt)} for the dead-letter queue: ")
    assert "not well-formed XML" in reason
    assert names(tmp_path / "processed") == ["good.xml"]


def test_a_file_too_large_is_not_ingested_and_goes_to_error(tmp_path, ledger, monkeypatch):
    monkeypatch.setenv(MAX_BYTES_ENV, "1000")
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "huge.xml", LOIPRO)
    port.poll_once()
    assert ledger.calls == []
    assert names(tmp_path / "error") == ["huge.xml", "huge.xml.reason.txt"]
    assert "larger than the limit of 1000 bytes" in (tmp_path / "error" / "huge.xml.reason.txt").read_text()
    assert (tmp_path / "error" / "huge.xml").read_bytes() == LOIPRO  # kept as it came


def test_a_file_from_another_logical_system_is_not_ingested(tmp_path, ledger):
    port = port_for(tmp_path, ledger, sap={"logical_system": "ERPCLNT200"})
    drop(tmp_path, "order.xml", LOIPRO)
    port.poll_once()
    assert ledger.calls == []
    reason = (tmp_path / "error" / "order.xml.reason.txt").read_text()
    assert "refused, not ingested" in reason
    assert "logical system S4HCLNT100, this source is ERPCLNT200" in reason


def test_a_file_still_being_written_is_left_alone(tmp_path, ledger):
    now = [time.time()]
    port = port_for(tmp_path, ledger, clock=lambda: now[0], min_age_s=30)
    drop(tmp_path, "order.xml", LOIPRO, age_s=0)
    port.poll_once()
    assert names(tmp_path) == ["order.xml"]
    assert ledger.calls == []
    now[0] += 31  # not modified since: finished
    port.poll_once()
    assert names(tmp_path / "processed") == ["order.xml"]
    assert ledger.bodies == [LOIPRO]


def test_only_regular_files_matching_the_pattern_are_taken(tmp_path, ledger):
    port = port_for(tmp_path, ledger, pattern="*.xml")
    drop(tmp_path, "order.xml", LOIPRO)
    drop(tmp_path, "notes.txt", b"not for the bridge")
    drop(tmp_path, ".order2.xml", LOIPRO)  # a writer's temporary name
    (tmp_path / "sub.xml").mkdir()
    (tmp_path / "link.xml").symlink_to(tmp_path / "notes.txt")
    port.poll_once()
    assert ledger.bodies == [LOIPRO]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".order2.xml",
        "error",
        "link.xml",
        "notes.txt",
        "processed",
        "processing",
        "sub.xml",
    ]


def test_a_file_removed_after_the_listing_is_skipped(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "a-gone.xml", LOIPRO)
    drop(tmp_path, "b-here.xml", BATMAS)
    listed = port._regular_files(tmp_path)

    def listing_then_removal(folder: Path) -> list[Path]:
        if folder == tmp_path:
            (tmp_path / "a-gone.xml").unlink()  # another reader took it meanwhile
            return listed
        return []

    port._regular_files = listing_then_removal  # type: ignore[method-assign]
    port.poll_once()
    assert ledger.bodies == [BATMAS]
    assert names(tmp_path / "processed") == ["b-here.xml"]


def test_a_name_taken_in_processed_gets_a_number_and_nothing_is_overwritten(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    (tmp_path / "processed" / "order.xml").write_bytes(b"yesterday's")
    (tmp_path / "processed" / "order.1.xml").write_bytes(b"the day before")
    drop(tmp_path, "order.xml", LOIPRO)
    port.poll_once()
    assert names(tmp_path / "processed") == ["order.1.xml", "order.2.xml", "order.xml"]
    assert (tmp_path / "processed" / "order.xml").read_bytes() == b"yesterday's"
    assert (tmp_path / "processed" / "order.2.xml").read_bytes() == LOIPRO


def test_a_name_taken_in_error_keeps_each_reason_beside_its_file(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "IDOC", b"first garbage")
    port.poll_once()
    drop(tmp_path, "IDOC", b"second garbage")
    port.poll_once()
    assert names(tmp_path / "error") == ["IDOC", "IDOC.1", "IDOC.1.reason.txt", "IDOC.reason.txt"]
    assert (tmp_path / "error" / "IDOC.1").read_bytes() == b"second garbage"
    assert message_id(b"second garbage") in (tmp_path / "error" / "IDOC.1.reason.txt").read_text()


def test_a_transient_ingest_failure_leaves_the_file_in_processing_for_the_next_look(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "a.xml", LOIPRO)
    drop(tmp_path, "b.xml", BATMAS)
    ledger.errors.append(TransientError("the broker did not confirm 1 message(s) within 120 s"))
    port.poll_once()
    assert ledger.calls == []
    assert names(tmp_path / "processing") == ["a.xml"]
    assert names(tmp_path) == ["b.xml"]  # not taken while the broker is away
    port.poll_once()
    assert ledger.bodies == [LOIPRO, BATMAS]
    assert names(tmp_path / "processed") == ["a.xml", "b.xml"]
    assert names(tmp_path / "processing") == []


def test_a_ledger_that_refuses_leaves_the_file_in_processing_too(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "a.xml", LOIPRO)
    ledger.errors.append(PermanentError("the ledger schema is version 3, this bridge needs 4"))
    port.poll_once()
    assert names(tmp_path / "processing") == ["a.xml"]
    assert names(tmp_path / "error") == []


# -- crash recovery --------------------------------------------------------------------------


def test_after_a_crash_a_file_already_published_goes_to_processed_without_publishing(tmp_path, ledger):
    ledger.ingested.add(message_id(LOIPRO))  # published, then the bridge died before the move
    (tmp_path / "processing").mkdir()
    (tmp_path / "processing" / "order.xml").write_bytes(LOIPRO)
    port = port_for(tmp_path, ledger)
    port.poll_once()
    assert ledger.calls == []
    assert ledger.asked == [[message_id(LOIPRO)]]
    assert names(tmp_path / "processed") == ["order.xml"]
    assert names(tmp_path / "processing") == []


def test_after_a_crash_a_file_not_yet_published_is_ingested_first(tmp_path, ledger):
    (tmp_path / "processing").mkdir()
    (tmp_path / "processing" / "z-stuck.xml").write_bytes(BATMAS)
    drop(tmp_path, "a-new.xml", LOIPRO)
    port = port_for(tmp_path, ledger)
    port.poll_once()
    assert ledger.bodies == [BATMAS, LOIPRO]  # what processing/ held, before the new ones
    assert names(tmp_path / "processed") == ["a-new.xml", "z-stuck.xml"]


def test_a_new_file_named_like_one_still_in_processing_waits_its_turn(tmp_path, ledger):
    port = port_for(tmp_path, ledger)
    drop(tmp_path, "order.xml", LOIPRO)
    ledger.errors.append(TransientError("broker away"))
    port.poll_once()
    drop(tmp_path, "order.xml", BATMAS)  # SAP wrote the same name again
    ledger.errors.append(TransientError("broker away"))
    port.poll_once()
    assert (tmp_path / "processing" / "order.xml").read_bytes() == LOIPRO  # not overwritten
    assert (tmp_path / "order.xml").read_bytes() == BATMAS
    port.poll_once()
    assert ledger.bodies == [LOIPRO, BATMAS]
    assert names(tmp_path / "processed") == ["order.1.xml", "order.xml"]


# -- the watcher thread and the adapter's sources --------------------------------------------


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_watcher_takes_files_until_stopped(tmp_path, ledger):
    settings = SapSourceSettings.model_validate({"file_port": {"directory": str(tmp_path), "poll_s": 0.05}})
    context = SourceContext(
        system="sap",
        settings=settings,
        ingest=ledger.ingest,
        codec=CODEC,
        already_ingested=ledger.already_ingested,
    )
    [port] = sources(context)
    assert isinstance(port, FilePort)
    assert port.routes == ()
    port.start()
    try:
        drop(tmp_path, "order.xml", LOIPRO)
        assert wait_for(lambda: names(tmp_path / "processed") == ["order.xml"])
        drop(tmp_path, "batch.xml", BATMAS)
        assert wait_for(lambda: len(names(tmp_path / "processed")) == 2)
    finally:
        port.stop()
    assert not any(t.name.startswith("file-port-") for t in threading.enumerate())
    drop(tmp_path, "late.xml", LOIPRO)  # no watcher thread is left to take it
    assert names(tmp_path) == ["late.xml"]
    assert ledger.bodies == [LOIPRO, BATMAS]


def test_the_watcher_survives_a_look_that_fails(tmp_path, ledger):
    port = port_for(tmp_path, ledger, poll_s=0.05)
    looks = threading.Semaphore(0)
    original = port.poll_once

    def failing_once() -> None:
        looks.release()
        if not hasattr(failing_once, "failed"):
            failing_once.failed = True  # type: ignore[attr-defined]
            raise OSError("the share went away")
        original()

    port.poll_once = failing_once  # type: ignore[method-assign]
    drop(tmp_path, "order.xml", LOIPRO)
    port.start()
    try:
        assert wait_for(lambda: names(tmp_path / "processed") == ["order.xml"])
    finally:
        port.stop()


def test_a_missing_directory_is_a_config_error_at_start(tmp_path, ledger):
    settings = SapSourceSettings.model_validate({"file_port": {"directory": str(tmp_path / "nope")}})
    [port] = sources(SourceContext(system="sap", settings=settings, ingest=ledger.ingest))
    with pytest.raises(ConfigError, match=r"file_port.directory: .*nope is not an existing folder"):
        port.start()


def test_a_disabled_file_port_is_not_built(tmp_path, ledger):
    settings = SapSourceSettings.model_validate({"file_port": {"directory": str(tmp_path), "enabled": False}})
    assert sources(SourceContext(system="sap", settings=settings, ingest=ledger.ingest)) == []


# -- through the runtime as `bridge run` builds it -------------------------------------------


def test_the_running_bridge_publishes_each_good_file_once_and_keeps_the_corrupt_one(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    drop(spool, "1-order.xml", LOIPRO)
    drop(spool, "2-same-order.xml", LOIPRO)
    drop(spool, "3-corrupt.xml", b"<LOIPRO05><IDOC BEGIN='1'>")
    drop(spool, "4-batch.xml", BATMAS)
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        f"sources:\n  sap:\n    file_port: {{directory: '{spool}', poll_s: 0.05, min_age_s: 0}}\n"
    )
    settings = load_settings(config, env={})
    broker = StubBroker()
    runtime = Runtime(settings, broker=StubConnector(broker))
    runtime.start(serve_http=False)
    try:
        assert wait_for(lambda: len(names(spool / "processed")) == 3 and len(names(spool / "error")) == 2)
        raw = broker.published(names_for(settings).inbound_exchange)
        assert sorted(m.body for m in raw) == sorted([LOIPRO, b"<LOIPRO05><IDOC BEGIN='1'>", BATMAS])
        assert names(spool / "processed") == ["1-order.xml", "2-same-order.xml", "4-batch.xml"]
        assert names(spool / "error") == ["3-corrupt.xml", "3-corrupt.xml.reason.txt"]
        assert runtime.ledger_ingested([message_id(LOIPRO), message_id(BATMAS)]) == {
            message_id(LOIPRO),
            message_id(BATMAS),
        }
    finally:
        runtime.stop()


def test_a_bridge_restarted_after_a_crash_finishes_processing_without_publishing_twice(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        f"sources:\n  sap:\n    file_port: {{directory: '{spool}', poll_s: 0.05, min_age_s: 0}}\n"
    )
    settings = load_settings(config, env={})
    inbound = names_for(settings).inbound_exchange

    def run_until(done) -> StubBroker:
        broker = StubBroker()
        runtime = Runtime(settings, broker=StubConnector(broker))
        runtime.start(serve_http=False)
        try:
            assert wait_for(done)
        finally:
            runtime.stop()
        return broker

    drop(spool, "order.xml", LOIPRO)
    first = run_until(lambda: names(spool / "processed") == ["order.xml"])
    assert [m.body for m in first.published(inbound)] == [LOIPRO]
    # the crash: published and journaled, but killed before the move to processed/
    os.rename(spool / "processed" / "order.xml", spool / "processing" / "order.xml")
    (spool / "processing" / "batch.xml").write_bytes(BATMAS)  # taken, killed before publishing
    second = run_until(lambda: names(spool / "processing") == [])
    assert [m.body for m in second.published(inbound)] == [BATMAS]
    assert names(spool / "processed") == ["batch.xml", "order.xml"]
