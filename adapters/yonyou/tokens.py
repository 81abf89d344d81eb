"""Where a tenant's APIs are and the access token to call them with, each asked once and kept.

* The gateway: ``GET <url>/open-auth/dataCenter/getGatewayAddress?tenantId=`` answers
  ``{"code": "00000", "data": {"gatewayUrl": ".../iuap-api-gateway", "tokenUrl": ".../iuap-api-auth"}}``
  (both with their path prefix), unless the settings name both URLs.
* The token: ``GET {tokenUrl}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey&timestamp&signature``
  (or the old path) answers ``{"code": "00000", "data": {"access_token", "expire"}}``; the token
  is kept until ``expire`` seconds minus a margin. One refresh runs at a time: threads that find
  the token stale wait for it, and a thread reporting a token another one already replaced gets
  the new one without a second call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.yonyou.settings import YonyouClientSettings
from adapters.yonyou.signing import token_params, wire_query
from bridge.adapter.errors import ErrorFacts, ErrorTable

__all__ = ["Endpoints", "TokenSource"]

#: ``fetch(url, what) -> parsed JSON reply`` (typed errors for the transport's failures)
Fetch = Callable[[str, str], Any]


@dataclass(frozen=True)
class Endpoints:
    """A tenant's gateway and token service, each with its path prefix."""

    gateway_url: str
    token_url: str


def _ok(reply: Any) -> Mapping[str, Any] | None:
    if isinstance(reply, Mapping) and str(reply.get("code")) == "00000" and isinstance(reply.get("data"), Mapping):
        return reply["data"]
    return None


class TokenSource:
    """The gateway lookup and the app's access token, cached (thread-safe)."""

    def __init__(self, settings: YonyouClientSettings, app_key: str, app_secret: str, fetch: Fetch,
                 errors: ErrorTable, clock: Callable[[], float]) -> None:
        self._settings, self._fetch, self._errors, self._clock = settings, fetch, errors, clock
        self.__app_key, self.__app_secret = app_key, app_secret
        self._lock = threading.Lock()
        self._endpoints: Endpoints | None = None
        if settings.gateway_url and settings.token_url:
            self._endpoints = Endpoints(settings.gateway_url.rstrip("/"), settings.token_url.rstrip("/"))
        self._token: str | None = None
        self._deadline = 0.0
        self.fetched = 0  # tokens asked for so far

    def __repr__(self) -> str:
        return f"TokenSource(endpoints={self._endpoints!r})"

    def endpoints(self) -> Endpoints:
        """The tenant's gateway and token URLs (looked up once)."""
        with self._lock:
            if self._endpoints is None:
                self._endpoints = self._look_up()
            return self._endpoints

    def token(self) -> str:
        """A token that has not reached its renewal time."""
        endpoints = self.endpoints()
        with self._lock:
            if self._token is None or self._clock() >= self._deadline:
                self._renew(endpoints)
            assert self._token is not None
            return self._token

    def refresh(self, stale: str) -> str:
        """A token other than ``stale`` (the one the gateway refused); asks for one only when no
        other thread has done so since."""
        endpoints = self.endpoints()
        with self._lock:
            if self._token is None or self._token == stale:
                self._renew(endpoints)
            assert self._token is not None
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token, self._deadline = None, 0.0

    # -- calls ---------------------------------------------------------------------------
    def _look_up(self) -> Endpoints:
        s = self._settings
        base = s.url.rstrip("/")
        what = f"Yonyou getGatewayAddress at {base} for tenant {s.tenant_id}"
        reply = self._fetch(f"{base}/open-auth/dataCenter/getGatewayAddress?{wire_query({'tenantId': s.tenant_id or ''})}", what)
        data = _ok(reply)
        gateway, token = (data.get("gatewayUrl"), data.get("tokenUrl")) if data is not None else (None, None)
        if not (isinstance(gateway, str) and gateway and isinstance(token, str) and token):
            raise self._refusal(reply, what)
        return Endpoints(gateway.rstrip("/"), token.rstrip("/"))

    def _renew(self, endpoints: Endpoints) -> None:
        self._token, self._deadline = None, 0.0
        now = self._clock()
        params = token_params(self.__app_key, self.__app_secret, int(now * 1000))
        what = f"Yonyou getAccessToken at {endpoints.token_url}"
        reply = self._fetch(f"{endpoints.token_url}{self._settings.token_endpoint_path}?{wire_query(params)}", what)
        self.fetched += 1
        data = _ok(reply)
        token = data.get("access_token") if data is not None else None
        if not isinstance(token, str) or not token:
            raise self._refusal(reply, what)
        try:
            expire = float(data.get("expire") or 7200) if data is not None else 7200.0
        except (TypeError, ValueError):
            expire = 7200.0
        self._token = token
        self._deadline = now + max(0.0, expire - self._settings.token_margin_s)

    def _refusal(self, reply: Any, what: str) -> Exception:
        code = str(reply.get("code")) if isinstance(reply, Mapping) else ""
        message = str(reply.get("message") or "no message") if isinstance(reply, Mapping) else "the reply is not an object"
        return self._errors.error(ErrorFacts(code=code or None, text=message), f"{what}: {message} (code {code or '?'})")
