"""The MES sink: canonical envelopes on the topic exchange ``mes.events``.

Routing key ``<entity>.<event>`` (``order.released``); message_id is the envelope's, so the
MES can recognise a message it has seen (AMQP delivery is at least once).

``write`` runs inside the ledger transaction of the delivery, so it does not wait for a lost
connection to come back: the deliver stage waits for it first (:meth:`MesSink.wait_ready`),
outside the transaction, and a connection lost in between fails the write at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.adapter.sink import SinkContext
from bridge.broker.confirms import PublishError
from bridge.broker.messages import Headers, OutMessage
from bridge.sinks.base import SinkItem, event_of

__all__ = ["MesSink", "make_mes_sink"]


class MesSink:
    """Publishes to the MES exchange with publisher confirms (blocking per batch)."""

    def __init__(self, name: str, channel: Any, exchange: str, *, confirm_timeout: float = 30.0) -> None:
        self.name = name
        self.channel = channel
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the channel is open (default: up to the confirm timeout); False if not."""
        return bool(self.channel.wait_ready(self.confirm_timeout if timeout is None else timeout))

    def write(self, items: Sequence[SinkItem]) -> None:
        """Publish every event (its bytes unchanged) and wait for the broker's confirms.

        Raises:
            PublishError: not connected now (not waited for), or not every event was
                confirmed; UnroutableError (a PublishError) for events no queue is bound for.
        """
        messages = []
        for item in items:
            event = event_of(item)
            kind = f"{event.entity}.{event.event}"
            messages.append(
                OutMessage(
                    exchange=self.exchange,
                    routing_key=kind,
                    body=event.body,
                    message_id=event.message_id,
                    type=kind,
                    correlation_id=event.correlation_id,
                    content_type="application/json",
                    headers={
                        Headers.ENTITY: event.entity,
                        Headers.EVENT: event.event,
                        Headers.VERSION: event.version,
                    },
                )
            )
        if not self.channel.wait_ready(0):
            raise PublishError(f"route {self.name}: not connected to the broker", messages)
        self.channel.publish(messages, timeout=self.confirm_timeout)

    def close(self) -> None:
        """Nothing to release: the channel belongs to the process's connection."""


def make_mes_sink(context: SinkContext) -> MesSink:
    """The sink of one MES route: a confirmed channel of the process's connection."""
    assert context.channel is not None, "the MES sink publishes: the runtime gives it a channel"
    return MesSink(
        context.route,
        context.channel(f"sink-{context.route}"),
        context.mes_exchange,
        confirm_timeout=context.confirm_timeout,
    )
