"""The pipeline's workers on the in-memory stub broker: routing, retries, dead letters, dedupe."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from adapters.mes.sink import MesSink
from bridge.broker import Headers, Names, build_topology
from bridge.broker.stub import StubBroker
from bridge.codecs import codec_for
from bridge.errors import TransientError
from bridge.ledger import Ledger
from bridge.mapping import MappingCatalog
from bridge.pipeline import DeliverStage, Ingestor, RetryPolicy, TranslateStage, Worker
from bridge.pipeline.direct import DirectDelivery, DirectRoute

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
CATALOG = MappingCatalog.load(MAPPINGS)


@dataclass
class Route:
    name: str
    sink: str
    events: tuple[str, ...]


class FlakySink:
    """A sink that fails a given number of times, then records what it got."""

    stateful = False

    def __init__(self, failures: int = 0) -> None:
        self.name = "flaky"
        self.failures = failures
        self.written: list[str] = []

    def write(self, items):
        if self.failures:
            self.failures -= 1
            raise TransientError("MES endpoint answered 503")
        self.written.extend(item.message_id for item in items)

    def close(self) -> None:
        pass


class Bridge:
    """Ingest, translate and deliver wired to a stub broker, stepped by hand."""

    def __init__(self, tmp_path, sink=None, tiers=(5, 30), in_process_attempts=1, direct_events=None) -> None:
        self.names = Names(prefix="t", mes_exchange="t.mes")
        self.broker = StubBroker()
        events = direct_events or ("#",)
        self.broker.declare(
            build_topology(self.names, routes=[Route("mes", "mes", events)], retry_tiers=tiers)
        )
        self.broker.bind("t.mes.tap", "t.mes", "#")  # the MES side's queue
        self.ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        self.policy = RetryPolicy(
            self.names, tiers=tiers, in_process_attempts=in_process_attempts, in_process_wait=0
        )
        self.ingestor = Ingestor(
            self.names, self.broker.channel(name="ingest"), self.ledger, codec_for=codec_for
        )
        deliver_channel = self.broker.channel(prefetch=100, name="deliver")
        deliver_channel.consume(self.names.deliver_queue("mes"))
        self.sink = sink or MesSink("mes", self.broker.channel(name="sink"), self.names.mes_exchange)
        self.deliver = Worker(
            DeliverStage("mes", self.names.deliver_queue("mes"), self.sink, self.ledger),
            deliver_channel,
            self.policy,
        )
        # direct_events: translate hands events to the deliver stage in-process (bridge run)
        direct = DirectDelivery([DirectRoute(events, self.deliver.stage)]) if direct_events else None
        translate_channel = self.broker.channel(prefetch=100, name="translate")
        translate_channel.consume(self.names.translate_queue)
        self.translate = Worker(
            TranslateStage(self.names, CATALOG, self.ledger, codec_for=codec_for, direct=direct),
            translate_channel,
            self.policy,
        )

    def ingest(self, *names: str) -> list[str]:
        documents = self.ingestor.prepare([((CASES / n).read_bytes(), n) for n in names], "sap")
        return [d.message_id for d in self.ingestor.ingest(documents)]

    def step(self, worker: Worker) -> int:
        batch = worker.channel.get_batch(100, 0, block=0)
        if batch:
            worker.handle(batch)
        return len(batch)

    def drain(self) -> None:
        while self.step(self.translate) + self.step(self.deliver):
            pass


@pytest.fixture
def bridge(tmp_path):
    b = Bridge(tmp_path)
    yield b
    b.ledger.close()


def test_an_idoc_goes_from_ingest_to_the_mes_exchange(bridge):
    [raw_id] = bridge.ingest("LOIPRO05_S4HANA_Original.xml")
    bridge.drain()
    [event] = bridge.broker.published("t.mes")
    assert raw_id.startswith("sap:S4HCLNT100:0000000000430094:")
    assert len(raw_id.rsplit(":", 1)[1]) == 12  # content hash
    assert event.routing_key == "order.released"
    assert event.message_id == "sap:S4HCLNT100:0000000000430094:order"
    assert json.loads(event.body)["payload"]["order_id"] == "1895938"
    assert bridge.broker.depth("t.translate") == 0
    assert bridge.broker.unacked("t.translate") == 0
    assert [e.status for e in bridge.ledger.journal(raw_id)] == ["received", "translated"]


def test_a_mapping_error_is_dead_lettered_at_once_with_its_story(bridge):
    bridge.ingest("LOIPRO05_bad_quantity.xml")
    bridge.drain()
    [letter] = bridge.broker.messages("t.translate.dlq")
    assert letter.header(Headers.ERROR_CLASS) == "MappingError"
    assert letter.header(Headers.STAGE) == "translate"
    assert letter.header(Headers.FIELD) == "quantity.value"
    assert letter.header(Headers.MAPPING).startswith("sap.loipro.order")
    assert letter.header(Headers.ATTEMPTS) == 1
    assert letter.header(Headers.ORIGINAL_EXCHANGE) == "t.inbound"
    assert letter.header(Headers.ORIGINAL_ROUTING_KEY) == "sap.LOIPRO05"
    assert bridge.broker.published("t.mes") == []
    assert bridge.broker.depth("t.translate.retry.5s") == 0


def test_a_transient_sink_failure_waits_in_a_retry_queue_and_then_succeeds(tmp_path):
    sink = FlakySink(failures=1)
    b = Bridge(tmp_path, sink=sink)
    b.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    b.drain()
    [waiting] = b.broker.messages("t.deliver.mes.retry.5s")
    assert waiting.header(Headers.ATTEMPTS) == 1
    assert waiting.header(Headers.ERROR_CLASS) == "TransientError"
    assert sink.written == []
    b.broker.advance(5)
    b.drain()
    assert len(sink.written) == 1
    assert b.broker.depth("t.deliver.mes.dlq") == 0


def test_in_process_retries_absorb_a_short_failure(tmp_path):
    sink = FlakySink(failures=2)
    b = Bridge(tmp_path, sink=sink, in_process_attempts=3)
    b.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    b.drain()
    assert len(sink.written) == 1
    assert b.broker.depth("t.deliver.mes.retry.5s") == 0


def test_retries_run_out_through_growing_tiers_into_the_dead_letter_queue(tmp_path):
    sink = FlakySink(failures=100)
    b = Bridge(tmp_path, sink=sink, tiers=(5, 30))
    b.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    b.drain()
    assert b.broker.depth("t.deliver.mes.retry.5s") == 1
    b.broker.advance(5)
    b.drain()
    assert b.broker.depth("t.deliver.mes.retry.30s") == 1
    b.broker.advance(30)
    b.drain()
    [letter] = b.broker.messages("t.deliver.mes.dlq")
    assert "retries exhausted after 2 delayed attempt(s)" in letter.header(Headers.ERROR_MESSAGE)
    assert letter.header(Headers.ORIGINAL_EXCHANGE) == "t.canonical"
    assert letter.header(Headers.ORIGINAL_ROUTING_KEY) == "material.upserted"
    assert letter.header(Headers.ATTEMPTS) == 3


def test_a_failed_publish_returns_the_batch_to_its_queue_and_nothing_is_lost(bridge):
    bridge.ingest("LOIPRO05_S4HANA_Original.xml")
    bridge.broker.fail_next_publish("connection lost")
    assert bridge.step(bridge.translate) == 1
    assert bridge.broker.published("t.canonical") == []
    [again] = bridge.broker.messages("t.translate")
    assert again.redelivered
    bridge.drain()
    assert len(bridge.broker.published("t.mes")) == 1


def test_a_re_ingested_document_gives_one_event_and_one_write(bridge):
    bridge.ingest("LOIPRO05_S4HANA_Original.xml")
    bridge.drain()
    bridge.ingest("LOIPRO05_S4HANA_Original.xml")
    bridge.drain()
    assert len(bridge.broker.published("t.canonical")) == 1
    assert len(bridge.broker.published("t.mes")) == 1


def test_an_older_version_of_the_same_order_is_stale_and_not_delivered(bridge, tmp_path):
    newer = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    older = newer.replace(b"<DOCNUM>0000000000430094</DOCNUM>", b"<DOCNUM>0000000000430001</DOCNUM>").replace(
        b"<SERIAL>20231128083400705437</SERIAL>", b"<SERIAL>20231101000000000000</SERIAL>"
    )
    bridge.ingestor.ingest(bridge.ingestor.prepare([(newer, "new.xml")], "sap"))
    bridge.drain()
    bridge.ingestor.ingest(bridge.ingestor.prepare([(older, "old.xml")], "sap"))
    bridge.drain()
    assert [m.message_id for m in bridge.broker.published("t.mes")] == [
        "sap:S4HCLNT100:0000000000430094:order"
    ]
    statuses = [e.status for e in bridge.ledger.journal("sap:S4HCLNT100:0000000000430001:order")]
    assert statuses == ["stale"]


def test_a_bug_in_a_stage_requeues_the_batch_until_the_delivery_limit_dead_letters_it(bridge, monkeypatch):
    bridge.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    bridge.step(bridge.translate)
    calls = []

    def broken(batch):
        calls.append(len(batch))
        raise RuntimeError("a bug")

    monkeypatch.setattr(bridge.deliver.stage, "process", broken)
    bridge.deliver.stopping.set()  # run() returns once nothing is left in hand
    bridge.deliver.run()
    # the worker survived every failure; the event went back to its queue each time until the
    # queue's delivery limit (10) moved it to the dead-letter queue: nothing lost, no endless loop
    assert len(calls) == 11
    [letter] = bridge.broker.messages("t.deliver.mes.dlq")
    assert letter.headers["x-first-death-reason"] == "delivery_limit"
    assert bridge.broker.depth("t.deliver.mes") == 0


def test_an_unexpected_error_on_one_document_dead_letters_it_with_the_details(bridge, monkeypatch):
    from bridge.mapping.mapping import CompiledMapping

    def explode(self, document, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(CompiledMapping, "apply_models", explode)
    bridge.ingest("LOIPRO05_S4HANA_Original.xml")
    bridge.step(bridge.translate)
    [letter] = bridge.broker.messages("t.translate.dlq")
    assert letter.header(Headers.ERROR_CLASS) == "PermanentError"
    assert letter.header(Headers.ERROR_MESSAGE) == "unexpected ZeroDivisionError: division by zero"


def test_a_document_without_number_or_date_gets_the_same_version_at_every_translation(bridge):
    bridge.ingest("MATMAS05_DMC_S1SP02677_finished.xml")  # no DOCNUM, no CREDAT
    [delivery] = bridge.translate.channel.get_batch(10, 0, block=0)
    first = bridge.translate.stage.process([delivery])[0].outputs[0]
    again = bridge.translate.stage.process([delivery])[0].outputs[0]
    received = delivery.header(Headers.RECEIVED_AT)
    assert first.headers[Headers.VERSION] == again.headers[Headers.VERSION]
    assert json.loads(first.body)["occurred_at"] == received


def test_ingest_stamps_every_document_with_a_distinct_receipt_time(bridge):
    bridge.ingest(*["MATMAS05_DMC_S1SP02677_finished.xml", "LOIPRO05_S4HANA_Original.xml"] * 3)
    stamps = [m.header(Headers.RECEIVED_AT) for m in bridge.broker.messages("t.translate")]
    assert len(stamps) == 6
    assert stamps == sorted(set(stamps))


def test_decoder_warnings_are_logged_by_the_translate_stage_with_the_message(bridge, caplog):
    data = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    at = data.index(b"<IDOC") + data[data.index(b"<IDOC") :].index(b">") + 1
    loose = data[:at] + b"<LOOSE>5</LOOSE>" + data[at:]
    [document] = bridge.ingestor.ingest(bridge.ingestor.prepare([(loose, "loose.xml")], "sap"))
    with caplog.at_level("WARNING", logger="bridge.pipeline.translate"):
        bridge.drain()
    [record] = [r for r in caplog.records if "LOOSE" in r.getMessage()]
    assert record.getMessage().startswith("loose.xml DOCNUM 0000000000430094: line ")
    assert "<LOOSE> directly under <IDOC> is a field outside any segment: ignored" in record.getMessage()
    assert bridge.broker.published("t.mes")  # the document itself went through
    assert document.message_id


def test_a_document_number_too_long_for_amqp_is_dead_lettered_not_published(bridge):
    data = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    long_number = b"4" * 300
    data = data.replace(b"<DOCNUM>0000000000430094</DOCNUM>", b"<DOCNUM>" + long_number + b"</DOCNUM>")
    assert long_number in data
    [document] = bridge.ingestor.ingest(bridge.ingestor.prepare([(data, "long.xml")], "sap"))
    assert len(document.message_id.encode()) <= 255
    bridge.drain()
    [letter] = bridge.broker.messages("t.translate.dlq")
    assert letter.header(Headers.ERROR_CLASS) == "ValidationError"
    message = letter.header(Headers.ERROR_MESSAGE)
    assert "message_id (" in message
    assert "exceeds AMQP's 255 bytes" in message
    assert "\n" not in message
    assert bridge.broker.published("t.mes") == []


def test_an_adapters_decode_error_is_dead_lettered_under_the_bridges_class_name(bridge):
    [document] = bridge.ingestor.ingest(
        bridge.ingestor.prepare([(b"<LOIPRO05><IDOC><E1AFKOL SEGMENT='1'>x<AUFNR>1</AUFNR></E1AFKOL></IDOC></LOIPRO05>", "mixed.xml")], "sap")
    )
    bridge.drain()
    [letter] = bridge.broker.messages("t.translate.dlq")
    assert letter.header(Headers.ERROR_CLASS) == "DecodeError"  # the adapter raised its IDocError
    assert "element <E1AFKOL> at line 1 mixes text" in letter.header(Headers.ERROR_MESSAGE)
    assert document.message_id.startswith("sap:file:")
