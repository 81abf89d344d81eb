"""The HTTP server every ERP simulator runs on: threads per request, a daemon serving thread,
``start``/``stop`` or ``with``, and the base URL it listens at."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

__all__ = ["HttpSimulator"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a bridge opening its whole pool at once is not refused (the default is 5)


class HttpSimulator:
    """Base of a simulator: :meth:`handler_class` gives its request handler (which finds the
    simulator as ``self.simulator``); :meth:`started` and :meth:`stopping` hook in around the
    server's life."""

    thread_name: ClassVar[str] = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        handler = type("Handler", (self.handler_class(),), {"simulator": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        self.started()
        return self

    def started(self) -> None:
        """Called once the server listens."""

    def stopping(self) -> None:
        """Called before the server stops."""

    def stop(self) -> None:
        self.stopping()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"
