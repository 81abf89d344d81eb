"""The runtime as ``bridge run`` builds it, on the in-memory broker and the fake adapter: no
vendor's code on the path from the canonical exchange to a remote target."""

from __future__ import annotations

import json
import time

import pytest

from bridge.adapter import adapters
from bridge.broker.connector import StubConnector
from bridge.broker.messages import Headers, OutMessage
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.runtime import Runtime, names_for

from ..fake import target as fake
from .test_remote_delivery import report


@pytest.fixture
def fake_installed():
    installed = adapters()
    installed["fake"] = fake.fake_adapter
    fake.TARGET.postings.clear()
    yield fake.TARGET
    installed.pop("fake", None)


def test_a_remote_route_delivers_each_report_once_through_the_runtime(tmp_path, fake_installed):
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        "routes:\n  - {name: erp, sink: fake, events: ['report.*']}\n"
    )
    settings = load_settings(config, env={})
    broker = StubBroker()
    runtime = Runtime(settings, broker=StubConnector(broker))
    runtime.start(serve_http=False)
    try:
        names = names_for(settings)
        channel = broker.channel(name="test")
        envelopes = [report(f"R{n}", f"O{n % 3}") for n in range(9)]
        messages = [
            OutMessage(
                exchange=names.canonical_exchange,
                routing_key="report.created",
                body=json.dumps(e).encode(),
                message_id=e["message_id"],
                type="report.created",
                headers={Headers.ENTITY: "report", Headers.EVENT: "created"},
            )
            for e in envelopes
        ]
        channel.publish(messages + messages[:3])  # three of them twice
        deadline = time.monotonic() + 10
        while len(fake_installed.postings) < 18 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert sorted(p["ident"] for p in fake_installed.postings) == sorted(
            f"R{n}:{kind}" for n in range(9) for kind in "CR"
        )
        assert broker.depth(names.deliver_queue("erp")) == 0
    finally:
        runtime.stop()


def test_feedback_on_the_mes_exchange_reaches_the_remote_target_once(tmp_path, fake_installed):
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        "routes:\n  - {name: erp, sink: fake, events: ['report.*']}\n"
    )
    settings = load_settings(config, env={})
    broker = StubBroker()
    runtime = Runtime(settings, broker=StubConnector(broker))
    runtime.start(serve_http=False)
    try:
        names = names_for(settings)
        envelope = report("FB-1", "O9")
        message = OutMessage(
            exchange=names.feedback_exchange,
            routing_key="report.created",
            body=json.dumps(envelope).encode(),
            message_id=envelope["message_id"],
            type="report.created",
        )
        broker.channel(name="mes").publish([message, message])  # the MES sent it twice
        deadline = time.monotonic() + 10
        while len(fake_installed.postings) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert sorted(p["ident"] for p in fake_installed.postings) == ["FB-1:C", "FB-1:R"]
    finally:
        runtime.stop()
