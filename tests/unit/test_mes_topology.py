"""The MES feedback exchange and the bridge's durable queue on it, declared with the topology;
the broker setting that names it; the offline translator's canonical pass-through."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from bridge.broker import Names, build_topology
from bridge.broker.confirms import UnroutableError
from bridge.broker.messages import OutMessage
from bridge.broker.stub import StubBroker
from bridge.broker.topology import FEEDBACK_EVENTS, Binding, Exchange
from bridge.cli import main
from bridge.config import BrokerSettings, Settings
from bridge.errors import ConfigError, ValidationError
from bridge.runtime import topology_for
from bridge.translate import Translator

from ..conftest import DATA, MAPPINGS

MES = DATA / "mes"
NAMES = Names(prefix="p1")


@dataclass
class Route:
    name: str
    sink: str
    events: tuple[str, ...]


ROUTES = [Route("orders", "mes", ("order.*",))]


def test_the_feedback_names_derive_from_the_prefix_and_the_setting():
    assert NAMES.feedback_exchange == "mes.feedback"
    assert NAMES.feedback_queue == "p1.feedback"
    assert Names(prefix="p1", feedback_exchange="plant1.feedback").feedback_exchange == "plant1.feedback"


def test_the_topology_declares_the_feedback_exchange_and_a_durable_work_queue_on_it():
    topology = build_topology(NAMES, routes=ROUTES, retry_tiers=(5, 30))
    assert Exchange("mes.feedback", "topic") in topology.exchanges
    assert "p1.feedback" in topology.work_queues
    queue = topology.queue("p1.feedback")
    assert queue.arguments["x-queue-type"] == "quorum"
    assert queue.arguments["x-dead-letter-exchange"] == "p1.dlx"
    assert queue.arguments["x-delivery-limit"] == 10
    assert FEEDBACK_EVENTS == ("report.*", "lot.*")
    for pattern in FEEDBACK_EVENTS:
        assert Binding("p1.feedback", "mes.feedback", pattern) in topology.bindings
    # its dead-letter and retry queues, like every work queue's
    assert topology.queue("p1.feedback.dlq")
    assert Binding("p1.feedback.dlq", "p1.dlx", "p1.feedback") in topology.bindings
    assert topology.queue("p1.feedback.retry.5s").arguments["x-dead-letter-routing-key"] == "p1.feedback"
    assert topology.queue("p1.feedback.retry.30s")


def test_the_feedback_part_can_be_left_out():
    topology = build_topology(NAMES, routes=ROUTES, feedback=False)
    assert "mes.feedback" not in {e.name for e in topology.exchanges}
    assert "p1.feedback" not in {q.name for q in topology.queues}


def test_the_mes_may_publish_report_and_lot_events_while_the_bridge_is_down():
    broker = StubBroker()
    broker.declare(build_topology(NAMES, routes=ROUTES))  # what `bridge topology declare` does
    mes = broker.channel(name="mes")
    mes.publish(
        [
            OutMessage("mes.feedback", "report.created", b"{}", "r1", "report.created"),
            OutMessage("mes.feedback", "lot.status_changed", b"{}", "l1", "lot.status_changed"),
        ]
    )
    assert [d.message_id for d in broker.messages("p1.feedback")] == ["r1", "l1"]
    # the bridge takes only feedback from it: an order event on it is unroutable
    with pytest.raises(UnroutableError):
        mes.publish([OutMessage("mes.feedback", "order.released", b"{}", "o1", "order.released")])
    assert broker.depth("p1.feedback") == 2
    assert broker.depth("p1.translate") == 0


def test_bridge_topology_declare_lists_the_feedback_exchange_and_queue(monkeypatch):
    import bridge.broker.declare

    declared = []
    monkeypatch.setattr(bridge.broker.declare, "declare_topology", lambda url, plan: declared.append(plan))
    result = CliRunner().invoke(main, ["topology", "declare"])
    assert result.exit_code == 0, result.output
    [plan] = declared
    assert plan == topology_for(Settings())
    assert "exchange mes.feedback (topic)" in result.output
    assert "queue    bridge.feedback {" in result.output
    assert "queue    bridge.feedback.dlq {" in result.output


def test_the_broker_setting_defaults_to_mes_feedback():
    assert BrokerSettings().feedback_exchange == "mes.feedback"
    assert BrokerSettings(feedback_exchange="plant1.feedback").feedback_exchange == "plant1.feedback"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("mes.events", "must differ from broker.mes_exchange"),
        ("", "at least 1 character"),
        ("mes feedback", "should match pattern"),
    ],
)
def test_a_wrong_feedback_exchange_is_refused(value: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        BrokerSettings(feedback_exchange=value)


# -- offline translation (``bridge translate``) passes canonical feedback through too ---------


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.create(mappings_dir=MAPPINGS, source_system="mes")


def test_offline_translation_passes_an_envelope_through(translator: Translator):
    data = (MES / "feedback_batch.json").read_bytes()
    envelopes = [e for d in translator.decode(data, "batch.json") for e in translator.map_document(d)]
    assert [e["source"]["document_type"] for e in envelopes] == ["work_report", "work-report"]
    sent = json.loads(data)[0]
    # as sent, in its canonical form: the model's defaults filled in, nothing else changed
    sent["payload"].update(final=False, produced=[], consumed=[])
    assert envelopes[0] == sent
    assert envelopes[1]["payload"]["yield_quantity"] == {"value": "12.25", "unit": "ST"}


def test_offline_translation_names_every_invalid_field(translator: Translator):
    [document] = translator.decode((MES / "report_invalid.json").read_bytes(), "report_invalid.json")
    with pytest.raises(ValidationError) as caught:
        translator.map_document(document)
    message = str(caught.value)
    assert message.startswith("report_invalid.json message_id mes:MES-PLANT1:WR-20240115-0099:report: ")
    assert "payload.order_id: required" in message
    assert "payload.yield_quantity.value: a quantity must be a decimal string, not a float (precision) (got 12.5)" in message


def test_an_envelope_without_an_entity_is_named():
    from adapters.mes.codec import MesCodec

    [document] = MesCodec().decode(b'{"schema": "bridge.canonical/v1", "message_id": "x"}', origin="e.json")
    translator = Translator.create(mappings_dir=MAPPINGS, source_system="mes")
    with pytest.raises(ValidationError, match="entity: missing"):
        translator.map_document(document)


def test_a_codec_for_an_unknown_system_is_still_a_config_error():
    with pytest.raises(ConfigError, match="known: mes, sap"):
        Translator.create(mappings_dir=MAPPINGS, source_system="nosuch")
