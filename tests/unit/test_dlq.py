"""Dead-letter list / replay / purge on the in-memory broker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.broker.dlq import (
    DeadLetter,
    DeadLetterFilter,
    dead_letter_queues,
    decode_payload,
    list_dead_letters,
    purge,
    replay,
)
from bridge.broker.messages import Headers, OutMessage
from bridge.broker.names import Names
from bridge.broker.stub import StubBroker, StubDeadLetterStore
from bridge.broker.topology import Topology, build_topology
from bridge.errors import PermanentError, TransientError

NAMES = Names(prefix="t")
ORDERS = NAMES.deliver_queue("orders")
ORDERS_DLQ = NAMES.dead_letter_queue(ORDERS)
TRANSLATE_DLQ = NAMES.dead_letter_queue(NAMES.translate_queue)
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Route:
    name: str
    sink: str
    events: Sequence[str]


@pytest.fixture
def topology() -> Topology:
    return build_topology(NAMES, routes=[Route("orders", "http", ["order.*"])], delivery_limit=1)


@pytest.fixture
def broker(topology: Topology) -> StubBroker:
    stub = StubBroker(start=START.timestamp())
    stub.declare(topology)
    return stub


@pytest.fixture
def store(broker: StubBroker) -> StubDeadLetterStore:
    return StubDeadLetterStore(broker)


@pytest.fixture
def queues(topology: Topology) -> list[str]:
    return dead_letter_queues(topology)


def iso(minutes_ago: float) -> str:
    return (START - timedelta(minutes=minutes_ago)).isoformat()


def bridge_letter(
    broker: StubBroker,
    n: int,
    *,
    system: str = "sap",
    doc_type: str = "ORDERS05",
    error: str = "MappingError",
    minutes_ago: float = 10,
    key: str = "order.created",
    **extra: Any,
) -> None:
    """A dead letter as the pipeline writes it: a copy to the DLX with x-bridge-* headers."""
    headers = {
        Headers.SOURCE_SYSTEM: system,
        Headers.DOCUMENT_TYPE: doc_type,
        Headers.DOCUMENT_ID: f"DOC{n}",
        Headers.STAGE: "deliver",
        Headers.ERROR_CLASS: error,
        Headers.ERROR_MESSAGE: f"field quantity: bad value {n}",
        Headers.MAPPING: "sap-orders05",
        Headers.FIELD: "quantity",
        Headers.ATTEMPTS: 4,
        Headers.FIRST_FAILURE: iso(minutes_ago + 5),
        Headers.LAST_FAILURE: iso(minutes_ago),
        Headers.ORIGINAL_EXCHANGE: NAMES.canonical_exchange,
        Headers.ORIGINAL_ROUTING_KEY: key,
        Headers.ORIGINAL_QUEUE: ORDERS,
        **extra,
    }
    out = OutMessage(
        NAMES.dead_letter_exchange,
        ORDERS,
        f'{{"n": {n}}}'.encode(),
        f"m{n}",
        "order.created",
        f"c{n}",
        headers,
        timestamp=1_714_560_000,
        content_type="application/json",
    )
    broker.channel().publish([out])


def broker_letter(broker: StubBroker, n: int, *, reject: bool) -> None:
    """A dead letter the broker made: rejected, or past the work queue's delivery limit (1)."""
    channel = broker.channel()
    channel.publish(
        [OutMessage(NAMES.canonical_exchange, "order.changed", f"raw {n}".encode(), f"b{n}", "order.changed")]
    )
    channel.consume(ORDERS)
    if reject:
        channel.nack(channel.get_batch(1, 0.0), requeue=False)
    else:
        for _ in range(2):
            channel.nack(channel.get_batch(1, 0.0), requeue=True)
    channel.close()


def ids(letters: Sequence[DeadLetter]) -> list[str]:
    return [dl.id for dl in letters]


def queued_ids(broker: StubBroker, queue: str = ORDERS_DLQ) -> list[str | None]:
    return [d.message_id for d in broker.messages(queue)]


# -- list ------------------------------------------------------------------------------------


def test_list_reads_the_bridge_headers(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    bridge_letter(broker, 1, minutes_ago=10)
    [dl] = list_dead_letters(store, queues, now=START)
    assert dl.id == "m1"
    assert dl.queue == ORDERS_DLQ
    assert (dl.source_system, dl.document_type, dl.document_id) == ("sap", "ORDERS05", "DOC1")
    assert (dl.stage, dl.error_class, dl.mapping, dl.field) == (
        "deliver",
        "MappingError",
        "sap-orders05",
        "quantity",
    )
    assert dl.error_message == "field quantity: bad value 1"
    assert dl.attempts == 4
    assert dl.first_failure == START - timedelta(minutes=15)
    assert dl.last_failure == START - timedelta(minutes=10)
    assert dl.age_seconds == 600
    assert (dl.original_exchange, dl.original_routing_key, dl.original_queue) == (
        NAMES.canonical_exchange,
        "order.created",
        ORDERS,
    )
    assert dl.replay_count == 0
    assert dl.body == b'{"n": 1}'
    assert not dl.broker_made


def test_list_shows_broker_made_dead_letters_from_x_death(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    broker_letter(broker, 1, reject=True)
    broker_letter(broker, 2, reject=False)
    rejected, limited = list_dead_letters(store, queues, now=START + timedelta(seconds=30))
    assert (rejected.error_class, limited.error_class) == ("rejected", "delivery_limit")
    for dl in (rejected, limited):
        assert dl.broker_made
        assert (dl.original_exchange, dl.original_routing_key, dl.original_queue) == (
            NAMES.canonical_exchange,
            "order.changed",
            ORDERS,
        )
        assert dl.last_failure == START
        assert dl.age_seconds == 30
        assert dl.source_system is None
        assert ORDERS in (dl.error_message or "")
    assert ids([rejected, limited]) == ["b1", "b2"]


def test_list_changes_nothing(broker: StubBroker, store: StubDeadLetterStore, queues: list[str]) -> None:
    for n in range(1, 4):
        bridge_letter(broker, n)
    first = list_dead_letters(store, queues, now=START)
    second = list_dead_letters(store, queues, now=START)
    assert ids(first) == ids(second) == ["m1", "m2", "m3"]
    assert queued_ids(broker) == ["m1", "m2", "m3"]
    assert broker.unacked(ORDERS_DLQ) == 0


def test_id_without_message_id_is_a_stable_hash(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    out = OutMessage(
        NAMES.dead_letter_exchange, ORDERS, b"raw", "", "", None, {Headers.ERROR_CLASS: "DecodeError"}
    )
    broker.channel().publish([out])
    [first] = list_dead_letters(store, queues)
    [second] = list_dead_letters(store, queues)  # now redelivered, with another x-delivery-count
    assert first.id.startswith("sha256:")
    assert first.id == second.id


# -- filters ---------------------------------------------------------------------------------


@pytest.fixture
def five(broker: StubBroker) -> StubBroker:
    bridge_letter(broker, 1, system="sap", doc_type="ORDERS05", error="MappingError", minutes_ago=120)
    bridge_letter(broker, 2, system="kingdee", doc_type="PRD_MO", error="MappingError", minutes_ago=90)
    bridge_letter(broker, 3, system="sap", doc_type="LOIPRO01", error="ValidationError", minutes_ago=60)
    bridge_letter(broker, 4, system="sap", doc_type="ORDERS05", error="BusinessRejection", minutes_ago=5)
    bridge_letter(broker, 5, system="yonyou", doc_type="ORDERS05", error="MappingError", minutes_ago=1)
    return broker


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (DeadLetterFilter(), ["m1", "m2", "m3", "m4", "m5"]),
        (DeadLetterFilter(source_system="SAP"), ["m1", "m3", "m4"]),
        (DeadLetterFilter(document_type="ORDERS05"), ["m1", "m4", "m5"]),
        (DeadLetterFilter(error_class="MappingError"), ["m1", "m2", "m5"]),
        (DeadLetterFilter(source_system="sap", document_type="orders05"), ["m1", "m4"]),
        (DeadLetterFilter(older_than_s=3600), ["m1", "m2", "m3"]),
        (DeadLetterFilter(newer_than_s=600), ["m4", "m5"]),
        (DeadLetterFilter(older_than_s=600, newer_than_s=5400), ["m2", "m3"]),
        (DeadLetterFilter(ids=("m2", "m5")), ["m2", "m5"]),
        (DeadLetterFilter(queue=ORDERS), ["m1", "m2", "m3", "m4", "m5"]),
        (DeadLetterFilter(queue=ORDERS_DLQ, error_class="ValidationError"), ["m3"]),
        (DeadLetterFilter(queue=TRANSLATE_DLQ), []),
    ],
)
def test_filters(
    five: StubBroker,
    store: StubDeadLetterStore,
    queues: list[str],
    criteria: DeadLetterFilter,
    expected: list[str],
) -> None:
    assert ids(list_dead_letters(store, queues, criteria, now=START)) == expected


def test_filter_is_empty() -> None:
    assert DeadLetterFilter().is_empty
    assert not DeadLetterFilter(error_class="MappingError").is_empty


# -- replay ----------------------------------------------------------------------------------


def test_replay_sends_matches_back_and_leaves_the_rest(
    five: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    replayed = replay(store, queues, DeadLetterFilter(error_class="MappingError"), by="alice", now=START)
    assert ids(replayed) == ["m1", "m2", "m5"]
    assert queued_ids(five) == ["m3", "m4"]
    back = five.messages(ORDERS)
    assert [d.message_id for d in back] == ["m1", "m2", "m5"]
    first = back[0]
    assert (first.exchange, first.routing_key) == (NAMES.canonical_exchange, "order.created")
    assert (first.body, first.correlation_id, first.type) == (b'{"n": 1}', "c1", "order.created")
    assert first.content_type == "application/json"
    assert first.timestamp == 1_714_560_000
    headers = first.headers
    assert not [h for h in headers if h.startswith(("x-bridge-error-", "x-death", "x-first-death"))]
    assert headers[Headers.ATTEMPTS] == 0
    assert headers[Headers.REPLAY_COUNT] == 1
    assert headers[Headers.REPLAYED_AT] == "2024-05-01T12:00:00+00:00"
    assert headers[Headers.REPLAYED_BY] == "alice"
    assert headers[Headers.SOURCE_SYSTEM] == "sap"
    assert [m.message_id for m in five.published(NAMES.canonical_exchange)] == ["m1", "m2", "m5"]


def test_replay_counts_up(broker: StubBroker, store: StubDeadLetterStore, queues: list[str]) -> None:
    bridge_letter(broker, 1, **{Headers.REPLAY_COUNT: 2})
    [dl] = replay(store, queues, DeadLetterFilter(), by="bob")
    assert dl.replay_count == 2
    assert broker.messages(ORDERS)[0].headers[Headers.REPLAY_COUNT] == 3


def test_replay_of_broker_made_letters_uses_x_death(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    broker_letter(broker, 1, reject=True)
    broker_letter(broker, 2, reject=False)
    replayed = replay(store, queues, DeadLetterFilter(error_class="delivery_limit"), by="ops")
    assert ids(replayed) == ["b2"]
    assert queued_ids(broker) == ["b1"]
    [back] = broker.messages(ORDERS)
    assert (back.message_id, back.exchange, back.routing_key) == (
        "b2",
        NAMES.canonical_exchange,
        "order.changed",
    )
    assert "x-death" not in back.headers
    assert "x-first-death-reason" not in back.headers
    assert back.redelivered is False


def test_failed_republish_keeps_the_letter(
    five: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    five.fail_next_publish("the broker refused the message (nack)")
    with pytest.raises(TransientError, match="nack"):
        replay(store, queues, DeadLetterFilter(ids=("m2", "m4")), by="alice")
    assert queued_ids(five) == ["m1", "m2", "m3", "m4", "m5"]
    assert five.depth(ORDERS) == 0


def test_unroutable_replay_stops_and_keeps_the_rest(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    bridge_letter(broker, 1)
    bridge_letter(broker, 2, key="shipment.created")  # nothing is bound for it any more
    bridge_letter(broker, 3)
    with pytest.raises(TransientError, match=r"t\.canonical/shipment\.created") as caught:
        replay(store, queues, DeadLetterFilter(), by="alice")
    assert "1 dead letter(s)" in "".join(caught.value.__notes__)
    assert queued_ids(broker) == ["m2", "m3"]
    assert [d.message_id for d in broker.messages(ORDERS)] == ["m1"]


def test_replay_without_an_origin_replays_nothing(
    broker: StubBroker, store: StubDeadLetterStore, queues: list[str]
) -> None:
    bridge_letter(broker, 1)
    out = OutMessage(
        NAMES.dead_letter_exchange, ORDERS, b"?", "m2", "x", None, {Headers.ERROR_CLASS: "DecodeError"}
    )
    broker.channel().publish([out])
    with pytest.raises(PermanentError, match="m2"):
        replay(store, queues, DeadLetterFilter(), by="alice")
    assert queued_ids(broker) == ["m1", "m2"]
    assert broker.depth(ORDERS) == 0


# -- purge -----------------------------------------------------------------------------------


def test_purge_removes_matches_only(five: StubBroker, store: StubDeadLetterStore, queues: list[str]) -> None:
    removed = purge(store, queues, DeadLetterFilter(source_system="sap", older_than_s=1800), now=START)
    assert ids(removed) == ["m1", "m3"]
    assert queued_ids(five) == ["m2", "m4", "m5"]
    assert five.depth(ORDERS) == 0


# -- helpers ---------------------------------------------------------------------------------


def letter(body: bytes) -> DeadLetter:
    return DeadLetter(
        id="x",
        queue="q",
        source_system=None,
        document_type=None,
        document_id=None,
        stage=None,
        error_class=None,
        error_message=None,
        mapping=None,
        field=None,
        attempts=0,
        first_failure=None,
        last_failure=None,
        age_seconds=None,
        original_exchange=None,
        original_routing_key=None,
        replay_count=0,
        body=body,
    )


def test_decode_payload() -> None:
    assert decode_payload(letter(b'{"a": [1, "\xc3\xa9"]}')) == '{\n  "a": [\n    1,\n    "é"\n  ]\n}'
    assert decode_payload(letter(b"EDI_DC40  800")) == "EDI_DC40  800"
    assert decode_payload(letter(b"\xff\x00")) == "b'\\xff\\x00'"


def test_dead_letter_queues(topology: Topology) -> None:
    # the MES feedback queue's dead letters are listed too (`bridge dlq` shows them)
    assert dead_letter_queues(topology) == [TRANSLATE_DLQ, ORDERS_DLQ, NAMES.dead_letter_queue(NAMES.feedback_queue)]
