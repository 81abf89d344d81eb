"""In-process delivery (translate and deliver in one process) on the stub broker.

Events skip the canonical exchange when their route's sink takes them; when it does not, they
go to the route's queue and the deliver worker retries or dead-letters them as usual.
"""

from __future__ import annotations

import json

from bridge.broker import Headers

from .test_pipeline_stub import Bridge, FlakySink


def test_an_event_reaches_the_mes_without_crossing_the_canonical_exchange(tmp_path):
    b = Bridge(tmp_path, direct_events=("#",))
    [raw_id] = b.ingest("LOIPRO05_S4HANA_Original.xml")
    assert b.step(b.translate) == 1
    [event] = b.broker.published("t.mes")
    assert event.routing_key == "order.released"
    assert json.loads(event.body)["payload"]["order_id"] == "1895938"
    assert event.headers[Headers.VERSION] == json.loads(event.body)["version"]
    assert b.broker.published("t.canonical") == []
    assert b.broker.depth("t.deliver.mes") == 0
    assert b.broker.unacked("t.translate") == 0
    assert [e.status for e in b.ledger.journal(raw_id)] == ["received", "translated"]
    [delivered] = b.ledger.journal("sap:S4HCLNT100:0000000000430094:order")
    assert (delivered.stage, delivered.status) == ("deliver:mes", "delivered")


def test_the_direct_event_carries_the_same_bytes_the_canonical_exchange_would(tmp_path):
    (tmp_path / "queued").mkdir()
    (tmp_path / "direct").mkdir()
    queued = Bridge(tmp_path / "queued")
    queued.ingest("LOIPRO05_S4HANA_Original.xml")
    queued.drain()
    direct = Bridge(tmp_path / "direct", direct_events=("#",))
    direct.ingest("LOIPRO05_S4HANA_Original.xml")
    direct.drain()
    [a], [b] = queued.broker.published("t.mes"), direct.broker.published("t.mes")
    assert (a.body, a.message_id, a.routing_key) == (b.body, b.message_id, b.routing_key)


def test_a_failing_sink_sends_the_event_to_the_route_queue_where_it_is_retried(tmp_path):
    sink = FlakySink(failures=2)
    b = Bridge(tmp_path, sink=sink, direct_events=("#",))
    b.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    assert b.step(b.translate) == 1
    assert sink.written == []  # the direct attempt failed...
    [queued] = b.broker.messages("t.deliver.mes")  # ...so the event waits in the route's queue
    assert queued.message_id.endswith(":material")
    assert queued.header(Headers.BUSINESS_KEY) == "S1SP02677"
    assert b.broker.unacked("t.translate") == 0  # the raw message is done: nothing is lost
    b.drain()  # the deliver worker fails once more and parks it in the 5 s retry queue
    [waiting] = b.broker.messages("t.deliver.mes.retry.5s")
    assert waiting.header(Headers.STAGE) == "deliver"
    b.broker.advance(5)
    b.drain()
    assert sink.written == [queued.message_id]
    assert b.broker.depth("t.deliver.mes.dlq") == 0


def test_a_re_ingested_document_is_delivered_once(tmp_path):
    sink = FlakySink()
    b = Bridge(tmp_path, sink=sink, direct_events=("#",))
    b.ingest("LOIPRO05_S4HANA_Original.xml")
    b.drain()
    b.ingest("LOIPRO05_S4HANA_Original.xml")
    b.drain()
    assert sink.written == ["sap:S4HCLNT100:0000000000430094:order"]


def test_a_redelivered_raw_message_is_not_written_twice(tmp_path):
    sink = FlakySink()
    b = Bridge(tmp_path, sink=sink, direct_events=("#",))
    b.ingest("MATMAS05_DMC_S1SP02677_finished.xml")
    [delivery] = b.translate.channel.get_batch(10, 0, block=0)
    b.translate.stage.process([delivery])  # delivered, then the process dies before the ack
    b.translate.channel.nack([delivery], requeue=True)
    b.drain()
    assert len(sink.written) == 1
    assert b.broker.depth("t.translate") == b.broker.unacked("t.translate") == 0


def test_events_no_route_takes_still_go_to_the_canonical_exchange(tmp_path):
    b = Bridge(tmp_path, direct_events=("material.*",))
    b.ingest("LOIPRO05_S4HANA_Original.xml")  # an order: the route only takes materials
    assert b.step(b.translate) == 1
    # unroutable there, as before: the broker returns it and the raw message goes back to its
    # queue (the delivery limit dead-letters it if no route ever takes it)
    assert b.broker.published("t.mes") == []
    [again] = b.broker.messages("t.translate")
    assert again.redelivered
