"""Dead-letter list / replay / purge on the real RabbitMQ (quorum queues)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from bridge.broker.dlq import (
    DeadLetterFilter,
    dead_letter_queues,
    list_dead_letters,
    purge,
    replay,
)
from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore
from bridge.broker.messages import Headers
from bridge.broker.names import Names
from bridge.broker.topology import Topology, build_topology
from bridge.errors import TransientError

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Route:
    name: str
    sink: str
    events: Sequence[str]


@dataclass(frozen=True)
class Setup:
    url: str
    names: Names
    topology: Topology
    channel: BlockingChannel

    @property
    def work(self) -> str:
        return self.names.deliver_queue("orders")

    @property
    def dlq(self) -> str:
        return self.names.dead_letter_queue(self.work)


def _connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


def _declare(channel: BlockingChannel, topology: Topology) -> None:
    for exchange in topology.exchanges:
        channel.exchange_declare(exchange.name, exchange.type, durable=True)
    for queue in topology.queues:
        channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
    for binding in topology.bindings:
        channel.queue_bind(binding.queue, binding.exchange, routing_key=binding.routing_key)


def _delete(url: str, topology: Topology) -> None:
    connection = _connect(url)
    try:
        for queue in topology.queues:
            channel = connection.channel()
            try:
                channel.queue_delete(queue.name)
            except pika.exceptions.ChannelClosedByBroker:
                continue
            channel.close()
        for exchange in topology.exchanges:
            channel = connection.channel()
            try:
                channel.exchange_delete(exchange.name)
            except pika.exceptions.ChannelClosedByBroker:
                continue
            channel.close()
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture
def setup(amqp_url: str) -> Iterator[Setup]:
    prefix = f"t{uuid.uuid4().hex}"
    names = Names(prefix=prefix, mes_exchange=f"{prefix}.mes.events", feedback_exchange=f"{prefix}.mes.feedback")
    topology = build_topology(
        names,
        routes=[Route("orders", "http", ["order.*"])],
        queue_type="quorum",
        delivery_limit=1,
        retry_tiers=(5,),
    )
    connection = _connect(amqp_url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        _declare(channel, topology)
        yield Setup(amqp_url, names, topology, channel)
    finally:
        if connection.is_open:
            connection.close()
        _delete(amqp_url, topology)


def _depth(setup: Setup, queue: str) -> int:
    return setup.channel.queue_declare(queue, passive=True).method.message_count


def _wait_depth(setup: Setup, queue: str, expected: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _depth(setup, queue) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{queue} holds {_depth(setup, queue)} messages, expected {expected}")
        time.sleep(0.05)


def _bridge_letter(
    setup: Setup,
    n: int,
    error: str,
    *,
    key: str = "order.created",
    system: str = "sap",
    exchange: str | None = None,
) -> None:
    now = datetime.now(UTC)
    headers: dict[str, Any] = {
        Headers.SOURCE_SYSTEM: system,
        Headers.DOCUMENT_TYPE: "ORDERS05",
        Headers.DOCUMENT_ID: f"DOC{n}",
        Headers.STAGE: "deliver",
        Headers.ERROR_CLASS: error,
        Headers.ERROR_MESSAGE: f"failure {n}",
        Headers.ATTEMPTS: 3,
        Headers.FIRST_FAILURE: (now - timedelta(hours=2)).isoformat(),
        Headers.LAST_FAILURE: (now - timedelta(hours=1)).isoformat(),
        Headers.ORIGINAL_EXCHANGE: exchange or setup.names.canonical_exchange,
        Headers.ORIGINAL_ROUTING_KEY: key,
        Headers.ORIGINAL_QUEUE: setup.work,
    }
    setup.channel.basic_publish(
        setup.names.dead_letter_exchange,
        setup.work,
        f'{{"n": {n}}}'.encode(),
        pika.BasicProperties(
            message_id=f"m{n}",
            correlation_id=f"c{n}",
            type="order.created",
            delivery_mode=2,
            content_type="application/json",
            headers=headers,
        ),
        mandatory=True,
    )


def _broker_letter(setup: Setup, n: int, *, reject: bool) -> None:
    channel = setup.channel
    channel.basic_publish(
        setup.names.canonical_exchange,
        "order.changed",
        f"raw {n}".encode(),
        pika.BasicProperties(message_id=f"b{n}", type="order.changed", delivery_mode=2),
        mandatory=True,
    )
    for _ in range(1 if reject else 2):  # delivery limit 1: the second return dead-letters it
        _wait_depth(setup, setup.work, 1)
        method, _props, _body = channel.basic_get(setup.work, auto_ack=False)
        assert method is not None
        channel.basic_nack(method.delivery_tag, requeue=not reject)


def _drain(setup: Setup, queue: str) -> list[tuple[Any, Any, bytes]]:
    got = []
    while True:
        method, props, body = setup.channel.basic_get(queue, auto_ack=True)
        if method is None:
            return got
        got.append((method, props, body))


def test_list_replay_purge_on_rabbitmq(setup: Setup) -> None:
    for n, error in enumerate(["MappingError", "MappingError", "ValidationError", "BusinessRejection"], 1):
        _bridge_letter(setup, n, error)
    _bridge_letter(setup, 5, "MappingError", key="shipment.created", system="kingdee")  # no route any more
    _broker_letter(setup, 1, reject=True)
    _wait_depth(setup, setup.dlq, 6)
    _broker_letter(setup, 2, reject=False)
    _wait_depth(setup, setup.dlq, 7)
    queues = dead_letter_queues(setup.topology)

    with RabbitDeadLetterStore(setup.url) as store:
        letters = list_dead_letters(store, queues)
        assert [dl.id for dl in letters] == ["m1", "m2", "m3", "m4", "m5", "b1", "b2"]
        assert [dl.id for dl in list_dead_letters(store, queues)] == [dl.id for dl in letters]
        _wait_depth(setup, setup.dlq, 7)
        m1, b1, b2 = letters[0], letters[5], letters[6]
        assert (m1.error_class, m1.source_system, m1.document_id, m1.attempts) == (
            "MappingError",
            "sap",
            "DOC1",
            3,
        )
        assert m1.age_seconds is not None
        assert 3590 < m1.age_seconds < 3700
        assert (b1.error_class, b2.error_class) == ("rejected", "delivery_limit")
        assert (b2.original_exchange, b2.original_routing_key, b2.original_queue) == (
            setup.names.canonical_exchange,
            "order.changed",
            setup.work,
        )
        assert b2.last_failure is not None
        assert b2.age_seconds is not None
        assert b2.age_seconds < 60
        assert [dl.id for dl in list_dead_letters(store, queues, DeadLetterFilter(older_than_s=1800))] == [
            "m1",
            "m2",
            "m3",
            "m4",
            "m5",
        ]

        # a failing republish (m5's route is gone) keeps it, and the ones after it
        with pytest.raises(TransientError, match="shipment.created"):
            replay(store, queues, DeadLetterFilter(source_system="kingdee"), by="it")
        _wait_depth(setup, setup.dlq, 7)

        replayed = replay(
            store, queues, DeadLetterFilter(error_class="MappingError", source_system="sap"), by="it"
        )
        assert [dl.id for dl in replayed] == ["m1", "m2"]
        _wait_depth(setup, setup.dlq, 5)
        back = _drain(setup, setup.work)
        assert [props.message_id for _m, props, _b in back] == ["m1", "m2"]
        method, props, body = back[0]
        assert (method.exchange, method.routing_key, body) == (
            setup.names.canonical_exchange,
            "order.created",
            b'{"n": 1}',
        )
        assert (props.correlation_id, props.type, props.content_type) == (
            "c1",
            "order.created",
            "application/json",
        )
        assert props.headers[Headers.REPLAY_COUNT] == 1
        assert props.headers[Headers.ATTEMPTS] == 0
        assert props.headers[Headers.REPLAYED_BY] == "it"
        assert Headers.ERROR_CLASS not in props.headers
        assert "x-death" not in props.headers

        assert [
            dl.id for dl in replay(store, queues, DeadLetterFilter(error_class="delivery_limit"), by="it")
        ] == ["b2"]
        [(method, props, body)] = _drain(setup, setup.work)
        assert (props.message_id, method.exchange, method.routing_key) == (
            "b2",
            setup.names.canonical_exchange,
            "order.changed",
        )

        purged = purge(store, queues, DeadLetterFilter(error_class="ValidationError"))
        assert [dl.id for dl in purged] == ["m3"]
        assert [dl.id for dl in list_dead_letters(store, queues)] == ["m4", "m5", "b1"]
    _wait_depth(setup, setup.dlq, 3)


def test_replay_to_a_deleted_exchange_keeps_every_letter(setup: Setup) -> None:
    _bridge_letter(setup, 1, "MappingError")
    _bridge_letter(
        setup, 2, "MappingError", exchange=f"{setup.names.prefix}.gone"
    )  # the broker closes the channel
    _bridge_letter(setup, 3, "MappingError")
    _wait_depth(setup, setup.dlq, 3)
    queues = dead_letter_queues(setup.topology)
    with RabbitDeadLetterStore(setup.url) as store:
        with pytest.raises(TransientError, match="gone"):
            replay(store, queues, DeadLetterFilter(), by="it")
        assert [dl.id for dl in list_dead_letters(store, queues)] == ["m2", "m3"]
    assert [props.message_id for _m, props, _b in _drain(setup, setup.work)] == ["m1"]
