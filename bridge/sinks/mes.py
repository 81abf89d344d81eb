"""The MES sink: canonical envelopes on the topic exchange ``mes.events``.

Routing key ``<entity>.<event>`` (``order.released``); message_id is the envelope's, so the
MES can recognise a message it has seen (AMQP delivery is at least once).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bridge.broker.messages import Headers, OutMessage
from bridge.sinks.base import SinkItem, envelope_of

__all__ = ["MesSink"]


class MesSink:
    """Publishes to the MES exchange with publisher confirms (blocking per batch)."""

    def __init__(self, name: str, channel: Any, exchange: str, *, confirm_timeout: float = 30.0) -> None:
        self.name = name
        self.channel = channel
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout

    def write(self, items: Sequence[SinkItem]) -> None:
        """Publish every envelope and wait for the broker's confirms."""
        messages = []
        for item in items:
            envelope = envelope_of(item)
            entity, event = envelope["entity"], envelope["event"]
            messages.append(
                OutMessage(
                    exchange=self.exchange,
                    routing_key=f"{entity}.{event}",
                    body=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                    message_id=envelope["message_id"],
                    type=f"{entity}.{event}",
                    correlation_id=envelope.get("correlation_id"),
                    content_type="application/json",
                    headers={
                        Headers.ENTITY: entity,
                        Headers.EVENT: event,
                        Headers.VERSION: envelope["version"],
                    },
                )
            )
        self.channel.publish(messages, timeout=self.confirm_timeout)

    def close(self) -> None:
        """Nothing to release: the channel belongs to the process's connection."""
