"""The simulator's HTTP side: ``POST <virtual directory>/<ServiceFullName>.common.kdsvc``, the
caller let in as the real server lets it in (see :mod:`adapters.kingdee.simulator.server`), and
the shared fault modes: ``fail_rate`` (IIS's 503 before any effect), ``latency_ms``, ``lock_rate``
(a write refused with MsgCode 13, a network-control conflict, nothing done) and
``lose_reply_rate`` (a write done and committed, then the connection closed without an answer).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from adapters.kingdee.signing import verify_signed_headers
from adapters.kingdee.simulator.replies import failure
from adapters.kingdee.simulator.services import SERVICES, WRITES, BadRequest, parse_body, serve

if TYPE_CHECKING:
    from adapters.kingdee.simulator.server import KingdeeSimulator

__all__ = ["AUTH", "FORMS", "SESSION_LOST", "KingdeeHandler"]

SESSION_LOST = "会话信息已丢失，请重新登录"
AUTH = "Kingdee.BOS.WebApi.ServicesStub.AuthService."
FORMS = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
_SUFFIX = ".common.kdsvc"
MAX_BODY = 8 * 1024 * 1024
_CONFLICT = "网络控制冲突：单据正在被其他用户操作，请稍后再试。"


class KingdeeHandler(BaseHTTPRequestHandler):
    simulator: KingdeeSimulator
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/8.5"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status_code: int, body: Any, cookies: Sequence[str] = ()) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status_code)
        self.send_header("Content-Type", "application/json; charset=utf-8" if status_code == 200 else "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(data)

    def _session_of(self, headers: Mapping[str, str]) -> str | None:
        candidates = [headers.get("kdservice-sessionid", "")]
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "kdservice-sessionid":
                candidates.append(value)
        with self.simulator.lock:
            return next((c for c in candidates if c and c in self.simulator.sessions), None)

    def _drop_connection(self) -> None:
        """The write is committed; the reply is lost on the way (the client sees a reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_POST(self) -> None:
        sim = self.simulator
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413, b"request entity too large")
            return
        raw = self.rfile.read(length)
        prefix = sim.virtual_directory + "/"
        if not (path.startswith(prefix) and path.endswith(_SUFFIX)):
            self._send(404, b"not found")
            return
        service = path[len(prefix):-len(_SUFFIX)]
        if sim.faults.latency_ms:
            time.sleep(sim.faults.latency_s)
        if sim.faults.should_fail():  # IIS in front of an unavailable application pool
            sim.calls.append((service, "failed"))
            self._send(503, b"Service Unavailable")
            return
        if sim.session_loss.should_fail():  # the server forgot its sessions (a recycle)
            sim.forget_sessions()
        try:
            body = parse_body(raw, headers.get("content-type", ""))
        except BadRequest as exc:
            self._send(200, failure(str(exc), 8))
            return
        if service.startswith(AUTH) and service[len(AUTH):] in ("ValidateUser", "LoginByAppSecret"):
            reply, sid = sim.login(service[len(AUTH):], body)
            sim.calls.append((service, "login"))
            self._send(200, reply, self._cookies(sid) if sid else ())
            return
        admitted = self._admit(service, path, headers)
        if admitted is None:
            return
        how, cookies = admitted
        sim.calls.append((service, how))
        operation = service[len(FORMS):] if service.startswith(FORMS) else ""
        if operation not in SERVICES:
            self._send(200, failure(f"服务“{service}”不存在", 4), cookies)
            return
        if operation in WRITES and sim.faults.should_lock():
            self._send(200, failure(_CONFLICT, 13), cookies)
            return
        reply = serve(sim.erp, operation, body)
        if operation in WRITES and sim.faults.should_lose_reply():
            self._drop_connection()
            return
        self._send(200, reply, cookies)

    def _admit(self, service: str, path: str, headers: Mapping[str, str]) -> tuple[str, list[str]] | None:
        """How the caller is let in and the cookies to set, or None once refused (answered)."""
        sim = self.simulator
        if self._session_of(headers) is not None:
            return "session", []
        caller = verify_signed_headers(dict(headers), path, sim.apps)
        if caller is None or caller[1] != sim.user:
            if headers.get("x-kd-appdata") and caller is None and self._acct_of(headers) not in ("", sim.acct_id):
                self._send(500, b"Fail to verify thirty passport")
                return None
            sim.calls.append((service, "refused"))
            self._send(200, failure(SESSION_LOST, 1))
            return None
        if caller[0] != sim.acct_id:
            self._send(500, b"Fail to verify thirty passport")
            return None
        return "signature", self._cookies(sim.new_session())

    @staticmethod
    def _acct_of(headers: Mapping[str, str]) -> str:
        try:
            return base64.b64decode(headers.get("x-kd-appdata", ""), validate=True).decode("utf-8").split(",")[0]
        except (binascii.Error, ValueError):
            return ""

    @staticmethod
    def _cookies(sid: str) -> list[str]:
        return [f"kdservice-sessionid={sid}; path=/", f"ASP.NET_SessionId={uuid.uuid4().hex[:24]}; path=/; HttpOnly"]
