"""The open platform's side of a call: the data-centre lookup, the self-built app's token, and the
gateway's check of the token (the replies of reference kingdee-yonyou §2.1's probe table).

* ``getGatewayAddress?tenantId=``: ``{"code": "00000", "message": "成功！", "data": {"gatewayUrl",
  "tokenUrl"}}``; a tenant it does not know: ``{"code": "500", "message": "根据租户id获取网关地址出现异常"}``.
* ``getAccessToken`` (old and base/v1 paths): an unknown appKey ``10018`` 应用不存在或appKey已停用;
  a wrong signature ``310003`` 获取token失败 (the real code for that case is not documented nor
  captured; 310003 is the platform table's "获取 token 失败"); else a token valid ``token_ttl_s``.
  Tokens look like new-style ones: long, with ``+``, ``/`` and ``=``, so that a client which does
  not URL-encode them (or encodes twice) is refused as the real gateway would refuse it.
* The gateway: no token ``310001`` access_token不能为空。, an unknown or expired one ``310036`` 非法token.
"""

from __future__ import annotations

import base64
import hmac
import os
import threading
from typing import Any
from urllib.parse import parse_qs

from adapters.yonyou.signing import verify
from adapters.yonyou.simulator.times import Clock

__all__ = ["BAD_TOKEN", "NO_TOKEN", "Auth"]

NO_TOKEN = {"code": "310001", "message": "access_token不能为空。"}
BAD_TOKEN = {"code": "310036", "message": "非法token"}
UNKNOWN_APP = {"code": "10018", "message": "应用不存在或appKey已停用"}
BAD_SIGNATURE = {"code": "310003", "message": "获取token失败"}
UNKNOWN_TENANT = {"code": "500", "message": "根据租户id获取网关地址出现异常"}


class Auth:
    """One self-built app of one tenant (any tenant when ``tenant_id`` is None)."""

    def __init__(self, app_key: str, app_secret: str, tenant_id: str | None, token_ttl_s: float, clock: Clock) -> None:
        if not app_key or not app_secret:
            raise ValueError("the simulator needs an app key and an app secret")
        if token_ttl_s <= 0:
            raise ValueError(f"token_ttl_s must be positive, got {token_ttl_s}")
        self.__apps = {app_key: app_secret}
        self.tenant_id, self.token_ttl_s, self._clock = tenant_id, token_ttl_s, clock
        self._tokens: dict[str, float] = {}  # token -> when it expires
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Auth(tenant_id={self.tenant_id!r}, tokens={len(self._tokens)})"

    def gateway_address(self, query: str, base_url: str) -> dict[str, Any]:
        tenant = (parse_qs(query).get("tenantId") or [""])[0]
        if not tenant or (self.tenant_id is not None and tenant != self.tenant_id):
            return UNKNOWN_TENANT
        return {"code": "00000", "message": "成功！",
                "data": {"gatewayUrl": f"{base_url}/iuap-api-gateway", "tokenUrl": f"{base_url}/iuap-api-auth"}}

    def issue(self, query: str) -> tuple[dict[str, Any], str]:
        """A token call's reply, and how it went (``signature``, ``unknown-app``, ``bad-signature``)."""
        checked = verify(query, self.__apps)
        if checked is None:
            return UNKNOWN_APP, "unknown-app"
        if not checked[1]:
            return BAD_SIGNATURE, "bad-signature"
        token = "yht" + base64.b64encode(os.urandom(47)).decode("ascii")  # 64 characters, ends with "="
        with self._lock:
            self._tokens[token] = self._clock() + self.token_ttl_s
        return {"code": "00000", "message": "成功！", "data": {"access_token": token, "expire": int(self.token_ttl_s)}}, "signature"

    def valid(self, token: str) -> bool:
        now = self._clock()
        with self._lock:
            for known, expires in list(self._tokens.items()):
                if expires <= now:
                    del self._tokens[known]
            return any(hmac.compare_digest(known.encode(), token.encode()) for known in self._tokens)

    def forget(self) -> None:
        """Every token issued so far is refused from now on (what a token expiry looks like)."""
        with self._lock:
            self._tokens.clear()
