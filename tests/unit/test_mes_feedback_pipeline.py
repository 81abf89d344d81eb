"""MES feedback through the pipeline on the stub broker and a real SQLite ledger: the feedback
queue -> intake (ingest, ack after the broker confirmed) -> translate (canonical pass-through,
or the work-report mapping) -> the canonical exchange; invalid feedback -> dead letters naming
every invalid field; nothing dropped."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import pytest

from bridge.broker import Headers, Names, build_topology
from bridge.broker.messages import OutMessage
from bridge.broker.stub import StubBroker
from bridge.codecs import codec_for
from bridge.errors import PermanentError, TransientError
from bridge.ledger import Ledger
from bridge.mapping import MappingCatalog
from bridge.pipeline import Ingestor, RetryPolicy, TranslateStage, Worker
from bridge.pipeline.intake import IntakeStage, ingest_with, origin_of

from ..conftest import DATA, MAPPINGS

MES = DATA / "mes"
CATALOG = MappingCatalog.load(MAPPINGS)
NAMES = Names(prefix="t", mes_exchange="t.mes", feedback_exchange="t.feedback.in")


@dataclass
class Route:
    name: str
    sink: str
    events: tuple[str, ...]


class Bridge:
    """Intake and translate wired to a stub broker, stepped by hand."""

    def __init__(self, tmp_path, *, deadline: float = 120.0) -> None:
        self.broker = StubBroker()
        self.broker.declare(
            build_topology(NAMES, routes=[Route("erp", "file", ("report.*", "lot.*"))], retry_tiers=(5, 30))
        )
        self.ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        self.policy = RetryPolicy(NAMES, tiers=(5, 30), in_process_attempts=1, in_process_wait=0)
        self.ingestor = Ingestor(
            NAMES, self.broker.channel(name="ingest"), self.ledger, codec_for=codec_for, deadline=deadline
        )
        self.ingested: list[list[tuple[bytes, str]]] = []
        self.failures: list[Exception] = []
        ingest = ingest_with(self.ingestor)

        def recording(items, system):
            self.ingested.append(list(items))
            if self.failures:
                raise self.failures.pop(0)
            return ingest(items, system)

        self.intake = self._worker(IntakeStage(NAMES.feedback_queue, recording, system="mes"))
        self.translate = self._worker(TranslateStage(NAMES, CATALOG, self.ledger, codec_for=codec_for))
        self.mes = self.broker.channel(name="mes")

    def _worker(self, stage) -> Worker:
        channel = self.broker.channel(prefetch=100, name=stage.name)
        channel.consume(stage.queue)
        return Worker(stage, channel, self.policy)

    def publish(self, body: bytes, routing_key: str = "report.created", message_id: str = "mes-1") -> None:
        """What the MES does: publish on its feedback exchange."""
        self.mes.publish(
            [OutMessage(NAMES.feedback_exchange, routing_key, body, message_id, routing_key, content_type="application/json")]
        )

    def step(self, worker: Worker) -> int:
        batch = worker.channel.get_batch(100, 0, block=0)
        if batch:
            worker.handle(batch)
        return len(batch)

    def drain(self) -> None:
        while self.step(self.intake) + self.step(self.translate):
            pass

    def events(self) -> list[OutMessage]:
        return self.broker.published(NAMES.canonical_exchange)

    def dead_letters(self, queue: str = NAMES.translate_queue):
        return self.broker.messages(NAMES.dead_letter_queue(queue))


@pytest.fixture
def bridge(tmp_path):
    b = Bridge(tmp_path)
    yield b
    b.ledger.close()


def test_a_report_envelope_passes_through_unchanged(bridge: Bridge):
    body = (MES / "report_created.json").read_bytes()
    bridge.publish(body)
    bridge.drain()
    [event] = bridge.events()
    assert event.routing_key == "report.created"
    assert event.message_id == "mes:MES-PLANT1:WR-20240115-0042:report"
    assert json.loads(event.body) == json.loads(body)
    assert event.headers[Headers.SOURCE_SYSTEM] == "mes"
    assert event.headers[Headers.BUSINESS_KEY]
    # the feedback queue is empty and nothing is left unacked: acked after ingest returned
    assert bridge.broker.depth(NAMES.feedback_queue) == 0
    assert bridge.broker.unacked(NAMES.feedback_queue) == 0


def test_a_lot_envelope_passes_through_too(bridge: Bridge):
    bridge.publish((MES / "lot_status_changed.json").read_bytes(), "lot.status_changed")
    bridge.drain()
    [event] = bridge.events()
    assert event.routing_key == "lot.status_changed"
    assert json.loads(event.body)["payload"]["parents"][0]["lot_id"] == "B-4711"


def test_the_raw_message_is_archived_and_journaled_before_the_ack(bridge: Bridge):
    body = (MES / "report_created.json").read_bytes()
    bridge.publish(body, message_id="amqp-77")
    assert bridge.step(bridge.intake) == 1
    [raw] = bridge.broker.messages(NAMES.translate_queue)
    assert raw.message_id.startswith("mes:MES-PLANT1:mes:MES-PLANT1:WR-20240115-0042:report:")
    assert raw.header(Headers.DOCUMENT_TYPE) == "canonical.report"
    assert raw.header(Headers.ORIGIN) == "amqp t.feedback.in report.created amqp-77"
    archived = bridge.ledger.raw_payload(raw.message_id)
    assert archived is not None
    assert archived.payload == body
    assert [e.status for e in bridge.ledger.journal(raw.message_id)] == ["received"]
    assert bridge.broker.depth(NAMES.feedback_queue) == 0


def test_a_work_report_is_mapped_to_a_canonical_report(bridge: Bridge):
    bridge.publish((MAPPINGS / "mes" / "cases" / "work_report_final.json").read_bytes())
    bridge.drain()
    [event] = bridge.events()
    envelope = json.loads(event.body)
    assert event.routing_key == "report.created"
    assert envelope["source"]["document_type"] == "work-report"
    assert envelope["payload"]["personnel_id"] == "E1024"
    assert envelope["payload"]["work_center"] == "CNC-07"
    assert [m["lot_id"] for m in envelope["payload"]["consumed"][:2]] == ["B-4711", "B-4712"]


def test_an_invalid_envelope_is_dead_lettered_with_each_invalid_field_named(bridge: Bridge):
    bridge.publish((MES / "report_invalid.json").read_bytes())
    bridge.drain()
    assert bridge.events() == []
    [dead] = bridge.dead_letters()
    assert dead.header(Headers.ERROR_CLASS) == "ValidationError"
    error = dead.header(Headers.ERROR_MESSAGE)
    assert "not a valid canonical report: " in error
    assert "payload.order_id: required" in error
    assert "payload.yield_quantity.value: a quantity must be a decimal string, not a float (precision) (got 12.5)" in error
    assert "payload.shift: not a field of the canonical model" in error
    assert error.count(";") == 2  # three fields, each named once


def test_an_order_envelope_from_the_mes_is_refused_by_entity(bridge: Bridge):
    bridge.publish((MES / "order_released.json").read_bytes(), "report.created")
    bridge.drain()
    assert bridge.events() == []
    [dead] = bridge.dead_letters()
    assert "entity: 'order' is not one of report, lot" in dead.header(Headers.ERROR_MESSAGE)


def test_a_body_that_is_not_json_is_still_ingested_then_dead_lettered(bridge: Bridge):
    bridge.publish(b"\x00\x01 not json", "report.created", "mes-garbage")
    bridge.drain()
    [raw_id] = [e.message_id for e in bridge.ledger.recent(limit=10) if e.stage == "ingest"]
    assert bridge.ledger.raw_payload(raw_id).payload == b"\x00\x01 not json"
    [dead] = bridge.dead_letters()
    assert dead.header(Headers.ERROR_CLASS) == "DecodeError"
    assert "not JSON" in dead.header(Headers.ERROR_MESSAGE)


def test_a_batch_array_is_translated_document_by_document(bridge: Bridge):
    bridge.publish((MES / "feedback_batch.json").read_bytes())
    bridge.drain()
    assert sorted(e.message_id for e in bridge.events()) == [
        "mes:-:WR-20240115-0051:report",
        "mes:MES-PLANT1:WR-20240115-0050:report",
    ]


def test_a_transient_ingest_failure_is_retried_through_the_retry_queue(bridge: Bridge):
    bridge.failures.append(TransientError("the broker did not confirm within 120 s"))
    bridge.publish((MES / "report_created.json").read_bytes())
    bridge.drain()
    assert bridge.events() == []
    assert bridge.broker.depth(NAMES.feedback_queue) == 0
    [waiting] = bridge.broker.messages(NAMES.retry_queue(NAMES.feedback_queue, 5))
    assert waiting.header(Headers.STAGE) == "intake"
    bridge.broker.advance(5)
    bridge.drain()
    [event] = bridge.events()
    assert event.message_id == "mes:MES-PLANT1:WR-20240115-0042:report"
    assert len(bridge.ingested) == 2


def test_a_broker_that_does_not_confirm_within_the_deadline_is_a_retry(tmp_path):
    bridge = Bridge(tmp_path, deadline=0)
    try:
        bridge.publish((MES / "report_created.json").read_bytes())
        bridge.broker.fail_next_publish(times=5)
        bridge.drain()
        assert bridge.broker.depth(NAMES.translate_queue) == 0
        assert bridge.broker.depth(NAMES.retry_queue(NAMES.feedback_queue, 5)) == 1
    finally:
        bridge.ledger.close()


def test_a_permanent_ingest_failure_goes_to_the_feedback_dead_letter_queue(bridge: Bridge):
    bridge.failures.append(PermanentError("the ledger refused the archive"))
    bridge.publish((MES / "report_created.json").read_bytes())
    bridge.drain()
    [dead] = bridge.dead_letters(NAMES.feedback_queue)
    assert dead.header(Headers.ERROR_MESSAGE) == "the ledger refused the archive"


def test_a_crash_inside_ingest_returns_the_message_to_the_queue(bridge: Bridge):
    bridge.failures.append(RuntimeError("a bug"))
    bridge.publish((MES / "report_created.json").read_bytes())
    worker = threading.Thread(target=bridge.intake.run, daemon=True)
    worker.start()  # the run loop nacks (requeues) a batch whose stage crashed
    try:
        deadline = time.monotonic() + 10
        while bridge.broker.depth(NAMES.translate_queue) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        bridge.intake.stop()
        worker.join(10)
    assert len(bridge.ingested) == 2  # crashed once, taken again: not lost
    assert bridge.broker.depth(NAMES.feedback_queue) == 0
    assert bridge.broker.unacked(NAMES.feedback_queue) == 0
    bridge.drain()
    assert len(bridge.events()) == 1


def test_a_redelivered_message_is_ingested_again_under_the_same_id_and_translated_once(bridge: Bridge):
    body = (MES / "report_created.json").read_bytes()
    bridge.publish(body, message_id="m-1")
    bridge.drain()
    bridge.publish(body, message_id="m-1")  # the MES sent it again, or the broker redelivered it
    bridge.drain()
    assert len(bridge.events()) == 1
    [first, second] = bridge.ingested
    assert first == second


def test_origin_names_where_a_retry_copy_first_came_from(bridge: Bridge):
    bridge.failures.append(TransientError("later"))
    bridge.publish(b'{"report_id": "1"}', "report.created", "m-9")
    bridge.drain()
    bridge.broker.advance(5)
    [delivery] = bridge.intake.channel.get_batch(10, 0, block=0)
    assert delivery.exchange == ""  # it came back through the default exchange
    assert origin_of(delivery) == "amqp t.feedback.in report.created m-9"
