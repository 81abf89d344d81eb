"""K/3 Cloud WebAPI's signed headers ("web api v3.0"), as the official SDK signs every request.

No login call is needed in this mode: each request carries the third-party app's identity and two
HMAC-SHA256 signatures (reference kingdee-yonyou §1.2(c)):

* ``X-Api-Signature`` = HS(clientSec, ``"POST\\n" + encPath + "\\n\\nx-api-nonce:" + nonce +
  "\\nx-api-timestamp:" + timestamp + "\\n"``), ``encPath`` being the URL path (with the virtual
  directory) percent-encoded with ``/`` as ``%2F``;
* ``X-Kd-Signature`` = HS(appSecret, AppId + appData), appData = ``"acctId,user,lcid,orgNum"``,

where HS is Base64 of the lowercase *hex string* of the HMAC (88 characters), and clientSec is
decoded from the second half of the AppId (``<clientId>_<encSecret>``): Base64-decoded, XORed
with a fixed key, Base64-encoded again. Neither signature covers the body, the query or the host.
The same functions serve the simulator, which checks what a client sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["Identity", "client_secret", "hs", "sign_path", "signed_headers", "verify_signed_headers"]

#: The key the SDK XORs the AppId's secret part with (kept ROT13-scrambled in its source).
_XOR_KEY = b"0054f397c6234378b09ca7d3e5debce7"
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
USER_AGENT = "Kingdee/Python WebApi SDK 7.3 (compatible; MSIE 6.0; Windows NT 5.1;SV1)"


@dataclass(frozen=True)
class Identity:
    """Who calls: the data center (acctId), the user, the third-party app and its secret."""

    acct_id: str
    user: str
    app_id: str  # "<clientId>_<encSecret>", as 第三方系统登录授权 issues it
    app_secret: str
    lcid: int = 2052
    org_num: str = "0"

    @property
    def client_id(self) -> str:
        parts = self.app_id.split("_")
        return parts[0] if len(parts) == 2 else ""

    @property
    def app_data(self) -> str:
        return f"{self.acct_id},{self.user},{self.lcid},{self.org_num}"


def hs(key: str, message: str) -> str:
    """Base64 of the lowercase hex of HMAC-SHA256(key, message): the form both signatures take."""
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def client_secret(app_id: str) -> str:
    """The HMAC key of ``X-Api-Signature``, decoded from the AppId's secret part (empty when the
    AppId has no such part, or it is not 32 unpadded Base64 characters: as the SDK does)."""
    parts = app_id.split("_")
    if len(parts) != 2 or len(parts[1]) != 32 or not set(parts[1].encode("ascii", "replace")) <= _B64_ALPHABET:
        return ""
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return ""
    return base64.b64encode(bytes(b ^ k for b, k in zip(raw, _XOR_KEY, strict=False))).decode("ascii")


def sign_path(path: str, nonce: str, timestamp: str) -> str:
    """The string ``X-Api-Signature`` signs, for a request to ``path``."""
    encoded = quote(path, safe="/", encoding="utf-8").replace("/", "%2F")
    return f"POST\n{encoded}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"


def signed_headers(identity: Identity, path: str, timestamp: int) -> dict[str, str]:
    """The SDK's headers for a request to ``path`` at ``timestamp`` (Unix seconds; the SDK sends
    the same value as nonce)."""
    stamp = str(int(timestamp))
    return {
        "X-Api-ClientID": identity.client_id,
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": stamp,
        "x-api-nonce": stamp,
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": hs(client_secret(identity.app_id), sign_path(path, stamp, stamp)),
        "X-Kd-Appkey": identity.app_id,
        "X-Kd-Appdata": base64.b64encode(identity.app_data.encode("utf-8")).decode("ascii"),
        "X-Kd-Signature": hs(identity.app_secret, identity.app_id + identity.app_data),
    }


def verify_signed_headers(headers: dict[str, str], path: str, app_secrets: dict[str, str]) -> tuple[str, ...] | None:
    """The caller's ``(acctId, user, lcid, orgNum)`` when ``headers`` (names lowercased) carry valid
    signatures by an app of ``app_secrets`` (AppId -> appSecret); None otherwise. As the real
    server, the timestamp's age is not checked (reference §1.2(d))."""
    app_id = headers.get("x-kd-appkey", "")
    secret = app_secrets.get(app_id)
    if secret is None:
        return None
    try:
        app_data = base64.b64decode(headers.get("x-kd-appdata", ""), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    nonce, stamp = headers.get("x-api-nonce", ""), headers.get("x-api-timestamp", "")
    expected_api = hs(client_secret(app_id), sign_path(path, nonce, stamp))
    expected_kd = hs(secret, app_id + app_data)
    if not (hmac.compare_digest(headers.get("x-api-signature", ""), expected_api)
            and hmac.compare_digest(headers.get("x-kd-signature", ""), expected_kd)):
        return None
    fields = tuple(app_data.split(","))
    return fields if len(fields) == 4 else None
