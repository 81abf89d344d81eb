"""The in-memory broker routes, requeues and dead-letters like RabbitMQ 3.10 quorum queues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from bridge.broker.confirms import PublishError, UnroutableError
from bridge.broker.messages import OutMessage
from bridge.broker.names import Names
from bridge.broker.routing import topic_matches
from bridge.broker.stub import StubBroker, StubProtocolError
from bridge.broker.topology import Binding, Exchange, Queue, Topology, build_topology
from bridge.errors import ConfigError, TransientError

NAMES = Names(prefix="t")
ORDERS = NAMES.deliver_queue("orders")
MES = NAMES.deliver_queue("mes")


@dataclass(frozen=True)
class Route:
    name: str
    sink: str
    events: Sequence[str]


ROUTES = [Route("orders", "http", ["order.*"]), Route("mes", "mes", ["#.released", "lot.#"])]


@pytest.fixture
def topology() -> Topology:
    return build_topology(NAMES, routes=ROUTES, delivery_limit=2)


@pytest.fixture
def broker(topology: Topology) -> StubBroker:
    stub = StubBroker(start=1_700_000_000)
    stub.declare(topology)
    return stub


def message(exchange: str, key: str, n: int = 1, **headers: object) -> OutMessage:
    return OutMessage(exchange, key, f"body-{n}".encode(), f"m{n}", "event", f"c{n}", headers)


def bodies(broker: StubBroker, queue: str) -> list[bytes]:
    return [d.body for d in broker.messages(queue)]


# -- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("order.*", "order.created", True),
        ("order.*", "order.created.v2", False),
        ("order.*", "order", False),
        ("#", "", True),
        ("#", "a.b.c", True),
        ("lot.#", "lot", True),
        ("lot.#", "lot.split.done", True),
        ("#.released", "released", True),
        ("#.released", "order.released", True),
        ("#.released", "order.released.x", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.*.z", "a.z", False),
        ("*", "", False),
    ],
)
def test_topic_patterns(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_publish_routes_topic_direct_and_default(broker: StubBroker) -> None:
    channel = broker.channel()
    channel.publish(
        [
            message(NAMES.canonical_exchange, "order.created", 1),
            message(NAMES.canonical_exchange, "order.released", 2),  # both routes
            message(NAMES.canonical_exchange, "lot.split.done", 3),
            message(NAMES.inbound_exchange, "sap.ORDERS05", 4),
            message(NAMES.dead_letter_exchange, ORDERS, 5),
            message("", MES, 6),
        ]
    )
    assert bodies(broker, ORDERS) == [b"body-1", b"body-2"]
    assert bodies(broker, MES) == [b"body-2", b"body-3", b"body-6"]
    assert bodies(broker, NAMES.translate_queue) == [b"body-4"]
    assert bodies(broker, NAMES.dead_letter_queue(ORDERS)) == [b"body-5"]
    assert [m.message_id for m in broker.published(NAMES.canonical_exchange)] == ["m1", "m2", "m3"]


def test_deliveries_carry_properties(broker: StubBroker) -> None:
    broker.channel().publish(
        [message(NAMES.canonical_exchange, "order.created", 7, **{"x-bridge-attempts": 0})]
    )
    channel = broker.channel()
    channel.consume(ORDERS)
    [delivery] = channel.get_batch(10, 0.0)
    assert (delivery.message_id, delivery.type, delivery.correlation_id) == ("m7", "event", "c7")
    assert delivery.exchange == NAMES.canonical_exchange
    assert delivery.routing_key == "order.created"
    assert delivery.headers["x-bridge-attempts"] == 0
    assert delivery.headers["x-delivery-count"] == 0  # quorum queues say so
    assert delivery.timestamp == 1_700_000_000
    assert delivery.redelivered is False
    assert delivery.delivery_tag == 1
    assert delivery.generation == channel.generation


def test_unroutable_mandatory_message_fails_but_the_rest_is_delivered(broker: StubBroker) -> None:
    channel = broker.channel()
    with pytest.raises(TransientError, match=r"t\.canonical/shipment\.created"):
        channel.publish(
            [
                message(NAMES.canonical_exchange, "shipment.created", 1),
                message(NAMES.canonical_exchange, "order.x", 2),
            ]
        )
    assert [m.routing_key for m in broker.unroutable] == ["shipment.created"]
    assert bodies(broker, ORDERS) == [b"body-2"]


def test_every_unroutable_message_is_named_like_on_the_real_broker(broker: StubBroker) -> None:
    channel = broker.channel()
    with pytest.raises(UnroutableError) as caught:
        channel.publish(
            [
                message(NAMES.canonical_exchange, "shipment.created", 1),
                message(NAMES.canonical_exchange, "order.x", 2),
                message(NAMES.canonical_exchange, "invoice.posted", 3),
            ]
        )
    assert caught.value.routes == [
        (NAMES.canonical_exchange, "shipment.created"),
        (NAMES.canonical_exchange, "invoice.posted"),
    ]
    assert [m.message_id for m in caught.value.unconfirmed] == ["m1", "m3"]


def test_unknown_exchange_fails(broker: StubBroker) -> None:
    with pytest.raises(TransientError, match="NOT_FOUND"):
        broker.channel().publish([message("nope", "order.created")])


def test_fail_next_publish_delivers_nothing_once(broker: StubBroker) -> None:
    broker.fail_next_publish("boom")
    channel = broker.channel()
    with pytest.raises(PublishError, match="boom") as caught:
        channel.publish([message(NAMES.canonical_exchange, "order.created")])
    assert [m.message_id for m in caught.value.unconfirmed] == ["m1"]
    assert broker.depth(ORDERS) == 0
    channel.publish([message(NAMES.canonical_exchange, "order.created")])
    assert broker.depth(ORDERS) == 1


def test_closed_channel_cannot_publish(broker: StubBroker) -> None:
    channel = broker.channel()
    channel.close()
    assert channel.wait_ready(0.1) is False
    with pytest.raises(TransientError):
        channel.publish([message(NAMES.canonical_exchange, "order.created")])


# -- consuming -----------------------------------------------------------------------------


def fill(broker: StubBroker, count: int) -> None:
    broker.channel().publish(
        [message(NAMES.canonical_exchange, "order.created", n) for n in range(1, count + 1)]
    )


def test_prefetch_limits_unacked(broker: StubBroker) -> None:
    fill(broker, 5)
    channel = broker.channel(prefetch=2)
    channel.consume(ORDERS)
    first = channel.get_batch(10, 0.0)
    assert [d.body for d in first] == [b"body-1", b"body-2"]
    assert channel.get_batch(10, 0.0) == []
    assert broker.unacked(ORDERS) == 2
    assert channel.ack_batch(first[:1]) == 1  # acks tag 1 only
    assert [d.body for d in channel.get_batch(10, 0.0)] == [b"body-3"]


def test_ack_batch_is_multiple(broker: StubBroker) -> None:
    fill(broker, 4)
    channel = broker.channel()
    channel.consume(ORDERS)
    batch = channel.get_batch(3, 0.0)
    assert channel.ack_batch(batch[-1:]) == 1  # tag 3 acks 1..3
    assert broker.unacked(ORDERS) == 0
    channel.close()
    assert bodies(broker, ORDERS) == [b"body-4"]


def test_ack_unknown_tag_is_a_protocol_error(broker: StubBroker) -> None:
    fill(broker, 1)
    channel = broker.channel()
    channel.consume(ORDERS)
    batch = channel.get_batch(1, 0.0)
    channel.ack_batch(batch)
    with pytest.raises(StubProtocolError, match="unknown delivery tag 1"):
        channel.ack_batch(batch)
    assert channel.closed


def test_requeue_goes_to_the_front_in_order_and_is_redelivered(broker: StubBroker) -> None:
    fill(broker, 4)
    channel = broker.channel()
    channel.consume(ORDERS)
    batch = channel.get_batch(2, 0.0)
    channel.nack(batch, requeue=True)
    again = channel.get_batch(10, 0.0)
    assert [d.body for d in again] == [b"body-1", b"body-2", b"body-3", b"body-4"]
    assert [d.redelivered for d in again] == [True, True, False, False]
    assert [d.headers["x-delivery-count"] for d in again] == [1, 1, 0, 0]
    assert [d.delivery_tag for d in again] == [3, 4, 5, 6]


def test_closing_a_channel_requeues_its_unacked(broker: StubBroker) -> None:
    fill(broker, 3)
    channel = broker.channel()
    channel.consume(ORDERS)
    channel.get_batch(2, 0.0)
    channel.close()
    assert bodies(broker, ORDERS) == [b"body-1", b"body-2", b"body-3"]
    assert [d.redelivered for d in broker.messages(ORDERS)] == [True, True, False]


def test_reconnect_requeues_and_ignores_stale_acks(broker: StubBroker) -> None:
    fill(broker, 1)
    channel = broker.channel()
    channel.consume(ORDERS)
    stale = channel.get_batch(1, 0.0)
    broker.reconnect()
    assert channel.ack_batch(stale) == 0
    [fresh] = channel.get_batch(1, 0.0)
    assert fresh.redelivered
    assert fresh.delivery_tag == 1
    assert fresh.generation == stale[0].generation + 1


def test_cancel_stops_deliveries(broker: StubBroker) -> None:
    fill(broker, 1)
    channel = broker.channel()
    channel.consume(ORDERS)
    channel.cancel()
    assert channel.get_batch(1, 0.0) == []


def test_consume_unknown_queue_fails(broker: StubBroker) -> None:
    with pytest.raises(ConfigError, match="no queue"):
        broker.channel().consume("t.nope")


# -- dead lettering ------------------------------------------------------------------------


def test_delivery_limit_dead_letters_with_x_death(broker: StubBroker) -> None:
    fill(broker, 1)
    channel = broker.channel()
    channel.consume(ORDERS)
    for _ in range(3):  # limit 2: delivered three times, the third return dead-letters it
        assert broker.depth(NAMES.dead_letter_queue(ORDERS)) == 0
        channel.nack(channel.get_batch(1, 0.0), requeue=True)
    assert broker.depth(ORDERS) == 0
    [dead] = broker.messages(NAMES.dead_letter_queue(ORDERS))
    assert (dead.exchange, dead.routing_key) == (NAMES.dead_letter_exchange, ORDERS)
    [death] = dead.headers["x-death"]
    assert death["reason"] == "delivery_limit"
    assert death["queue"] == ORDERS
    assert death["count"] == 1
    assert death["exchange"] == NAMES.canonical_exchange
    assert death["routing-keys"] == ["order.created"]
    assert death["time"].timestamp() == 1_700_000_000
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
    assert dead.headers["x-first-death-queue"] == ORDERS
    assert dead.headers["x-first-death-exchange"] == NAMES.canonical_exchange
    assert dead.headers["x-delivery-count"] == 0
    assert dead.redelivered is False


def test_reject_dead_letters(broker: StubBroker) -> None:
    fill(broker, 2)
    channel = broker.channel()
    channel.consume(ORDERS)
    first, second = channel.get_batch(2, 0.0)
    channel.nack([second], requeue=False)
    channel.ack_batch([first])
    [dead] = broker.messages(NAMES.dead_letter_queue(ORDERS))
    assert dead.body == b"body-2"
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    assert broker.depth(ORDERS) == 0


def test_ttl_retry_queue_returns_the_message_to_its_work_queue(broker: StubBroker) -> None:
    retry = NAMES.retry_queue(ORDERS, 5)
    broker.channel().publish([message("", retry, 1)])
    broker.advance(4.9)
    assert (broker.depth(retry), broker.depth(ORDERS)) == (1, 0)
    broker.advance(0.1)
    assert broker.depth(retry) == 0
    [back] = broker.messages(ORDERS)
    assert (back.exchange, back.routing_key) == ("", ORDERS)
    [death] = back.headers["x-death"]
    assert (death["queue"], death["reason"], death["exchange"]) == (retry, "expired", "")
    assert death["routing-keys"] == [retry]


def test_repeated_death_counts_and_moves_to_the_front(broker: StubBroker) -> None:
    retry5, retry30 = NAMES.retry_queue(ORDERS, 5), NAMES.retry_queue(ORDERS, 30)
    channel = broker.channel()
    channel.consume(ORDERS)
    channel.publish([message("", retry5)])
    broker.advance(5)  # retry5 -> ORDERS
    for retry, wait in ((retry30, 30), (retry5, 5)):
        [delivery] = channel.get_batch(1, 0.0)
        channel.publish([delivery.as_out("", retry, delivery.headers)])  # the pipeline's retry copy
        channel.ack_batch([delivery])
        broker.advance(wait)
    [back] = broker.messages(ORDERS)
    deaths = back.headers["x-death"]
    assert [(d["queue"], d["count"]) for d in deaths] == [(retry5, 2), (retry30, 1)]
    assert back.headers["x-first-death-queue"] == retry5


def test_a_queue_without_dead_letter_exchange_drops(broker: StubBroker) -> None:
    dlq = NAMES.dead_letter_queue(ORDERS)
    broker.channel().publish([message(NAMES.dead_letter_exchange, ORDERS)])
    channel = broker.channel()
    channel.consume(dlq)
    channel.nack(channel.get_batch(1, 0.0), requeue=False)
    assert broker.depth(dlq) == 0
    assert [reason.split(":")[0] for reason, _ in broker.dropped] == ["rejected"]


def test_bind_helper_stands_in_for_the_mes_side(broker: StubBroker) -> None:
    channel = broker.channel()
    with pytest.raises(TransientError):
        channel.publish([message(NAMES.mes_exchange, "order.released")])
    broker.bind("mes.inbox", NAMES.mes_exchange, "order.#")
    channel.publish([message(NAMES.mes_exchange, "order.released")])
    assert broker.depth("mes.inbox") == 1


# -- declaring -----------------------------------------------------------------------------


def test_declare_is_idempotent(broker: StubBroker, topology: Topology) -> None:
    fill(broker, 1)
    broker.declare(topology)
    broker.declare(build_topology(NAMES, routes=ROUTES, delivery_limit=2))
    assert broker.depth(ORDERS) == 1
    broker.channel().publish([message(NAMES.canonical_exchange, "order.created", 2)])
    assert broker.depth(ORDERS) == 2  # bindings were not duplicated


def test_redeclare_with_other_arguments_fails(broker: StubBroker) -> None:
    with pytest.raises(ConfigError, match="PRECONDITION_FAILED.*x-delivery-limit"):
        broker.declare(build_topology(NAMES, routes=ROUTES, delivery_limit=5))
    with pytest.raises(ConfigError, match=r"PRECONDITION_FAILED.*'t\.translate'"):
        broker.declare(build_topology(NAMES, routes=ROUTES, queue_type="classic"))


def test_redeclare_exchange_with_other_type_fails(broker: StubBroker, topology: Topology) -> None:
    changed = replace(topology, exchanges=(Exchange(NAMES.canonical_exchange, "direct"),))
    with pytest.raises(ConfigError, match="PRECONDITION_FAILED"):
        broker.declare(changed)


def test_binding_to_unknown_exchange_fails() -> None:
    topology = Topology((), (Queue("q"),), (Binding("q", "missing", "#"),), (), ())
    with pytest.raises(ConfigError, match="NOT_FOUND"):
        StubBroker().declare(topology)
