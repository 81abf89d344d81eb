"""MES feedback on the real RabbitMQ: published on the feedback exchange while the bridge is
down, kept by the durable queue, then taken in (intake -> ingest -> translate) once it runs:
canonical envelopes pass through, a work report is mapped, an invalid one is dead-lettered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.broker.declare import open_blocking
from bridge.pipeline import RetryPolicy, Worker
from bridge.pipeline.intake import IntakeStage, ingest_with

from .harness import (
    AMQP_URL,
    MAPPINGS,
    bridge_topology,
    browse,
    make_settings,
    names_for,
    publish_as_the_mes,
    queue_depth,
    running,
    wait_for,
)

pytestmark = pytest.mark.integration

MES = Path(__file__).resolve().parent.parent / "data" / "mes"


class CanonicalTap:
    """A queue on the canonical exchange taking report and lot events."""

    def __init__(self, prefix: str, exchange: str) -> None:
        self.queue = f"{prefix}.test.canonical-tap"
        self.exchange = exchange

    def declare(self) -> None:
        connection = open_blocking(AMQP_URL)
        try:
            channel = connection.channel()
            channel.queue_declare(self.queue, durable=True)
            for pattern in ("report.*", "lot.*"):
                channel.queue_bind(self.queue, self.exchange, pattern)
        finally:
            connection.close()

    def delete(self) -> None:
        connection = open_blocking(AMQP_URL)
        try:
            connection.channel().queue_delete(self.queue)
        finally:
            connection.close()


@pytest.fixture
def settings(tmp_path, rabbitmq):
    return make_settings(tmp_path, direct_delivery=False)


@pytest.fixture
def tap(settings) -> Iterator[CanonicalTap]:
    names = names_for(settings)
    made = CanonicalTap(settings.broker.prefix, names.canonical_exchange)
    yield made
    made.delete()


def test_feedback_published_while_the_bridge_is_down_is_taken_in_once_it_runs(settings, tap):
    names = names_for(settings)
    with bridge_topology(settings):  # `bridge topology declare`
        tap.declare()
        publish_as_the_mes(
            names.feedback_exchange,
            [
                ("report.created", (MES / "report_created.json").read_bytes()),
                ("lot.status_changed", (MES / "lot_status_changed.json").read_bytes()),
                ("report.created", (MAPPINGS / "mes" / "cases" / "work_report_final.json").read_bytes()),
                ("report.created", (MES / "report_invalid.json").read_bytes()),
            ],
        )
        assert queue_depth(names.feedback_queue) == 4  # durable: waits for the bridge
        with running(settings) as runtime:
            assert runtime.connection is not None
            channel = runtime.connection.channel(prefetch=50, name="intake")
            channel.consume(names.feedback_queue)
            worker = Worker(
                IntakeStage(names.feedback_queue, ingest_with(runtime.ingestor()), system="mes"),
                channel,
                RetryPolicy(names, tiers=settings.broker.retry_tiers),
            )
            thread = threading.Thread(target=worker.run, daemon=True)
            thread.start()
            try:
                events = wait_for(lambda: (got := browse(tap.queue)) and len(got) >= 3 and got, timeout=30)
                dead = wait_for(lambda: browse(names.dead_letter_queue(names.translate_queue)), timeout=30)
            finally:
                worker.stop()
                thread.join(20)
        assert queue_depth(names.feedback_queue) == 0
    got = sorted(
        (props.message_id, json.loads(body)["source"]["document_type"]) for props, body in events
    )
    # the envelope and the MES's own work report of the same report share its message id
    assert got == [
        ("mes:MES-PLANT1:QC-20240116-0007:lot", "quality_result"),
        ("mes:MES-PLANT1:WR-20240115-0042:report", "work-report"),
        ("mes:MES-PLANT1:WR-20240115-0042:report", "work_report"),
    ]
    [(props, _)] = dead
    error = props.headers["x-bridge-error-message"]
    assert "payload.order_id: required" in error
    assert "payload.yield_quantity.value" in error
