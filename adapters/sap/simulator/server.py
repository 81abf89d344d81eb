"""The simulator's HTTP server: index, WSDLs, the BAPI endpoints and the IDoc endpoint.

Transport behaviour as SAP's ICF shows it: basic auth on every request (401 with SAP's realm),
SOAP Faults with HTTP 500 for processing errors, never a 200 without XML. The shared fault
modes apply here: ``fail_rate`` and ``latency_ms`` to every SOAP and IDoc call,
``lock_rate`` and ``lose_reply_rate`` to the posting services.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.sap.bapi_interfaces import BAPIS
from adapters.sap.simulator.context import CallContext, SystemSettings
from adapters.sap.simulator.dispatch import POSTING, call
from adapters.sap.simulator.idoc_inbound import receive_idocs
from adapters.sap.simulator.push import Pusher
from adapters.sap.simulator.seeds import SeedDocument, seed_state
from adapters.sap.simulator.soap import fault
from adapters.sap.simulator.state import SimState
from adapters.sap.wsdl_writer import endpoint_path, wsdl_bytes
from bridge.errors import DecodeError
from bridge.receivers.request import BodyError, HttpRequest
from bridge.simulation.faults import FaultSettings
from bridge.simulation.http_server import HttpSimulator

__all__ = ["IDOC_PATH", "MONITOR_PATH", "SapSimulator"]

log = logging.getLogger(__name__)

IDOC_PATH = "/sap/bc/srt/idoc"
#: Not SAP's: the simulator's view of WE02 (JSON), for demos and tests run in another process.
MONITOR_PATH = "/simulator/idocs"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


class SapSimulator(HttpSimulator):
    """SAP played in-process: ``start()``, use ``url`` / ``endpoint(bapi)``, ``stop()``.

    Args:
        host, port: where to listen (port 0: a free one, read it from ``url``).
        user, password: basic-auth credentials every request must carry (None: no auth).
        client: the SAP client in endpoint paths.
        seeds: LOIPRO/MATMAS/BATMAS files (flat or XML) to seed from.
        stock: ``MATERIAL:PLANT:BATCH=QTY`` stock settings.
        faults: the shared fault modes (mutable while running).
        open_periods: open posting periods ``YYYY/MM`` (default current and previous month).
        push_to: a receiver URL to push the seed IDocs to after start.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, user: str | None = None,
                 password: str | None = None, client: str = "100", seeds: Sequence[Path] = (),
                 stock: Sequence[str] = (), faults: FaultSettings | None = None,
                 open_periods: Sequence[str] | None = None, push_to: str | None = None,
                 push_user: str | None = None, push_password: str | None = None,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        super().__init__(host, port)
        self.client = client
        self.user, self.password = user, password
        self.faults = faults or FaultSettings()
        self.settings = SystemSettings(open_periods=tuple(open_periods)) if open_periods else SystemSettings()
        self.state = SimState()
        self.seed_documents: list[SeedDocument] = seed_state(self.state, list(seeds), list(stock))
        self.max_body = max_body
        self.pusher = (Pusher(push_to, self.seed_documents, push_user, push_password) if push_to else None)
        self._paths = {endpoint_path(bapi, client): bapi for bapi in BAPIS}

    # -- life cycle ----------------------------------------------------------------------
    thread_name = "sap-sim"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _SapHandler

    def started(self) -> None:
        if self.pusher is not None:
            self.pusher.start()

    def stopping(self) -> None:
        if self.pusher is not None:
            self.pusher.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.base_url

    def endpoint(self, bapi: str) -> str:
        return self.url + endpoint_path(bapi, self.client)

    @property
    def idoc_endpoint(self) -> str:
        return f"{self.url}{IDOC_PATH}?sap-client={self.client}"

    def index(self, base_url: str | None = None) -> dict[str, Any]:
        """``GET /``: every service's endpoint and the IDoc endpoint, under ``base_url`` (default ``url``)."""
        base = base_url or self.url
        return {"services": {bapi: base + endpoint_path(bapi, self.client) for bapi in sorted(BAPIS)},
                "idoc_endpoint": f"{base}{IDOC_PATH}?sap-client={self.client}",
                "idoc_monitor": f"{base}{MONITOR_PATH}"}

    # -- requests ------------------------------------------------------------------------
    def authorized(self, header: str | None) -> bool:
        if self.user is None or self.password is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        return hmac.compare_digest(password.encode(), self.password.encode()) and user_ok

    def bapi_at(self, path: str) -> str | None:
        return self._paths.get(path.rstrip("/").lower())

    def context(self, user: str, posting: bool) -> CallContext:
        paused = threading.Event()

        def pause() -> None:
            if not paused.is_set():
                paused.set()
                if self.faults.latency_ms:
                    time.sleep(self.faults.latency_s)  # the simulated system's processing time

        return CallContext(self.state, self.settings, user=user,
                           lock_drawn=posting and self.faults.should_lock(), pause=pause)


class _SapHandler(BaseHTTPRequestHandler):
    simulator: SapSimulator
    server_version = "SAP NetWeaver Application Server (simulated)"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _soap(self, status: int, body: bytes) -> None:
        self._send(status, body, "text/xml; charset=utf-8")

    def _base_url(self) -> str:
        """This server as the caller addressed it (its Host header), as SAP writes WSDL addresses."""
        host = self.headers.get("Host", "")
        return f"http://{host}" if host and _HOST.fullmatch(host) else self.simulator.url

    def _caller(self) -> str | None:
        """The caller's user name (empty without auth), or None after answering 401."""
        header = self.headers.get("Authorization")
        if not self.simulator.authorized(header):
            self.close_connection = True  # the body, if any, stays unread
            self._send(401, b"<html><body><h1>401 Unauthorized</h1><p>Logon failed</p></body></html>",
                       "text/html; charset=utf-8",
                       WWW_Authenticate=f'Basic realm="SAP NetWeaver Application Server [DEV/{self.simulator.client}]"')
            return None
        if self.simulator.user is None:
            return ""
        return self.simulator.user

    def do_GET(self) -> None:
        if self._caller() is None:
            return
        url = urlsplit(self.path)
        if url.path in ("", "/"):
            index = self.simulator.index(self._base_url())
            self._send(200, json.dumps(index, indent=2).encode(), "application/json")
            return
        if url.path == MONITOR_PATH:  # the simulator's WE02: the IDocs it sent and received
            with self.simulator.state.lock:
                monitor = {"outbound": self.simulator.state.outbound_statuses,
                           "inbound": [{k: v for k, v in r.items() if k != "messages"} for r in self.simulator.state.inbound_idocs]}
                body = json.dumps(monitor, indent=2, default=str).encode()
            self._send(200, body, "application/json")
            return
        bapi = self.simulator.bapi_at(url.path)
        if bapi is not None and "wsdl" in url.query.lower().split("&"):
            self._send(200, wsdl_bytes(bapi, host=self._base_url(), client=self.simulator.client),
                       "text/xml; charset=utf-8")
            return
        self._send(404, b"not found", "text/plain; charset=utf-8")

    def _body(self) -> bytes | None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urlsplit(self.path)
        request = HttpRequest("POST", url.path, url.query, headers, self.rfile, self.client_address[0])
        try:
            return request.read_body(self.simulator.max_body)
        except BodyError as exc:
            self.close_connection = True
            self._soap(exc.status, fault(exc.reason, code="Client"))
            return None

    def do_POST(self) -> None:
        user = self._caller()
        if user is None:
            return
        path = urlsplit(self.path).path
        bapi = self.simulator.bapi_at(path)
        if bapi is None and path.rstrip("/") != IDOC_PATH:
            self.close_connection = True
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        body = self._body()
        if body is None:
            return
        if self.simulator.faults.should_fail():
            self._soap(503, fault("Service unavailable (simulated failure); nothing was posted"))
            return
        ctx = self.simulator.context(user, posting=bapi in POSTING)
        if bapi is None:
            self._idoc(ctx, body)
            return
        reply = call(bapi, body, self.headers.get("SOAPAction"), ctx)
        ctx.pause()
        if bapi in POSTING and reply.status == 200 and self.simulator.faults.should_lose_reply():
            self._drop_connection()
            return
        self._soap(reply.status, reply.body)

    def _idoc(self, ctx: CallContext, body: bytes) -> None:
        try:
            records = receive_idocs(ctx, body, self.simulator.max_body)
        except DecodeError as exc:
            self._soap(500, fault(f"IDoc not accepted: {exc}", code="Client"))
            return
        ctx.pause()
        statuses = "".join(f'<IDOC DOCNUM="{r["docnum"]}" STATUS="{r["status"]}"/>' for r in records)
        self._send(200, f"<?xml version='1.0' encoding='utf-8'?><IDocReceived>{statuses}</IDocReceived>".encode(),
                   "application/xml")

    def _drop_connection(self) -> None:
        """The posting is committed; the reply is lost on the way (the client sees a reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
