"""A YonBIP tenant for tests and demos: the open platform's data-centre lookup, the self-built
app's token service and the API gateway, on one port, answering as the real ones do.

* ``GET /open-auth/dataCenter/getGatewayAddress?tenantId=`` -> gatewayUrl ``<url>/iuap-api-gateway``,
  tokenUrl ``<url>/iuap-api-auth`` (any tenant when the simulator is started without one);
* ``GET /iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken`` and the old
  ``/iuap-api-auth/open-auth/selfAppAuth/getAccessToken`` (Yonyou's Python SDK appends
  ``/iuap-api-auth`` to the URL it is given itself);
* ``/iuap-api-gateway/yonbip/...``: the APIs of :mod:`adapters.yonyou.simulator.apis`, the token
  as the ``access_token`` query parameter or header. An unknown path is HTTP 404 ``310404``
  (checked before the token, as on the real gateway), a missing token ``310001``, a bad or expired
  one ``310036`` (both HTTP 200).

Faults: ``faults.fail_rate`` (HTTP 503 before any effect, token and lookup calls included),
``faults.latency_ms``, ``faults.lose_reply_rate`` (a write committed, its reply lost: the
connection is closed), ``faults.lock_rate`` (a write refused by the API's rate limit, HTTP 429
``310046``, nothing written: YonBIP's OpenAPI has no documented lock error), and
``token_expiry_rate`` (the share of gateway calls before which every token is forgotten).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import socket
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from adapters.yonyou.settings import TOKEN_PATHS
from adapters.yonyou.simulator import masters, orders
from adapters.yonyou.simulator.apis import APIS, call
from adapters.yonyou.simulator.auth import BAD_TOKEN, NO_TOKEN, Auth
from adapters.yonyou.simulator.state import ApiRequest, SimState
from adapters.yonyou.simulator.store import KINDS, Store
from adapters.yonyou.simulator.times import Clock
from bridge.simulation.faults import FaultSettings
from bridge.simulation.http_server import HttpSimulator

__all__ = ["GATEWAY", "GATEWAY_ADDRESS", "YonyouSimulator"]

GATEWAY_ADDRESS = "/open-auth/dataCenter/getGatewayAddress"
GATEWAY = "/iuap-api-gateway"
AUTH_PATHS = frozenset(f"/iuap-api-auth{p}" for p in TOKEN_PATHS.values())
MAX_BODY = 8 * 1024 * 1024
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_UNAVAILABLE = b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"


class YonyouSimulator(HttpSimulator):
    """The tenant: one self-built app, the documents in ``store`` (None: in memory;
    ``"sqlite:///path"``: also in that file)."""

    thread_name = "yonyou-sim"

    def __init__(self, *, app_key: str, app_secret: str, tenant_id: str | None = None, store: str | None = None,
                 faults: FaultSettings | None = None, token_ttl_s: float = 7200, token_expiry_rate: float = 0.0,
                 contradict_counts: bool = False, host: str = "127.0.0.1", port: int = 0,
                 resubmit_window_s: float = 3600.0, clock: Clock = time.time) -> None:
        if not 0.0 <= token_expiry_rate <= 1.0:
            raise ValueError(f"token_expiry_rate must be between 0 and 1, got {token_expiry_rate}")
        self.faults = faults or FaultSettings()
        self.token_expiry = FaultSettings(fail_rate=token_expiry_rate, seed=self.faults.seed)
        self.auth = Auth(app_key, app_secret, tenant_id, token_ttl_s, clock)
        self.state = SimState(Store(store), clock, contradict_counts=contradict_counts,
                              resubmit_window_s=resubmit_window_s)
        self.calls: list[tuple[str, str]] = []  # (path, how it went: query/header, signature, no-token ...)
        self.targets: list[str] = []  # every request's path and query as it came on the wire
        self.dropped: list[str] = []  # the writes whose reply was lost
        super().__init__(host, port)

    def __repr__(self) -> str:
        return f"YonyouSimulator(url={self.base_url!r}, tenant_id={self.auth.tenant_id!r})"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def url(self) -> str:
        """The base URL: getGatewayAddress, the token service and the gateway are all under it."""
        return self.base_url

    @property
    def contradict_counts(self) -> bool:
        return self.state.contradict_counts

    @contradict_counts.setter
    def contradict_counts(self, value: bool) -> None:
        self.state.contradict_counts = value

    # -- data ----------------------------------------------------------------------------
    def seed_material(self, material: Mapping[str, Any]) -> int:
        """A material (``code``, ``name``, ``unitCode``, ``unitName``, ``isBatchManage``,
        ``isExpiryDateManage``, any other field); its id."""
        with self.state.lock:
            return int(masters.new_material(self.state, material)["id"])

    def seed_batch(self, batch: Mapping[str, Any]) -> int:
        """A lot (``product``: the material's code or id, ``batchno``, ``producedate``,
        ``invaliddate``, ``stopstatus``, ``define1``..); its id."""
        with self.state.lock:
            doc, problem = masters.new_batch(self.state, batch)
            if doc is None:
                raise ValueError(problem)
            return int(doc["id"])

    def seed_order(self, order: Mapping[str, Any]) -> int:
        """A production order in the save API's shape (``orgCode``, ``transTypeCode``, ``vouchdate``,
        ``orderProduct``: [{``materialCode``, ``quantity``, ``startDate``, ``finishDate``,
        ``orderMaterial``: [{``materialCode``, ``recipientQuantity``}]}], ``status`` (default 1,
        audited)); its id."""
        with self.state.lock:
            data = {"orgCode": "PLANT1", "transTypeCode": "PO-001", **order}
            doc, problem = orders.build_order(self.state, data, status=int(order.get("status", 1)))
            if doc is None:
                raise ValueError(problem)
            self.state.store.put("productionorder", doc)
            return int(doc["id"])

    def change_order(self, order_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """A user's edit of an order: header fields, and ``orderProduct``: [{``id`` or ``lineNo``,
        fields}] for its lines; the order gets a new ``pubts``. Returns the changed order."""
        with self.state.lock:
            doc = self.state.store.get("productionorder", order_id)
            if doc is None:
                raise KeyError(f"no production order {order_id}")
            doc.update({k: v for k, v in changes.items() if k not in ("id", "orderProduct")})
            for edit in changes.get("orderProduct") or []:
                line = next((x for x in doc["orderProduct"]
                             if x["id"] == edit.get("id") or x["lineNo"] == edit.get("lineNo")), None)
                if line is None:
                    raise KeyError(f"order {order_id} has no line {edit.get('id') or edit.get('lineNo')}")
                line.update({k: v for k, v in edit.items() if k not in ("id", "lineNo")})
            stamp = self.state.stamp(doc)
            for line in doc["orderProduct"]:
                line["pubts"] = stamp
            self.state.store.put("productionorder", doc)
            return copy.deepcopy(doc)

    def documents(self, kind: str) -> list[dict[str, Any]]:
        """Copies of every document of ``kind`` (finishedreport, materialout, storeprorecord,
        productionorder, product, batchno), by id."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        with self.state.lock:
            return self.state.store.copies(kind)

    def forget_tokens(self) -> None:
        """Every token issued so far expires now."""
        self.auth.forget()


class _Handler(BaseHTTPRequestHandler):
    simulator: YonyouSimulator
    protocol_version = "HTTP/1.1"
    server_version = "YonBIP-OpenAPI-simulator"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json;charset=UTF-8")

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}" if host and _HOST.fullmatch(host) else self.simulator.url

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        sim = self.simulator
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413, b"request entity too large", "text/plain")
            return
        raw = self.rfile.read(length) if length else b""
        sim.targets.append(self.path)
        if sim.faults.latency_ms:
            time.sleep(sim.faults.latency_s)
        if sim.faults.should_fail():  # the load balancer in front of an unavailable gateway
            sim.calls.append((path, "failed"))
            self._send(503, _UNAVAILABLE, "text/html")
            return
        if path == GATEWAY_ADDRESS:
            reply = sim.auth.gateway_address(query, self._base_url())
            sim.calls.append((path, "tenant" if reply["code"] == "00000" else "unknown-tenant"))
            self._json(200, reply)
        elif path in AUTH_PATHS:
            reply, how = sim.auth.issue(query)
            sim.calls.append((path, how))
            self._json(200, reply)
        elif path.startswith(GATEWAY + "/"):
            self._gateway(method, path[len(GATEWAY):], query, raw)
        else:
            self._send(404, b"404 Not Found", "text/plain")

    def _gateway(self, method: str, path: str, query: str, raw: bytes) -> None:
        sim = self.simulator
        api = APIS.get(path)
        if api is None:
            sim.calls.append((path, "unknown-api"))
            self._json(404, {"code": "310404", "message": f"网关上没有注册此API[{path}]，请确认后重新调用"})
            return
        if api.method != method:
            sim.calls.append((path, "wrong-method"))
            self._json(405, {"code": "310405", "message": "请求方法不允许"})
            return
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        token, how = params.pop("access_token", ""), "query"
        if not token:
            token, how = self.headers.get("access_token", ""), "header"
        if sim.token_expiry.should_fail():
            sim.auth.forget()
        if not token or not sim.auth.valid(token):
            sim.calls.append((path, "bad-token" if token else "no-token"))
            self._json(200, BAD_TOKEN if token else NO_TOKEN)
            return
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            sim.calls.append((path, how))
            self._json(200, {"code": "310002", "message": "请求体必须是JSON结构"})
            return
        if api.write and sim.faults.should_lock():
            sim.calls.append((path, "rate-limited"))
            self._json(429, {"code": "310046", "message": "触发了API级限流"})
            return
        sim.calls.append((path, how))
        reply = call(sim.state, api, ApiRequest(method, path, params, body))
        if api.write and reply.committed and sim.faults.should_lose_reply():
            sim.dropped.append(path)
            self._drop_connection()
            return
        self._json(reply.status, reply.body)

    def _drop_connection(self) -> None:
        """The write is committed; the reply is lost on the way (the client sees the connection close)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

