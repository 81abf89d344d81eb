"""Calls K/3 Cloud's WebAPI with httpx, in one of its three authentication modes.

* ``signed`` (the default; what the official SDK 8.x does): every request carries the signed
  headers of :mod:`adapters.kingdee.signing`; the server answers with a session cookie, which is
  sent from then on;
* ``app_secret``: ``AuthService.LoginByAppSecret`` first, then the session cookie;
* ``password``: ``AuthService.ValidateUser`` first, then the session cookie.

A lost session (the server forgot it and answers ``MsgCode`` 1, 会话信息已丢失) gets one fresh
login (in signed mode: the cookie dropped and the call signed again) and one retry; ``MsgCode`` 1
right after that is the identity being refused: a configuration error, not retried. TLS is
verified by default (``ca_bundle`` for a plant CA, ``client_cert``/``client_key`` for mutual
TLS); HTTP proxies come from the settings, never from the environment. Secrets (app secret,
password) never appear in an error.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import tenacity

from adapters.kingdee.errors import ERRORS, msg_code
from adapters.kingdee.formats import dumps
from adapters.kingdee.signing import USER_AGENT, Identity, signed_headers
from bridge.adapter.errors import ErrorFacts, ErrorTable
from bridge.errors import BridgeError, ConfigError, NotSentError, TransientError

__all__ = ["AUTH", "FORMS", "KingdeeClient", "failed", "messages", "response_status"]

AUTH = "Kingdee.BOS.WebApi.ServicesStub.AuthService."
FORMS = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
Mode = Literal["signed", "app_secret", "password"]
#: Statuses the server answers before an operation runs.
_BEFORE_RUNNING = frozenset({401, 403, 429, 503})


def response_status(reply: Any) -> Mapping[str, Any] | None:
    """The ``ResponseStatus`` in any of the places the server puts it (None for a plain result):
    ``{"Result": {"ResponseStatus"}}``, top level, or a query's ``[[{"Result": ...}]]``."""
    if isinstance(reply, list) and reply and isinstance(reply[0], list) and reply[0] and isinstance(reply[0][0], Mapping):
        reply = reply[0][0]
    if not isinstance(reply, Mapping):
        return None
    status = reply.get("ResponseStatus")
    if status is None and isinstance(reply.get("Result"), Mapping):
        status = reply["Result"].get("ResponseStatus")
    return status if isinstance(status, Mapping) else None


def failed(status: Mapping[str, Any] | None) -> bool:
    """Whether a ResponseStatus says the operation failed (``IsSuccess`` may be a string)."""
    return status is not None and str(status.get("IsSuccess")).lower() != "true"


def messages(status: Mapping[str, Any]) -> str:
    """The error messages of a ResponseStatus, in one line."""
    texts = [str(e.get("Message") or "") for e in status.get("Errors") or [] if isinstance(e, Mapping)]
    return "; ".join(t for t in texts if t) or "no message"


_failed, _messages = failed, messages


class KingdeeClient:
    """One K/3 Cloud server (``url`` with its virtual directory, e.g. ``http://host/k3cloud``)."""

    def __init__(
        self,
        url: str,
        identity: Identity,
        *,
        mode: Mode = "signed",
        password: str | None = None,
        verify: bool = True,
        ca_bundle: Path | None = None,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        proxy: str | None = None,
        timeout_s: float = 30.0,
        errors: ErrorTable = ERRORS,
        clock: Callable[[], float] = time.time,
        not_sent_attempts: int = 3,
    ) -> None:
        if mode == "password" and not password:
            raise ConfigError("Kingdee: password login needs a password")
        self.url = url.rstrip("/")
        self.identity, self.mode, self.errors = identity, mode, errors
        self.not_sent_attempts = max(1, not_sent_attempts)
        self._password = password
        self._clock = clock
        self._path = urlsplit(self.url).path
        self._login_lock = threading.Lock()
        self._logged_in = False
        try:
            tls: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else verify
            if client_cert is not None:
                if not isinstance(tls, ssl.SSLContext):
                    tls = ssl.create_default_context()
                    if not verify:
                        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
                tls.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"Kingdee TLS settings: {exc}") from None
        self._http = httpx.Client(verify=tls, timeout=timeout_s, trust_env=False, proxy=proxy, follow_redirects=False,
                                  headers={"User-Agent": USER_AGENT, "Accept-Charset": "utf-8"})

    def close(self) -> None:
        self._http.close()

    # -- calls ---------------------------------------------------------------------------
    def call(self, service: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` to ``service`` (a full service name); the parsed reply, after one fresh
        login when the server had lost the session (see :meth:`call_raw`)."""
        return self.call_raw(service, body)[0]

    def call_raw(self, service: str, body: Mapping[str, Any]) -> tuple[Any, bytes]:
        """:meth:`call`, with the reply's bytes as the server sent them (a View to archive).

        Raises:
            ConfigError: the identity is refused (MsgCode 1 after a fresh login), or a login is.
            NotSentError: the server answered before running anything (503, never connected).
            TransientError: the server or the network failed otherwise.
        """
        if self.mode != "signed" and not self._logged_in:
            self._login()
        reply, content = self._post(service, body)
        if not self._session_lost(reply):
            return reply, content
        self._login()
        reply, content = self._post(service, body)
        if self._session_lost(reply):
            status = response_status(reply) or {}
            raise self.errors.error(ErrorFacts(code=msg_code(1), text=_messages(status)),
                                    f"Kingdee {service} at {self.url} as {self.identity.user}: {_messages(status)}")
        return reply, content

    def execute_bill_query(
        self, form_id: str, field_keys: str, *, filter_string: str = "", order_string: str = "",
        start_row: int = 0, limit: int = 2000,
    ) -> list[list[Any]]:
        """The rows of ``ExecuteBillQuery`` (values in ``field_keys`` order).

        Raises:
            BridgeError: the server refused the query (by its MsgCode), or see :meth:`call`.
        """
        reply = self.call(FORMS + "ExecuteBillQuery", {"data": {
            "FormId": form_id, "FieldKeys": field_keys, "FilterString": filter_string, "OrderString": order_string,
            "TopRowCount": 0, "StartRow": start_row, "Limit": limit, "SubSystemId": ""}})
        status = response_status(reply)
        if _failed(status):
            assert status is not None
            raise self._refusal(status, f"ExecuteBillQuery of {form_id}")
        if not isinstance(reply, list) or not all(isinstance(row, list) for row in reply):
            raise TransientError(f"Kingdee ExecuteBillQuery of {form_id}: the reply is not a list of rows")
        return reply

    def form(self, operation: str, form_id: str, data: Mapping[str, Any], *, op_number: str | None = None) -> Any:
        """A form operation (Save, Submit, Audit, UnAudit, Delete, View, Push, ExcuteOperation)
        in the SDK v8 body shape; the parsed reply, its ResponseStatus not judged (see
        :meth:`refusal`)."""
        body: dict[str, Any] = {"formid": form_id, "data": data}
        if op_number is not None:
            body["opNumber"] = op_number
        return self.call(FORMS + operation, body)

    def view_raw(self, form_id: str, *, fid: str | None = None, number: str | None = None) -> tuple[Any, bytes]:
        """``View`` of one bill by its internal id or number: the parsed reply and its bytes."""
        data = {"CreateOrgId": 0, "Number": number or "", "Id": fid or "", "IsSortBySeq": "false"}
        return self.call_raw(FORMS + "View", {"formid": form_id, "data": data})

    def refusal(self, status: Mapping[str, Any], what: str) -> BridgeError:
        """The typed error of a ResponseStatus that is not a success (by its MsgCode)."""
        return self._refusal(status, what)

    def _refusal(self, status: Mapping[str, Any], what: str) -> BridgeError:
        code = status.get("MsgCode")
        return self.errors.error(ErrorFacts(code=msg_code(code if code is not None else 0), text=_messages(status)),
                                 f"Kingdee {what}: {_messages(status)} (MsgCode {code})")

    # -- transport -----------------------------------------------------------------------
    def _post(self, service: str, body: Mapping[str, Any]) -> tuple[Any, bytes]:
        """:meth:`_post_once`, again after a short wait while the server answered before running
        anything (503, never connected): nothing was done, so asking again is safe."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.not_sent_attempts),
            wait=tenacity.wait_exponential(multiplier=0.05, max=1.0),
            retry=tenacity.retry_if_exception_type(NotSentError), reraise=True)
        return retrying(self._post_once, service, body)

    def _post_once(self, service: str, body: Mapping[str, Any]) -> tuple[Any, bytes]:
        path = f"{self._path}/{service}.common.kdsvc"
        headers = {"Content-Type": "application/json"}
        if self.mode == "signed":
            headers.update(signed_headers(self.identity, path, int(self._clock())))
        what = f"Kingdee {service.rsplit('.', 1)[-1]} at {self.url}"
        try:
            reply = self._http.post(f"{self.url}/{service}.common.kdsvc", headers=headers,
                                    content=dumps(body).encode("utf-8"))
        except httpx.ConnectError as exc:
            raise NotSentError(f"{what}: cannot connect ({exc})") from None
        except httpx.TimeoutException:
            raise self.errors.error(ErrorFacts(exception=TimeoutError()), f"{what}: no answer in time") from None
        except httpx.TransportError as exc:
            raise self.errors.error(ErrorFacts(exception=exc), f"{what}: {type(exc).__name__}") from None
        if reply.status_code not in (200, 206):  # as the SDK: anything else is an error, its body the text
            text = reply.text[:500]
            error = self.errors.error(ErrorFacts(status=reply.status_code, text=text), f"{what}: HTTP {reply.status_code} {text}")
            raise NotSentError(str(error)) if reply.status_code in _BEFORE_RUNNING and type(error) is TransientError else error
        try:
            return json.loads(reply.content.decode("utf-8"), parse_float=Decimal), reply.content
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise TransientError(f"{what}: the reply is not JSON ({reply.content[:80]!r})") from None

    def _session_lost(self, reply: Any) -> bool:
        status = response_status(reply)
        return _failed(status) and str((status or {}).get("MsgCode")) == "1"

    def _login(self) -> None:
        with self._login_lock:
            self._http.cookies.clear()
            self._logged_in = False
            if self.mode == "signed":
                return  # the next call signs itself and gets a new session
            i = self.identity
            if self.mode == "password":
                service, params = "ValidateUser", [i.acct_id, i.user, self._password, i.lcid]
            else:
                service, params = "LoginByAppSecret", [i.acct_id, i.user, i.app_id, i.app_secret, i.lcid]
            reply, _ = self._post(AUTH + service, {"parameters": params})
            if not isinstance(reply, Mapping) or reply.get("LoginResultType") != 1:
                message = reply.get("Message") if isinstance(reply, Mapping) else None
                raise ConfigError(f"Kingdee {service} at {self.url} refused {i.user} in data center {i.acct_id}: "
                                  f"{message or 'no message'} (LoginResultType "
                                  f"{reply.get('LoginResultType') if isinstance(reply, Mapping) else '?'})")
            self._logged_in = True
