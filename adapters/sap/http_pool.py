"""HTTP to one SAP system: one pool of kept-alive connections shared by the sink's threads, with
the target's TLS settings, its proxy and its credentials, and zeep's transport on top of it.

zeep's own transport goes through a requests session, which costs more CPU per call than the
SOAP work itself (settings merged, cookies, hooks, headers parsed twice); with a BAPI call taking
a few milliseconds of CPU on each side, that decides how many reports per second one process
can post. urllib3 underneath requests does the real work, so the pool talks to it directly.

Failures come out as the standard library's exceptions, which the error table classifies:
:class:`NeverConnected` (a :class:`ConnectionError`: SAP cannot have received the call),
:class:`ConnectionError` (reset or closed after sending), :class:`TimeoutError`. A certificate
SAP's side presents that does not verify is a configuration error, not a reason to retry.
"""

from __future__ import annotations

import base64
import logging
import ssl
import warnings
from collections.abc import Mapping
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError
from zeep.transports import Transport

from adapters.sap.target import SapTargetSettings
from bridge.errors import ConfigError

__all__ = ["HttpPool", "HttpReply", "HttpStatusError", "NeverConnected", "PooledTransport"]

_USER_AGENT = "erp-mes-bridge (zeep)"
log = logging.getLogger(__name__)


class NeverConnected(ConnectionError):
    """The connection to SAP was never made: the call cannot have reached it."""


class HttpStatusError(Exception):
    """A reply whose HTTP status zeep must not interpret: SAP's ICF answers 401 with an HTML
    page that happens to parse as XML, which zeep would report as an unknown SOAP Fault."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class HttpReply:
    """What zeep reads of a reply (the part of ``requests.Response`` it uses)."""

    __slots__ = ("content", "headers", "status_code")
    encoding = None

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status_code, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def _basic(user: str, password: str) -> str:
    raw = f"{user}:{password}"
    try:
        encoded = raw.encode("latin-1")  # as requests sends it, and as SAP's ICF decodes it
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def _tls_context(settings: SapTargetSettings) -> ssl.SSLContext:
    if settings.verify:
        context = ssl.create_default_context(cafile=str(settings.ca_bundle) if settings.ca_bundle else None)
    else:
        log.warning("SAP at %s: TLS certificates are not verified (verify: false), fit only for a lab", settings.url)
        # said once here rather than by urllib3 on every call
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.client_cert is not None:
        try:
            context.load_cert_chain(str(settings.client_cert), str(settings.client_key) if settings.client_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"SAP client certificate {settings.client_cert}: cannot be loaded ({exc})") from None
    return context


def _cert_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = seen.__cause__ or seen.__context__ or nested
    return None


class HttpPool:
    """Kept-alive connections to one SAP system, safe to share between threads."""

    def __init__(self, settings: SapTargetSettings, user: str, password: str) -> None:
        self.settings = settings
        try:
            context = _tls_context(settings)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"SAP TLS settings: {exc}") from None
        options: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": max(1, settings.in_flight),
            "ssl_context": context,
            "cert_reqs": "CERT_REQUIRED" if settings.verify else "CERT_NONE",
            "retries": False,
        }
        self._pool: urllib3.PoolManager = (
            urllib3.ProxyManager(settings.proxy, **options) if settings.proxy else urllib3.PoolManager(**options)
        )
        self._headers = {"Authorization": _basic(user, password), "User-Agent": _USER_AGENT,
                         "Accept-Encoding": "identity"}
        self._direct = settings.proxy is None
        self._routes: dict[str, tuple[Any, str]] = {}  # URL -> (its host's pool, path and query)

    def _route(self, url: str) -> tuple[Any, str]:
        """The connection pool of ``url``'s host and the request target: parsed once per URL
        (a target has one endpoint per BAPI), not on every call."""
        found = self._routes.get(url)
        if found is None:
            parsed = urllib3.util.parse_url(url)
            found = self._routes[url] = (self._pool.connection_from_url(url), parsed.request_uri)
        return found

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float | None = None) -> HttpReply:
        """POST ``body``; the reply whatever its status (no redirect is followed).

        Raises:
            NeverConnected, ConnectionError, TimeoutError: the network failed (see the module).
            ConfigError: SAP's certificate does not verify.
        """
        timeout = urllib3.Timeout(total=timeout_s or self.settings.timeout_s)
        try:
            if self._direct:
                pool, target = self._route(url)
                reply = pool.urlopen(
                    "POST", target, body=body, headers={**self._headers, **headers}, redirect=False,
                    timeout=timeout, preload_content=True, retries=False,
                )
            else:  # through the proxy: urllib3 builds the proxy's request
                reply = self._pool.urlopen(
                    "POST", url, body=body, headers={**self._headers, **headers}, redirect=False,
                    timeout=timeout, preload_content=True,
                )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            raise NeverConnected(f"cannot connect to {_host(url)}: {_reason(exc)}") from None
        except ReadTimeoutError:
            raise TimeoutError(f"{_host(url)} did not answer within {timeout.total} s") from None
        except Urllib3SSLError as exc:
            failure = _cert_failure(exc)
            if failure is not None:
                raise ConfigError(f"TLS: {_host(url)}'s certificate does not verify ({failure.verify_message}); "
                                  "set ca_bundle to the CA that signed it") from None
            raise ConnectionError(f"TLS with {_host(url)} failed: {_reason(exc)}") from None
        except ProxyError as exc:
            raise NeverConnected(f"proxy {self.settings.proxy}: {_reason(exc)}") from None
        except (HTTPError, OSError) as exc:
            raise ConnectionError(f"connection to {_host(url)} failed: {_reason(exc)}") from None
        return HttpReply(reply.status, reply.headers, reply.data)

    def close(self) -> None:
        self._pool.clear()


def _host(url: str) -> str:
    return urllib3.util.parse_url(url).netloc or url


def _reason(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 puts the connection object's repr in front of the reason
    return text.split(": ", 1)[1] if text.startswith("<") and ": " in text else text


class PooledTransport(Transport):
    """zeep's transport, posting through an :class:`HttpPool`; WSDL files are read locally as before."""

    def __init__(self, pool: HttpPool, operation_timeout: float) -> None:
        super().__init__(operation_timeout=operation_timeout)
        self._http = pool

    def post(self, address: str, message: bytes | str, headers: Mapping[str, str]) -> HttpReply:
        body = message.encode("utf-8") if isinstance(message, str) else message
        reply = self._http.post(address, body, headers, self.operation_timeout)
        status = reply.status_code
        if not (200 <= status < 300 or status == 500):  # 500 carries SAP's SOAP Faults
            raise HttpStatusError(status)
        return reply
