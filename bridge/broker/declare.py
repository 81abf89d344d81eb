"""Declare a topology on RabbitMQ (idempotent), at start-up and by ``bridge topology declare``."""

from __future__ import annotations

import pika
import pika.exceptions

from bridge.broker.topology import Topology
from bridge.errors import ConfigError, TransientError

__all__ = ["declare_topology", "delete_topology", "open_blocking"]


def open_blocking(url: str, *, timeout: float = 10.0) -> pika.BlockingConnection:
    """A short-lived blocking connection (start-up, admin commands, tests)."""
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    try:
        return pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        raise TransientError(f"cannot connect to RabbitMQ at {params.host}:{params.port}: {exc!r}") from exc


def declare_topology(url: str, topology: Topology) -> None:
    """Declare every exchange, queue and binding; existing ones with the same settings stay.

    Raises:
        ConfigError: a queue or exchange exists with other arguments (e.g. classic vs quorum).
        TransientError: the broker cannot be reached.
    """
    connection = open_blocking(url)
    try:
        channel = connection.channel()
        current = ""
        try:
            for exchange in topology.exchanges:
                current = f"exchange {exchange.name}"
                channel.exchange_declare(exchange.name, exchange.type, durable=True)
            for queue in topology.queues:
                current = f"queue {queue.name}"
                channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
            for binding in topology.bindings:
                current = f"binding {binding.queue} <- {binding.exchange} ({binding.routing_key})"
                channel.queue_bind(binding.queue, binding.exchange, routing_key=binding.routing_key)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 406:
                raise ConfigError(
                    f"{current} already exists with other settings ({exc.reply_text}); delete it or "
                    "choose another broker.prefix / broker.queue_type"
                ) from exc
            raise TransientError(f"declaring {current} failed: {exc.reply_text}") from exc
        except pika.exceptions.AMQPError as exc:
            raise TransientError(f"declaring {current} failed: {exc!r}") from exc
    finally:
        if connection.is_open:
            connection.close()


def delete_topology(url: str, topology: Topology) -> None:
    """Delete every queue and exchange of a topology (tests clean up with it)."""
    connection = open_blocking(url)
    try:
        channel = connection.channel()
        for queue in topology.queues:
            channel.queue_delete(queue.name)
        for exchange in topology.exchanges:
            channel.exchange_delete(exchange.name)
    finally:
        if connection.is_open:
            connection.close()
