"""With nothing bound for some MES events, each is retried naming its own event, and the route
warns once, not for every batch, message and retry (issue 7, section 5).

The pipeline runs on the in-memory stub broker, which returns unroutable mandatory messages as
RabbitMQ does. Also here: a broker sink is waited for before the ledger transaction, never
inside it, so a restarting broker does not hold the embedded ledger's write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.mes.sink import MesSink
from bridge.broker import Headers, Names, build_topology
from bridge.broker.confirms import PublishError, UnroutableError
from bridge.broker.stub import StubBroker
from bridge.codecs import codec_for
from bridge.errors import TransientError
from bridge.ledger import DeliveryItem, Ledger, RawRecord
from bridge.pipeline import DeliverStage, Ingestor, RetryPolicy, TranslateStage, Worker
from bridge.pipeline.direct import DirectDelivery, DirectRoute
from bridge.pipeline.unroutable import UnroutableEvents
from bridge.sinks.base import SinkEvent

from .test_pipeline_stub import CASES, CATALOG, Route

NAMES = Names(prefix="t", mes_exchange="t.mes")
TAP = "t.mes.tap"
EVENTS = {  # sample -> its MES event
    "LOIPRO05_S4HANA_Original.xml": "order.released",
    "BATMAS03_example.xml": "lot.changed",
    "MATMAS05_DMC_R1CH01007_raw.xml": "material.upserted",
}


class Pipeline:
    """Ingest, translate and deliver to a ``mes`` route on a stub broker, stepped by hand.

    Args:
        bound: the MES events a queue is bound for (topic patterns); none: nothing is bound.
        direct: translate delivers in-process (``bridge run``) instead of through the queue.
    """

    def __init__(self, ledger_url: str, bound: Sequence[str] = (), *, direct: bool = False) -> None:
        self.broker = StubBroker()
        self.broker.declare(build_topology(NAMES, routes=[Route("mes", "mes", ("#",))], retry_tiers=(5, 30)))
        for pattern in bound:
            self.broker.bind(TAP, NAMES.mes_exchange, pattern)
        self.ledger = Ledger.connect(ledger_url)
        policy = RetryPolicy(NAMES, tiers=(5, 30), in_process_attempts=1, in_process_wait=0)
        self.ingestor = Ingestor(NAMES, self.broker.channel(name="ingest"), self.ledger, codec_for=codec_for)
        sink = MesSink("mes", self.broker.channel(name="sink-mes"), NAMES.mes_exchange)
        self.stage = DeliverStage("mes", NAMES.deliver_queue("mes"), sink, self.ledger)
        self.deliver = self._worker(self.stage, policy)
        routes = DirectDelivery([DirectRoute(("#",), self.stage)]) if direct else None
        self.translate = self._worker(
            TranslateStage(NAMES, CATALOG, self.ledger, codec_for=codec_for, direct=routes), policy
        )

    def _worker(self, stage: Any, policy: RetryPolicy) -> Worker:
        channel = self.broker.channel(prefetch=100, name=stage.queue)
        channel.consume(stage.queue)
        return Worker(stage, channel, policy)

    def ingest(self, *samples: str) -> None:
        self.ingestor.ingest(self.ingestor.prepare([((CASES / s).read_bytes(), s) for s in samples], "sap"))

    def drain(self) -> None:
        while self._step(self.translate) + self._step(self.deliver):
            pass

    def _step(self, worker: Worker) -> int:
        batch = worker.channel.get_batch(100, 0, block=0)
        if batch:
            worker.handle(batch)
        return len(batch)

    def retrying(self, tier: int) -> dict[str, str]:
        """``{event: error message}`` of the events waiting in a retry queue."""
        return self._errors(NAMES.retry_queue(NAMES.deliver_queue("mes"), tier))

    def dead(self) -> dict[str, str]:
        """``{event: error message}`` of the route's dead letters."""
        return self._errors(NAMES.dead_letter_queue(NAMES.deliver_queue("mes")))

    def _errors(self, queue: str) -> dict[str, str]:
        return {
            f"{m.header(Headers.ENTITY)}.{m.header(Headers.EVENT)}": m.header(Headers.ERROR_MESSAGE)
            for m in self.broker.messages(queue)
        }

    def delivered(self) -> list[str]:
        return sorted(m.routing_key for m in self.broker.messages(TAP)) if TAP in self.broker.queue_names() else []


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="bridge"):
        yield caplog


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def unroutable(event: str) -> str:
    return f"unroutable: no queue is bound for {NAMES.mes_exchange}/{event} (NO_ROUTE)"


@pytest.mark.parametrize("direct", [pytest.param(False, id="through-the-queue"), pytest.param(True, id="direct")])
def test_with_nothing_bound_the_route_warns_once_and_every_retry_names_its_own_event(
    ledger_url: str, logs: pytest.LogCaptureFixture, direct: bool
) -> None:
    pipeline = Pipeline(ledger_url, direct=direct)
    pipeline.ingest(*EVENTS)
    pipeline.drain()
    assert pipeline.retrying(5) == {event: unroutable(event) for event in EVENTS.values()}
    pipeline.broker.advance(5)
    pipeline.drain()
    pipeline.broker.advance(30)
    pipeline.drain()
    dead = pipeline.dead()
    assert sorted(dead) == sorted(EVENTS.values())
    for event, reason in dead.items():
        assert reason == f"retries exhausted after 2 delayed attempt(s): {unroutable(event)}"

    [warning] = warnings(logs)  # one, not one per batch, message and retry
    assert warning.startswith("route mes: unroutable: no queue is bound for ")
    for event in EVENTS.values():
        assert f"t.mes/{event}" in warning
    retried = [r for r in logs.records if r.getMessage().startswith("will retry: ")]
    assert len(retried) == 6
    assert all(r.levelno == logging.DEBUG for r in retried)
    assert sum(r.getMessage().startswith("dead-lettered: ") for r in logs.records) == 3  # each stays an ERROR


def test_in_a_mixed_batch_the_routable_events_are_delivered_and_only_the_others_retried(
    ledger_url: str, logs: pytest.LogCaptureFixture
) -> None:
    pipeline = Pipeline(ledger_url, bound=["order.*"])
    pipeline.ingest(*EVENTS)
    pipeline.drain()
    assert pipeline.delivered() == ["order.released"]
    assert pipeline.retrying(5) == {"lot.changed": unroutable("lot.changed"), "material.upserted": unroutable("material.upserted")}
    [warning] = warnings(logs)
    assert "t.mes/lot.changed" in warning
    assert "order.released" not in warning
    order = pipeline.ledger.journal("sap:S4HCLNT100:0000000000430094:order")
    assert [(e.stage, e.status) for e in order] == [("deliver:mes", "delivered")]


def test_a_route_whose_events_are_bound_again_says_so_once(ledger_url: str, logs: pytest.LogCaptureFixture) -> None:
    pipeline = Pipeline(ledger_url)
    pipeline.ingest(*EVENTS)
    pipeline.drain()
    pipeline.broker.bind(TAP, NAMES.mes_exchange, "#")  # the MES side comes up
    pipeline.broker.advance(5)
    pipeline.drain()
    assert pipeline.delivered() == sorted(EVENTS.values())
    assert [r.getMessage() for r in logs.records if "routable again" in r.getMessage()] == [
        "route mes: every event is routable again"
    ]
    assert len(warnings(logs)) == 1


@pytest.mark.parametrize(
    ("steps", "warned", "recovered"),
    [
        pytest.param([("returned", "lot.changed")] * 5, 1, 0, id="repeats-are-quiet"),
        pytest.param(
            [("returned", "lot.changed"), ("delivered", "lot.changed"), ("returned", "lot.changed")],
            2,
            1,
            id="warns-again-after-recovering-and-breaking-again",
        ),
        pytest.param(
            [("returned", "lot.changed"), ("delivered", "order.released"), ("returned", "lot.changed")],
            1,
            0,
            id="other-events-delivered-are-no-recovery",
        ),
        pytest.param(
            [("returned", "lot.changed"), ("returned", "order.released"), ("delivered", "lot.changed")],
            1,
            0,
            id="recovered-only-when-every-event-is-delivered",
        ),
    ],
)
def test_a_route_warns_when_it_breaks_and_again_only_after_it_recovered(
    steps: list[tuple[str, str]], warned: int, recovered: int, logs: pytest.LogCaptureFixture
) -> None:
    events = UnroutableEvents("mes")
    for step, event in steps:
        if step == "returned":
            error = UnroutableError({"m1": ("t.mes", event)})
            events.returned(error, [event])
            assert error.reported
        else:
            events.delivered([event])
    assert len(warnings(logs)) == warned
    assert sum("routable again" in r.getMessage() for r in logs.records) == recovered


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.sets(st.sampled_from(sorted(EVENTS.values())), min_size=1)), max_size=30
    )
)
def test_warnings_count_the_times_a_route_broke_and_all_clears_the_times_it_recovered(
    steps: list[tuple[bool, set[str]]],
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("bridge.pipeline.unroutable")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    tracked = UnroutableEvents("mes")
    model: set[str] = set()
    breaks = recoveries = 0
    try:
        for returned, names in steps:
            if returned:
                breaks += not model
                model |= names
                tracked.returned(UnroutableError({n: ("t.mes", n) for n in names}), names)
            else:
                recoveries += bool(model) and not (model - names)
                model -= names
                tracked.delivered(names)
            assert tracked.events == model
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert sum(r.levelno == logging.WARNING for r in records) == breaks
    assert sum("routable again" in r.getMessage() for r in records) == recoveries


@settings(max_examples=25, deadline=None)
@given(
    bound=st.sets(st.sampled_from(sorted(EVENTS.values()))),
    order=st.permutations(sorted(EVENTS)),
    direct=st.booleans(),
)
def test_bound_events_are_delivered_once_and_the_others_retried_each_naming_itself(
    bound: set[str], order: list[str], direct: bool
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("bridge").addHandler(handler)
    try:
        pipeline = Pipeline("sqlite://", bound=sorted(bound), direct=direct)
        pipeline.ingest(*order)
        pipeline.drain()
    finally:
        logging.getLogger("bridge").removeHandler(handler)
    unbound = set(EVENTS.values()) - bound
    assert pipeline.delivered() == sorted(bound)
    assert pipeline.retrying(5) == {event: unroutable(event) for event in unbound}
    assert sum(r.levelno == logging.WARNING for r in records) == (1 if unbound else 0)
    pipeline.ledger.close()


# -- a broker sink and the ledger's write lock ------------------------------------------------


class ReconnectingChannel:
    """A sink channel that is reconnecting: ``wait_ready`` with a timeout runs ``meanwhile``."""

    def __init__(self, meanwhile: Any = None, *, up: bool = True) -> None:
        self.meanwhile = meanwhile
        self.up = up
        self.waits: list[float] = []
        self.published: list[str] = []

    def wait_ready(self, timeout: float) -> bool:
        self.waits.append(timeout)
        if timeout and self.meanwhile is not None:
            self.meanwhile()
        return self.up

    def publish(self, messages: Sequence[Any], timeout: float = 30.0) -> None:
        self.published.extend(m.message_id for m in messages)


def item(message_id: str = "sap:S4HCLNT100:0000000000430094:order") -> DeliveryItem:
    event = SinkEvent(b"{}", "order", "released", message_id, None, "1")
    return DeliveryItem(message_id, "order", "1895938", "1", event)


def test_a_broker_sink_is_waited_for_before_the_ledger_transaction_not_inside_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger.connect(url) as ledger, Ledger.connect(url, busy_timeout=0.1) as other_process:
        written: list[str] = []

        def another_writer() -> None:  # fails with "database is locked" if the lock were held now
            other_process.archive_raw([RawRecord("raw-1", "sap", "LOIPRO05", "1", b"<IDOC/>")])
            written.append("raw-1")

        channel = ReconnectingChannel(another_writer)
        stage = DeliverStage("mes", "t.deliver.mes", MesSink("mes", channel, "t.mes", confirm_timeout=7), ledger)
        assert [str(d) for d in stage.deliver([item()])] == ["applied"]
    assert written == ["raw-1"]
    assert channel.waits == [7, 0]  # waited up to the confirm timeout first, then only checked
    assert channel.published == ["sap:S4HCLNT100:0000000000430094:order"]


def test_a_broker_that_stays_down_fails_the_delivery_before_the_ledger_is_touched(tmp_path: Path) -> None:
    class NoLedger:
        def deliver(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("the ledger transaction must not begin")

    channel = ReconnectingChannel(up=False)
    stage = DeliverStage("mes", "t.deliver.mes", MesSink("mes", channel, "t.mes", confirm_timeout=3), NoLedger())
    with pytest.raises(TransientError, match="route mes: not connected to the broker"):
        stage.deliver([item()])


def test_inside_the_transaction_a_lost_connection_fails_at_once_instead_of_waiting() -> None:
    channel = ReconnectingChannel(up=False)
    with pytest.raises(PublishError, match="route mes: not connected to the broker") as caught:
        MesSink("mes", channel, "t.mes", confirm_timeout=30).write([item()])
    assert channel.waits == [0]
    assert [m.message_id for m in caught.value.unconfirmed] == ["sap:S4HCLNT100:0000000000430094:order"]
