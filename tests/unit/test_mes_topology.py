"""The MES feedback exchange and the bridge's durable queue on it, declared with the topology,
and the broker setting that names it."""

from __future__ import annotations

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
from bridge.runtime import topology_for

from ..conftest import DATA

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
