"""A K/3 Cloud (金蝶云星空) WebAPI server for tests and demos, authenticating as the real one does.

Every call is ``POST <virtual directory>/<ServiceFullName>.common.kdsvc`` (reference
kingdee-yonyou §1.1), the body JSON in any of the SDKs' forms. A caller is let in by

* a session it holds (header ``kdservice-sessionid`` or the cookie of that name): a valid session
  short-circuits authentication, as on the real server;
* the signed headers of the official SDK (``X-Api-Signature``, ``X-Kd-Signature``, see
  :mod:`adapters.kingdee.signing`); the server then issues a session in ``Set-Cookie``;
* a login: ``AuthService.ValidateUser`` (acctId, user, password, lcid) or
  ``AuthService.LoginByAppSecret`` (acctId, user, appId, appSecret, lcid), answering
  ``LoginResultType`` 1 with the session in the cookie and the body.

What the real server answers otherwise: a wrong user, app, secret or signature, or a session it
forgot, gets HTTP 200 with ``MsgCode`` 1 "会话信息已丢失，请重新登录" (misleading, but that is the
text); a data center (acctId) that does not exist gets a non-200 "Fail to verify thirty passport".

Faults (the flags every simulator shares): ``faults.fail_rate`` (HTTP 503 before any effect),
``faults.latency_ms``, and ``session_loss_rate`` (the share of calls before which the server
forgets every session, as an application-pool recycle does).

Implemented business services: ``ExecuteBillQuery`` (FieldKeys, FilterString with =, <>, <, >,
IN, LIKE, AND, OR, NOT and parentheses, OrderString, StartRow/Limit paging, TopRowCount) over the
rows the simulator is seeded with. The other services answer MsgCode 4 as for an unknown one.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from adapters.kingdee.signing import verify_signed_headers
from adapters.kingdee.simulator.filter import FilterError, UnknownField, parse_filter
from bridge.simulation.faults import FaultSettings
from bridge.simulation.http_server import HttpSimulator

__all__ = ["KingdeeSimulator"]

SESSION_LOST = "会话信息已丢失，请重新登录"
_AUTH = "Kingdee.BOS.WebApi.ServicesStub.AuthService."
_FORMS = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
_SUFFIX = ".common.kdsvc"
MAX_BODY = 8 * 1024 * 1024


def status(ok: bool, message: str = "", code: int = 0, **extra: Any) -> dict[str, Any]:
    """A ``ResponseStatus`` as the real server writes it."""
    errors = [] if ok else [{"FieldName": None, "Message": message, "DIndex": 0}]
    return {"ErrorCode": 0 if ok else 500, "IsSuccess": ok, "Errors": errors, "SuccessEntitys": [],
            "SuccessMessages": [], "MsgCode": code, **extra}


def failure(message: str, code: int) -> dict[str, Any]:
    return {"Result": {"ResponseStatus": status(False, message, code)}}


class KingdeeSimulator(HttpSimulator):
    """The server: one data center, one user, one third-party app (and optionally a password)."""

    def __init__(
        self, *, acct_id: str, user: str, app_id: str, app_secret: str, password: str | None = None,
        host: str = "127.0.0.1", port: int = 0, virtual_directory: str = "/k3cloud",
        faults: FaultSettings | None = None, session_loss_rate: float = 0.0,
    ) -> None:
        if not 0.0 <= session_loss_rate <= 1.0:
            raise ValueError(f"session_loss_rate must be between 0 and 1, got {session_loss_rate}")
        self.acct_id, self.user, self.password = acct_id, user, password
        self.faults = faults or FaultSettings()
        self.session_loss = FaultSettings(fail_rate=session_loss_rate, seed=self.faults.seed)
        self.apps = {app_id: app_secret}
        self.virtual_directory = "/" + virtual_directory.strip("/")
        self.sessions: set[str] = set()
        self.forms: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.RLock()
        self.calls: list[tuple[str, str]] = []  # (service, how the caller was let in)
        super().__init__(host, port)

    thread_name = "kingdee-sim"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def url(self) -> str:
        """The server URL with its virtual directory, as a client is configured with it."""
        return f"{self.base_url}{self.virtual_directory}"

    # -- data ----------------------------------------------------------------------------
    def seed(self, form_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows of a form, keyed as ExecuteBillQuery's FieldKeys name them."""
        with self.lock:
            self.forms.setdefault(form_id, []).extend(dict(r) for r in rows)

    def forget_sessions(self) -> None:
        """The server lost every session (an application-pool recycle)."""
        with self.lock:
            self.sessions.clear()

    def new_session(self) -> str:
        sid = str(uuid.uuid4())
        with self.lock:
            self.sessions.add(sid)
        return sid

    # -- services ------------------------------------------------------------------------
    def login(self, service: str, data: Any) -> tuple[dict[str, Any], str | None]:
        """A login's reply and the session it opened (None when refused)."""
        params = data.get("parameters") if isinstance(data, Mapping) else None
        if not isinstance(params, list):
            params = [data.get(k) for k in ("acctID", "username", "password", "lcid")] if isinstance(data, Mapping) else []
        params = [str(p) if p is not None else "" for p in params]
        if service == "ValidateUser":
            ok = len(params) >= 3 and params[:3] == [self.acct_id, self.user, self.password or "\0"]
        else:  # LoginByAppSecret
            ok = len(params) >= 4 and params[0] == self.acct_id and params[1] == self.user and \
                self.apps.get(params[2]) == params[3]
        if not ok:
            wrong_password = service == "ValidateUser" and len(params) >= 2 and params[:2] == [self.acct_id, self.user]
            return {"Message": "用户名或密码错误！" if wrong_password else "登录失败", "MessageCode": None,
                    "LoginResultType": 0 if wrong_password else -1, "Context": None, "KDSVCSessionId": None,
                    "IsSuccessByAPI": False}, None
        sid = self.new_session()
        return {"Message": None, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
                "Context": {"UserName": self.user, "DBid": self.acct_id, "SessionId": sid, "UserLocale": "zh-CN"},
                "KDSVCSessionId": sid, "IsSuccessByAPI": True}, sid

    def execute_bill_query(self, data: Any) -> Any:
        args = data.get("data", data) if isinstance(data, Mapping) else {}
        if isinstance(args, str):
            args = json.loads(args)
        form_id = str(args.get("FormId") or "")
        if form_id not in self.forms:
            return [[failure(f"标识为“{form_id}”的业务对象不存在，或者被删除。", 4)]]
        keys = [k.strip() for k in str(args.get("FieldKeys") or "").split(",") if k.strip()]
        if not keys:
            return [[failure("data数据包中的参数FieldKeys的值不能为空。", 8)]]
        with self.lock:
            rows = list(self.forms[form_id])
        known = frozenset(k for row in rows for k in row) or frozenset(keys)
        unknown = next((k for k in keys if k not in known), None)
        if unknown is not None:
            return [[failure(UnknownField(unknown).args[0], 9)]]
        try:
            predicate = parse_filter(str(args.get("FilterString") or ""), known)
        except UnknownField as exc:
            return [[failure(exc.args[0], 9)]]
        except FilterError as exc:
            return [[failure(str(exc), 8)]]
        chosen = [r for r in rows if predicate(r)]
        for part in reversed([p.strip() for p in str(args.get("OrderString") or "").split(",") if p.strip()]):
            field, _, direction = part.partition(" ")
            chosen.sort(key=lambda r, f=field: (r.get(f) is None, r.get(f)), reverse=direction.strip().upper() == "DESC")
        start, limit, top = int(args.get("StartRow") or 0), int(args.get("Limit") or 0), int(args.get("TopRowCount") or 0)
        if top:
            chosen = chosen[:top]
        page = chosen[start:start + limit] if limit else chosen[start:]
        return [[row.get(k) for k in keys] for row in page]


class _Handler(BaseHTTPRequestHandler):
    simulator: KingdeeSimulator
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/8.5"

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
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._send(200, failure("请求的数据格式不正确", 8))
            return
        if service.startswith(_AUTH) and service[len(_AUTH):] in ("ValidateUser", "LoginByAppSecret"):
            reply, sid = sim.login(service[len(_AUTH):], data)
            sim.calls.append((service, "login"))
            self._send(200, reply, self._cookies(sid) if sid else ())
            return
        cookies: list[str] = []
        how = "session"
        if self._session_of(headers) is None:
            caller = verify_signed_headers(headers, path, sim.apps)
            if caller is None or caller[1] != sim.user:
                if headers.get("x-kd-appdata") and caller is None and self._acct_of(headers) not in ("", sim.acct_id):
                    self._send(500, b"Fail to verify thirty passport")
                    return
                sim.calls.append((service, "refused"))
                self._send(200, failure(SESSION_LOST, 1))
                return
            if caller[0] != sim.acct_id:
                self._send(500, b"Fail to verify thirty passport")
                return
            cookies, how = self._cookies(sim.new_session()), "signature"
        sim.calls.append((service, how))
        if service == _FORMS + "ExecuteBillQuery":
            self._send(200, sim.execute_bill_query(data), cookies)
            return
        self._send(200, failure(f"服务“{service}”不存在", 4), cookies)

    @staticmethod
    def _acct_of(headers: Mapping[str, str]) -> str:
        import base64
        import binascii

        try:
            return base64.b64decode(headers.get("x-kd-appdata", ""), validate=True).decode("utf-8").split(",")[0]
        except (binascii.Error, ValueError):
            return ""

    @staticmethod
    def _cookies(sid: str) -> list[str]:
        return [f"kdservice-sessionid={sid}; path=/", f"ASP.NET_SessionId={uuid.uuid4().hex[:24]}; path=/; HttpOnly"]
