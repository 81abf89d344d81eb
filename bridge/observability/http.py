"""The bridge's HTTP port: ``/metrics``, ``/healthz`` (liveness), ``/readyz`` (readiness), and
the receivers' routes (``POST /api/v1/feedback``, ``POST /api/v1/sap/idoc``, see
:mod:`bridge.receivers`).

``/readyz`` runs each readiness check (``{"broker": ping_broker, "database": ledger.ping}``), each
in its own daemon thread with a short timeout, so a hung dependency cannot hang the probe. A check
passes when it returns; it fails when it raises (or returns ``False``). Error text is redacted.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bridge.observability.metrics import Metrics, metrics_payload
from bridge.receivers.request import BodyError, HttpRequest, HttpResponse, Route
from bridge.redaction import redact

__all__ = ["CHECK_TIMEOUT_S", "HealthServer", "run_checks"]

_log = logging.getLogger(__name__)

#: Seconds each readiness check may take before it counts as failed.
CHECK_TIMEOUT_S = 2.0


def run_checks(
    checks: Mapping[str, Callable[[], object]], timeout: float = CHECK_TIMEOUT_S
) -> dict[str, str]:
    """Run the checks in parallel; ``{"name": "ok" | "<error>"}`` (redacted error text)."""
    results: dict[str, str] = {}

    def run(name: str, check: Callable[[], object]) -> None:
        try:
            outcome = check()
        except Exception as exc:
            results[name] = redact(f"{type(exc).__name__}: {exc}")
        else:
            results[name] = "not ready" if outcome is False else "ok"

    threads = [
        threading.Thread(target=run, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    for name, thread in zip(checks, threads, strict=True):
        thread.join(timeout)
        if thread.is_alive():
            results.setdefault(name, f"timed out after {timeout:g}s")
    return {name: results[name] for name in checks}


class HealthServer:
    """Serves /metrics, /healthz and /readyz from a daemon thread.

    Args:
        host: interface to listen on.
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        readiness: named checks for /readyz; each raises when its dependency is unavailable.
        metrics_payload: returns ``(body, content_type)`` for /metrics.
        metrics: when given, ``bridge_up{component}`` follows the readiness results.
        check_timeout: seconds each readiness check may take.
        routes: the receivers served besides the operator's endpoints.
    """

    def __init__(
        self,
        host: str,
        port: int,
        readiness: Mapping[str, Callable[[], object]] | None = None,
        metrics_payload: Callable[[], tuple[bytes, str]] = metrics_payload,
        *,
        metrics: Metrics | None = None,
        check_timeout: float = CHECK_TIMEOUT_S,
        routes: Sequence[Route] = (),
    ) -> None:
        self.host = host
        self._port = port
        self.readiness = dict(readiness or {})
        self.metrics_payload = metrics_payload
        self.metrics = metrics
        self.check_timeout = check_timeout
        self.routes = {(route.method.upper(), route.path): route for route in routes}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one once started, also when 0 was asked)."""
        return self._server.server_address[1] if self._server else self._port

    def start(self) -> HealthServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer((self.host, self._port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="bridge-http", daemon=True
        )
        self._thread.start()
        _log.info("health endpoint listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Run the readiness checks, update ``bridge_up``; ``(all_ok, results)``."""
        results = run_checks(self.readiness, self.check_timeout)
        if self.metrics is not None:
            for name, result in results.items():
                self.metrics.set_up(name, result == "ok")
        return all(result == "ok" for result in results.values()), results


def _handler_for(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

        def _route(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            route = server.routes.get((method, path))
            if route is None:
                known = sorted({p for m, p in server.routes if p == path})
                status = 405 if known else 404
                self.close_connection = True
                self._json(
                    status,
                    {"status": "not found" if status == 404 else "method not allowed", "path": redact(path)},
                )
                return
            request = HttpRequest(
                method,
                path,
                query,
                {name.lower(): value for name, value in self.headers.items()},
                self.rfile,  # type: ignore[arg-type]
                self.address_string(),
            )
            try:
                response = route.handler(request)
            except BodyError as exc:
                response = HttpResponse.error(exc.status, exc.reason)
                self.close_connection = True  # the unread body must not be taken for a request
            except Exception as exc:
                _log.exception("receiver %s %s failed", method, path)
                response = HttpResponse.error(500, redact(f"{type(exc).__name__}: {exc}"))
                self.close_connection = True
            if response.status >= 400:
                self.close_connection = True  # the body may be unread: never parse it as a request
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(response.body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if (("GET", path)) in server.routes:
                self._route("GET")
                return
            try:
                if path == "/metrics":
                    if server.metrics is not None:  # bridge_up as of this scrape, not of the last probe
                        server.ready()
                    body, content_type = server.metrics_payload()
                    self._send(200, body, content_type)
                elif path == "/healthz":
                    self._json(200, {"status": "ok"})
                elif path == "/readyz":
                    ok, checks = server.ready()
                    self._json(
                        200 if ok else 503, {"status": "ready" if ok else "unavailable", "checks": checks}
                    )
                else:
                    self._json(404, {"status": "not found", "path": redact(path)})
            except Exception as exc:
                _log.exception("health endpoint failed on %s", path)
                self._json(500, {"status": "error", "error": redact(f"{type(exc).__name__}: {exc}")})

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug("%s %s", self.address_string(), redact(format % args))

    return Handler
