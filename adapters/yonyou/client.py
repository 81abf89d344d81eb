"""Calls a YonBIP tenant's OpenAPI with httpx: ``post(path, body)`` and ``get(path, params)``.

The gateway and the token come from :class:`adapters.yonyou.tokens.TokenSource`; the token goes
with every call as the ``access_token`` query parameter (URL-encoded once; new-style tokens carry
``+ / =``), as the API pages say, or as a header of that name (what Yonyou's Python SDK does).
A token the gateway refuses (``310036`` 非法token, also a plain-text ``非法token``) is renewed once
and the call sent once more: the gateway refuses before the business service sees the call, so
nothing was written. Refused again, it is a configuration error.

What a caller learns from a failure (the classes of :mod:`bridge.errors`):

* :class:`NotSentError`: nothing was carried out: no connection, HTTP 503/429, a gateway's rate
  limit or circuit breaker. Send it again as it is.
* :class:`TransientError` (not ``NotSentError``): the call may have been carried out: a timeout
  after sending, a reply lost, HTTP 5xx, ``310504``, ``202``. Look the document up (or resend with
  the same ``resubmitCheckKey``) before writing again.
* :class:`PermanentError` / :class:`ConfigError`: by :data:`adapters.yonyou.errors.ERRORS`, with
  the ERP's own message in the text.

A reply is returned parsed when its ``code`` (compared as a string) is ``200`` or ``00000``, or an
idempotent API's repeated-key code ``100004``/``10004`` (the docs give both). A write's reply
still needs judging per row (``failCount``, ``infos[].code``: :mod:`adapters.yonyou.results`).
TLS is verified by default; the proxy comes from the settings, never from the environment.
Neither the app secret nor a token appears in an error or a repr.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import tenacity

from adapters.yonyou.errors import ERRORS, GATEWAY_REFUSALS
from adapters.yonyou.settings import YonyouClientSettings
from adapters.yonyou.signing import wire_query
from adapters.yonyou.tokens import Endpoints, TokenSource
from bridge.adapter.errors import ErrorFacts, ErrorTable
from bridge.errors import BridgeError, ConfigError, NotSentError, TransientError, shown
from bridge.receivers.auth import secret_from_env

__all__ = ["SUCCESS_CODES", "YonyouClient", "reply_code"]

#: Codes of a carried-out call: business APIs, token/gateway services, an idempotent API's repeat.
SUCCESS_CODES = frozenset({"200", "00000", "100004", "10004"})
#: Statuses answered before the call reached the business service.
_BEFORE_RUNNING = frozenset({429, 503})
_IN_DOUBT = "the call may have been carried out: look it up before sending it again"
CONTENT_TYPE = "application/json; charset=UTF-8"


def reply_code(reply: Any) -> str:
    """A reply's ``code`` as a string (``200`` and ``"200"`` alike; ``""`` when there is none)."""
    return str(reply.get("code")) if isinstance(reply, Mapping) and reply.get("code") is not None else ""


def _tls(settings: YonyouClientSettings) -> ssl.SSLContext | bool:
    try:
        tls: ssl.SSLContext | bool = (ssl.create_default_context(cafile=str(settings.ca_bundle))
                                      if settings.ca_bundle else settings.verify)
        if settings.client_cert is not None:
            if not isinstance(tls, ssl.SSLContext):
                tls = ssl.create_default_context()
                if not settings.verify:
                    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
            tls.load_cert_chain(str(settings.client_cert), str(settings.client_key) if settings.client_key else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"Yonyou TLS settings: {exc}") from None
    return tls


class YonyouClient:
    """One YonBIP tenant, as one self-built app (its key and secret from the settings' variables)."""

    def __init__(self, settings: YonyouClientSettings, *, env: Mapping[str, str] | None = None,
                 errors: ErrorTable = ERRORS, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        env = os.environ if env is None else env
        app_key = secret_from_env(settings.app_key_env, env) or ""  # required: raises when unset
        app_secret = secret_from_env(settings.app_secret_env, env) or ""
        self.settings, self.errors = settings, errors
        self._http = httpx.Client(verify=_tls(settings), timeout=settings.timeout_s, trust_env=False,
                                  proxy=settings.proxy, follow_redirects=False, transport=transport)
        self.tokens = TokenSource(settings, app_key, app_secret, self._fetch, errors, clock)
        self.not_sent_attempts = 3
        self._last = threading.local()  # the bytes of this thread's last reply (get_raw)

    def __repr__(self) -> str:
        return f"YonyouClient(url={self.settings.url!r}, tenant_id={self.settings.tenant_id!r}, tokens={self.tokens!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> YonyouClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def endpoints(self) -> Endpoints:
        """The tenant's gateway and token URLs (getGatewayAddress asked at most once)."""
        return self.tokens.endpoints()

    # -- calls ---------------------------------------------------------------------------
    def post(self, path: str, body: Any) -> dict[str, Any]:
        """POST ``body`` (the JSON the API page shows: ``{"data": {...}}`` for a write, the query
        object for a list) to ``path`` under the gateway (``/yonbip/mfg/finishedreport/save``).

        Raises:
            NotSentError: nothing was carried out (see the module doc).
            TransientError: it may have been carried out.
            PermanentError, ConfigError: by the error table, the ERP's message in the text.
        """
        return self._call("POST", path, body, None)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` under the gateway with ``params`` in the query (``{"id": 2184924571914496}``)."""
        return self._call("GET", path, None, params or {})

    def get_raw(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], bytes]:
        """:meth:`get`, with the reply's bytes as YonBIP sent them (a detail to archive)."""
        reply = self._call("GET", path, None, params or {})
        return reply, self._last.content

    def _call(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """:meth:`_call_once`, again after a short wait while nothing was carried out (503, 429,
        a gateway's rate limit, never connected): asking again is safe."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.not_sent_attempts),
            wait=tenacity.wait_exponential(multiplier=0.05, max=1.0),
            retry=tenacity.retry_if_exception_type(NotSentError), reraise=True)
        return retrying(self._call_once, method, path, body, params)

    def _call_once(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
        path = "/" + path.lstrip("/")
        gateway = self.tokens.endpoints().gateway_url
        token = self.tokens.token()
        reply = self._business(method, gateway, path, token, body, params)
        if reply_code(reply) == "310036":
            reply = self._business(method, gateway, path, self.tokens.refresh(token), body, params)
        code = reply_code(reply)
        if code in SUCCESS_CODES:
            return reply
        message = shown(reply.get("message") or "no message", 300)
        error = self.errors.error(ErrorFacts(code=code or None, text=str(reply.get("message") or "")),
                                  f"Yonyou {method} {path}: {message} (code {code or '?'})")
        if type(error) is TransientError and code in GATEWAY_REFUSALS:
            raise NotSentError(str(error))
        if type(error) is TransientError:
            raise TransientError(f"{error}; {_IN_DOUBT}")
        raise error

    def _business(self, method: str, gateway: str, path: str, token: str, body: Any,
                  params: Mapping[str, Any] | None) -> dict[str, Any]:
        query = {k: str(v) for k, v in (params or {}).items()}
        headers = {"Content-Type": CONTENT_TYPE}
        if self.settings.token_in == "query":
            query["access_token"] = token
        else:
            headers["access_token"] = token
        url = f"{gateway}{path}?{wire_query(query)}" if query else f"{gateway}{path}"
        content = json.dumps(body, ensure_ascii=False).encode("utf-8") if method == "POST" else None
        return self._send(method, url, f"Yonyou {method} {path}", headers, content)

    # -- transport -----------------------------------------------------------------------
    def _fetch(self, url: str, what: str) -> Any:
        return self._send("GET", url, what, {"Content-Type": CONTENT_TYPE}, None)

    def _send(self, method: str, url: str, what: str, headers: Mapping[str, str], content: bytes | None) -> Any:
        try:
            reply = self._http.request(method, url, headers=headers, content=content)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSentError(f"{what}: cannot connect ({type(exc).__name__})") from None
        except httpx.TimeoutException:
            raise self._error(ErrorFacts(exception=TimeoutError()), f"{what}: no answer in time") from None
        except httpx.TransportError as exc:
            raise self._error(ErrorFacts(exception=exc), f"{what}: {type(exc).__name__} (the reply was lost)") from None
        self._last.content = reply.content
        text = reply.content.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if parsed is None and "非法token" in text:
            parsed = {"code": "310036", "message": text.strip()[:80]}  # some APIs answer it as plain text
        if reply.status_code != 200:
            code = reply_code(parsed) or None
            message = str(parsed.get("message") or "") if isinstance(parsed, Mapping) else text[:200]
            error = self.errors.error(ErrorFacts(status=reply.status_code, code=code, text=message),
                                      f"{what}: HTTP {reply.status_code} {shown(message or reply.reason_phrase, 200)}"
                                      + (f" (code {code})" if code else ""))
            if type(error) is TransientError and reply.status_code in _BEFORE_RUNNING:
                raise NotSentError(str(error))
            raise self._doubt(error)
        if not isinstance(parsed, dict):
            raise TransientError(f"{what}: the reply is not a JSON object ({shown(text, 80)}); {_IN_DOUBT}")
        return parsed

    def _error(self, facts: ErrorFacts, message: str) -> BridgeError:
        return self._doubt(self.errors.error(facts, message))

    @staticmethod
    def _doubt(error: BridgeError) -> BridgeError:
        return TransientError(f"{error}; {_IN_DOUBT}") if type(error) is TransientError else error
