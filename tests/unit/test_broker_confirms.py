"""Publisher confirms of the pika channel, message by message, without a broker.

The channel's IO-thread callbacks (``_confirmed``, ``_returned``, ``_closed``) are fed the frames
RabbitMQ would send: a return comes before the ack of the same message, acks may be
``multiple``. What :meth:`AmqpChannel.publish` raises must name every returned routing key (not
the first one for the whole batch) and carry exactly the messages that were not confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pika.spec import Basic

from bridge.broker.amqp import AmqpChannel
from bridge.broker.confirms import PublishError, UnroutableError
from bridge.broker.messages import OutMessage

MES = "t.mes.events"
EVENTS = ("order.released", "lot.changed", "material.upserted")


class FakeConnection:
    """Runs IO-thread calls at once (the test is the IO thread)."""

    closing = False

    def __init__(self) -> None:
        self.reopened: list[AmqpChannel] = []

    def call(self, func: Callable[[], None]) -> None:
        func()

    def register(self, channel: AmqpChannel) -> None:
        pass

    def reopen_later(self, channel: AmqpChannel, delay: float = 1.0) -> None:
        self.reopened.append(channel)


class ScriptedBroker:
    """A pika channel stand-in answering each publish as scripted: ack, nack, return (then
    ack), or nothing ("silent"; "close": nothing, and the channel closes after the batch).

    With ``multiple``, acks are held back and sent as one ``multiple`` ack after the last message.
    """

    is_open = True

    def __init__(self, answers: Sequence[str], *, multiple: bool = False) -> None:
        self.answers = list(answers)
        self.multiple = multiple
        self.tag = 0
        self.amqp: AmqpChannel | None = None

    def basic_publish(self, exchange: str, routing_key: str, body: bytes, properties: Any, mandatory: bool) -> None:
        assert mandatory
        assert self.amqp is not None
        self.tag += 1
        answer = self.answers[self.tag - 1]
        if answer == "return":
            self.amqp._returned(
                None,  # type: ignore[arg-type]
                Basic.Return(reply_code=312, reply_text="NO_ROUTE", exchange=exchange, routing_key=routing_key),
                properties,
                body,
            )
        if answer == "nack":
            self._frame(Basic.Nack(delivery_tag=self.tag, multiple=False))
        elif answer in ("ack", "return") and not self.multiple:
            self._frame(Basic.Ack(delivery_tag=self.tag, multiple=False))
        if self.tag == len(self.answers):
            if self.multiple:
                self._frame(Basic.Ack(delivery_tag=self.tag, multiple=True))
            if "close" in self.answers:  # the connection drops before those were confirmed
                self.amqp._closed(None, Exception("CONNECTION_FORCED - broker forced connection closure"))  # type: ignore[arg-type]

    def _frame(self, method: Any) -> None:
        assert self.amqp is not None
        self.amqp._confirmed(SimpleNamespace(method=method))


def channel_for(broker: ScriptedBroker) -> AmqpChannel:
    channel = AmqpChannel(FakeConnection(), prefetch=None, name="sink-mes")  # type: ignore[arg-type]
    channel._channel = broker  # type: ignore[assignment]
    channel._ready.set()
    broker.amqp = channel
    return channel


def events(*keys: str) -> list[OutMessage]:
    return [OutMessage(MES, key, b"{}", f"m{n}", key) for n, key in enumerate(keys, start=1)]


def publish(answers: Sequence[str], messages: Sequence[OutMessage], *, multiple: bool = False) -> PublishError | None:
    channel = channel_for(ScriptedBroker(answers, multiple=multiple))
    try:
        channel.publish(messages, timeout=0.05)
    except PublishError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    ("keys", "answers", "named", "unconfirmed"),
    [
        pytest.param(
            EVENTS,
            ["return"] * 3,
            [f"{MES}/order.released", f"{MES}/lot.changed", f"{MES}/material.upserted"],
            ["m1", "m2", "m3"],
            id="issue-nothing-bound-every-event-is-named",
        ),
        pytest.param(
            ("lot.changed", "order.released", "order.released"),
            ["return"] * 3,
            [f"{MES}/lot.changed", f"{MES}/order.released"],
            ["m1", "m2", "m3"],
            id="issue-a-lot-first-does-not-name-the-orders-lot-changed",
        ),
        pytest.param(
            EVENTS,
            ["ack", "return", "ack"],
            [f"{MES}/lot.changed"],
            ["m2"],
            id="only-the-returned-one",
        ),
    ],
)
def test_an_unroutable_error_names_every_returned_routing_key_and_carries_only_those(
    keys: Sequence[str], answers: Sequence[str], named: list[str], unconfirmed: list[str]
) -> None:
    error = publish(answers, events(*keys))
    assert isinstance(error, UnroutableError)
    for route in named:
        assert route in str(error)
    assert [f"{e}/{k}" for e, k in error.routes] == named
    assert [m.message_id for m in error.unconfirmed] == unconfirmed
    assert "\n" not in str(error)


def test_one_returned_message_reads_as_before() -> None:
    error = publish(["return"], events("order.released"))
    assert str(error) == f"unroutable: no queue is bound for {MES}/order.released (NO_ROUTE)"


def test_the_error_for_one_returned_message_names_its_own_event() -> None:
    error = publish(["return"] * 3, events(*EVENTS))
    assert isinstance(error, UnroutableError)
    assert str(error.only("m2")) == f"unroutable: no queue is bound for {MES}/lot.changed (NO_ROUTE)"
    assert [m.message_id for m in error.only("m2").unconfirmed] == ["m2"]


@pytest.mark.parametrize(
    ("answers", "message", "unconfirmed"),
    [
        pytest.param(
            ["ack", "close", "close"], "channel closed before the broker confirmed", ["m2", "m3"], id="issue-broker-restart"
        ),
        pytest.param(["ack", "nack", "ack"], "the broker refused 1 message(s) (nack)", ["m2"], id="nack"),
        pytest.param(["ack", "silent", "silent"], "did not confirm 2 message(s)", ["m2", "m3"], id="no-confirm"),
    ],
)
def test_a_failed_publish_says_why_and_which_messages_to_publish_again(
    answers: Sequence[str], message: str, unconfirmed: list[str]
) -> None:
    error = publish(answers, events(*EVENTS))
    assert type(error) is PublishError
    assert message in str(error)
    assert [m.message_id for m in error.unconfirmed] == unconfirmed


def test_a_channel_that_is_not_open_fails_with_every_message_unconfirmed() -> None:
    channel = AmqpChannel(FakeConnection(), prefetch=None, name="ingest")  # type: ignore[arg-type]
    with pytest.raises(PublishError, match="not connected") as caught:
        channel.publish(events(*EVENTS), timeout=0.01)
    assert len(caught.value.unconfirmed) == 3


def test_a_lost_connection_is_logged_once_per_channel(caplog: pytest.LogCaptureFixture) -> None:
    channel = channel_for(ScriptedBroker([]))
    reason = Exception("CONNECTION_FORCED")
    channel._closed(None, reason)  # type: ignore[arg-type]  # pika's channel callback
    channel._closed(None, reason)  # type: ignore[arg-type]  # AmqpConnection._lost
    assert [r.message for r in caplog.records].count("channel sink-mes closed: CONNECTION_FORCED") == 1


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(st.tuples(st.sampled_from(EVENTS), st.sampled_from(["ack", "nack", "return"])), min_size=1, max_size=25),
    multiple=st.booleans(),
)
def test_every_message_not_acked_is_reported_unconfirmed_and_every_returned_key_is_named(
    batch: list[tuple[str, str]], multiple: bool
) -> None:
    if multiple:  # a multiple ack confirms everything up to it: no nacks in between
        batch = [(key, "ack" if answer == "nack" else answer) for key, answer in batch]
    messages = events(*(key for key, _ in batch))
    answers = [answer for _, answer in batch]
    error = publish(answers, messages, multiple=multiple)

    expected_unconfirmed = [m.message_id for m, a in zip(messages, answers, strict=True) if a != "ack"]
    returned_keys = list(dict.fromkeys(m.routing_key for m, a in zip(messages, answers, strict=True) if a == "return"))
    if not expected_unconfirmed:
        assert error is None
        return
    assert error is not None
    assert [m.message_id for m in error.unconfirmed] == expected_unconfirmed
    if returned_keys:
        assert isinstance(error, UnroutableError)
        assert [key for _, key in error.routes] == returned_keys
        assert all(f"{MES}/{key}" in str(error) for key in returned_keys)
    else:
        assert not isinstance(error, UnroutableError)
        assert f"refused {len(expected_unconfirmed)} message(s)" in str(error)
