"""The process's one RabbitMQ connection: pika's SelectConnection on an IO thread that
reconnects with backoff and reopens every channel (see :mod:`bridge.broker.amqp`)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pika
import pika.exceptions

from bridge.errors import TransientError

if TYPE_CHECKING:
    from bridge.broker.amqp import AmqpChannel

__all__ = ["AmqpConnection"]

log = logging.getLogger("bridge.broker.amqp")


class AmqpConnection:
    """The process's one connection to RabbitMQ, kept open (and reopened) by an IO thread.

    Args:
        url: ``amqp://user:password@host:port/vhost`` (never logged with its password).
        heartbeat: heartbeat interval in seconds.
        reconnect_max_wait: the longest pause between reconnect attempts.
        name: connection name shown in the RabbitMQ management UI.
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat: int = 30,
        reconnect_max_wait: float = 30.0,
        name: str = "erp-mes-bridge",
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        params = pika.URLParameters(url)
        params.heartbeat = heartbeat
        params.client_properties = {"connection_name": name}
        params.connection_attempts = 1
        params.socket_timeout = 10
        self._params = params
        self._reconnect_max_wait = reconnect_max_wait
        self._on_state = on_state
        self._channels: list[AmqpChannel] = []
        self._connection: pika.SelectConnection | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.closing = False
        self.generation = 0
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        """Whether the connection is open right now."""
        return self._connected.is_set()

    def start(self, wait: float = 0.0) -> None:
        """Start the IO thread; with ``wait`` > 0, wait that long for the first connection.

        Raises:
            TransientError: not connected within ``wait`` seconds (the thread keeps trying).
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="amqp-io", daemon=True)
            self._thread.start()
        if wait > 0 and not self._connected.wait(wait):
            raise TransientError(f"cannot connect to RabbitMQ: {self.last_error or 'timed out'}")

    def channel(self, *, prefetch: int | None = None, name: str = "channel") -> AmqpChannel:
        """A new channel (opened now if connected, and again after every reconnect)."""
        from bridge.broker.amqp import AmqpChannel

        channel = AmqpChannel(self, prefetch=prefetch, name=name)
        self.register(channel)
        return channel

    def register(self, channel: AmqpChannel) -> None:
        with self._lock:
            if channel not in self._channels:
                self._channels.append(channel)
                known = False
            else:
                known = True
        if self.connected and not known:
            connection, generation = self._connection, self.generation
            self.call(lambda: channel._open(connection, generation))  # type: ignore[arg-type]
        elif known and self.connected and channel._channel is not None and channel._queue:
            self.call(lambda: channel._consume(channel._channel))  # type: ignore[arg-type]

    def reopen_later(self, channel: AmqpChannel, delay: float = 1.0) -> None:
        """Reopen a channel the broker closed (the connection is still up); IO thread only."""
        connection, generation = self._connection, self.generation
        if connection is None or not self.connected:
            return  # a reconnect reopens every channel anyway

        def reopen() -> None:
            if self.connected and self.generation == generation and channel._channel is None:
                channel._open(connection, generation)

        connection.ioloop.call_later(delay, reopen)

    def call(self, func: Callable[[], None]) -> None:
        """Run ``func`` on the IO thread (pika objects are not thread-safe)."""
        connection = self._connection
        if connection is None or not self.connected:
            # nothing to run it on; the caller's wait will time out or the channel reopen
            return
        try:
            connection.ioloop.add_callback_threadsafe(func)
        except (RuntimeError, AttributeError, pika.exceptions.AMQPError) as exc:
            log.debug("cannot schedule on the IO loop: %s", exc)

    def close(self, timeout: float = 10.0) -> None:
        """Close the connection and stop the IO thread."""
        self.closing = True
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.ioloop.add_callback_threadsafe(self._close_now)
        if self._thread is not None:
            self._thread.join(timeout)

    def _close_now(self) -> None:
        connection = self._connection
        if connection is not None and connection.is_open:
            connection.close()
        elif connection is not None:
            connection.ioloop.stop()

    # -- IO thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.5
        while not self.closing:
            connection = pika.SelectConnection(
                self._params,
                on_open_callback=self._opened,
                on_open_error_callback=self._open_failed,
                on_close_callback=self._lost,
            )
            self._connection = connection
            try:
                connection.ioloop.start()
            except Exception as exc:  # the loop must never die silently
                log.exception("AMQP IO loop failed: %s", exc)
            if self.closing:
                break
            if self._connected.is_set():
                self._connected.clear()
            time.sleep(delay)
            delay = min(delay * 2, self._reconnect_max_wait)
            if self.last_error is None:
                delay = 0.5
        self._connected.clear()

    def _opened(self, connection: pika.SelectConnection) -> None:
        self.generation += 1
        self.last_error = None
        self._connected.set()
        with self._lock:
            channels = list(self._channels)
        for channel in channels:
            channel._open(connection, self.generation)
        log.info("connected to RabbitMQ (%s:%s)", self._params.host, self._params.port)
        if self._on_state:
            self._on_state(True)

    def _open_failed(self, connection: pika.SelectConnection, error: Exception | str) -> None:
        self.last_error = str(error) or type(error).__name__
        log.warning(
            "cannot connect to RabbitMQ at %s:%s: %s", self._params.host, self._params.port, self.last_error
        )
        connection.ioloop.stop()

    def _lost(self, connection: pika.SelectConnection, reason: Exception) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        with self._lock:
            channels = list(self._channels)
        for channel in channels:
            channel._closed(channel._channel, reason)  # type: ignore[arg-type]
        if not self.closing:
            self.last_error = str(reason)
            if was_connected:
                log.warning("lost the RabbitMQ connection: %s; reconnecting", reason)
        if self._on_state:
            self._on_state(False)
        connection.ioloop.stop()
