"""The YonBIP self-built app's token signature (自建应用 getAccessToken), as the API page and
Yonyou's Python SDK compute it (reference kingdee-yonyou §2.1)::

    signature = Base64( HmacSHA256(key=appSecret, msg="appKey" + appKey + "timestamp" + ms) )

i.e. every parameter but ``signature``, sorted by name, name and value concatenated with no
separator; the HMAC's raw 32-byte digest (not its hex) in standard Base64 (``+ / =``). On the wire
the value is URL-encoded exactly once (``+`` -> ``%2B``, ``/`` -> ``%2F``, ``=`` -> ``%3D``); the
server decodes the query once, so a value encoded twice (``%252B``) or not at all (``+`` read as
a space) cannot match. The same functions serve the simulator, which checks what a client sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote_plus, urlencode

__all__ = ["sign", "string_to_sign", "token_params", "verify", "wire_query"]


def string_to_sign(params: Mapping[str, str]) -> str:
    """Every parameter but ``signature``, sorted by name, as ``name + value`` with no separator."""
    return "".join(name + str(params[name]) for name in sorted(params) if name != "signature")


def sign(secret: str, params: Mapping[str, str]) -> str:
    """The raw (not URL-encoded) Base64 signature of ``params`` with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(params).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def token_params(app_key: str, app_secret: str, timestamp_ms: int) -> dict[str, str]:
    """The query parameters of a self-built app's getAccessToken call, signature raw (unencoded)."""
    params = {"appKey": app_key, "timestamp": str(int(timestamp_ms))}
    params["signature"] = sign(app_secret, params)
    return params


def wire_query(params: Mapping[str, str]) -> str:
    """``params`` as a query string, each value URL-encoded exactly once (what ``requests`` sends
    for ``params=``: ``+`` -> ``%2B``, ``/`` -> ``%2F``, ``=`` -> ``%3D``)."""
    return urlencode(list(params.items()), quote_via=quote_plus)


def verify(raw_query: str, app_secrets: Mapping[str, str]) -> tuple[str, bool] | None:
    """Check a getAccessToken call's raw query string (as it came on the wire).

    Returns:
        None when the query names no app of ``app_secrets`` (appKey -> appSecret), else
        ``(appKey, whether the signature is right)``. The query is decoded once, as the server
        does; the timestamp's age is not checked (no documented window).
    """
    params = dict(parse_qsl(raw_query, keep_blank_values=True))
    app_key = params.get("appKey", "")
    secret = app_secrets.get(app_key)
    if secret is None:
        return None
    given = params.get("signature", "")
    return app_key, bool(given) and hmac.compare_digest(given.encode("utf-8"), sign(secret, params).encode("utf-8"))
