"""How the runtime reaches its broker: declare the topology, open a connection.

``bridge run`` uses :class:`AmqpConnector` (RabbitMQ); tests build the same runtime on
:class:`StubConnector` (the in-memory broker), so that what they run is what ``bridge run`` runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Protocol

from bridge.broker.messages import Delivery
from bridge.broker.topology import Topology

__all__ = ["AmqpConnector", "BrokerConnector", "StubConnector"]


class BrokerConnector(Protocol):
    """Declares topologies and opens connections (an AmqpConnection or alike)."""

    def declare(self, topology: Topology) -> None: ...

    def connect(self, name: str) -> Any: ...


class AmqpConnector:
    """RabbitMQ at the settings' ``amqp_url``."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def declare(self, topology: Topology) -> None:
        from bridge.broker.declare import declare_topology

        declare_topology(self.settings.amqp_url, topology)

    def connect(self, name: str) -> Any:
        from bridge.broker.amqp import AmqpConnection

        broker = self.settings.broker
        return AmqpConnection(
            self.settings.amqp_url,
            heartbeat=broker.heartbeat_s,
            reconnect_max_wait=broker.reconnect_max_wait_s,
            name=f"{name}:{os.getpid()}",
        )


class _PollingChannel:
    """A stub channel whose ``get_batch`` waits a little when the queue is empty, as a real
    consumer blocks, so worker threads do not spin."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def get_batch(self, max_items: int, wait: float, block: float = 1.0) -> list[Delivery]:
        batch = self._channel.get_batch(max_items, wait, block)
        if not batch:
            time.sleep(min(block, 0.005))
        return batch

    def queue_depths(self, queues: Sequence[str], timeout: float = 5.0) -> dict[str, int]:
        return {queue: self._channel._broker.depth(queue) for queue in queues}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


class _StubConnection:
    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self.connected = True
        self.last_error: str | None = None

    def start(self, wait: float = 0) -> None:
        """Nothing to wait for."""

    def channel(self, *, prefetch: int | None = None, name: str = "channel") -> Any:
        return _PollingChannel(self._broker.channel(prefetch=prefetch, name=name))

    def close(self) -> None:
        self.connected = False


class StubConnector:
    """The in-memory :class:`~bridge.broker.stub.StubBroker`."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    def declare(self, topology: Topology) -> None:
        self.broker.declare(topology)

    def connect(self, name: str) -> Any:
        return _StubConnection(self.broker)
