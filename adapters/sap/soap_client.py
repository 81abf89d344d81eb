"""Calls BAPIs over SOAP with zeep, against the WSDL files kept in the repo.

Each BAPI is one service (``ZWS_<BAPI>``, SOAMANAGER style; see adapters/sap/wsdl/): the WSDL is
read from a local file (never fetched: SAP's WSDL URLs need credentials and pull in imports,
reference §5.4), the endpoint comes from the settings. Values are checked against the BAPI's DDIC
types before sending (zeep checks no length, pattern or digits); optional parameters and fields
left out are sent as ``xsd.SkipValue`` (zeep would send ``""`` or refuse them otherwise).

One zeep client per thread and BAPI: zeep and requests sessions are not documented as safe to
share between threads, and the sink calls from several at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError
from zeep import Client, Settings, xsd
from zeep.exceptions import Fault, ValidationError, XMLSyntaxError
from zeep.exceptions import TransportError as ZeepTransportError
from zeep.helpers import serialize_object
from zeep.transports import Transport

from adapters.sap.bapi_check import check_call
from adapters.sap.bapi_interfaces import BAPIS, STRUCTURES, service_name
from adapters.sap.errors import ERRORS
from adapters.sap.target import SapTargetSettings
from bridge.adapter.errors import ErrorFacts, ErrorTable
from bridge.errors import BridgeError, ConfigError, NotSentError, PermanentError, TransientError, shown
from bridge.receivers.auth import secret_from_env

__all__ = ["WSDL_DIR", "SapSoapClient", "client_for", "not_sent"]

#: The WSDL files written by ``python -m adapters.sap.wsdl_writer``.
WSDL_DIR = Path(__file__).parent / "wsdl"
_NS = "urn:sap-com:document:sap:rfc:functions"
#: Statuses SAP's ICF answers before the call runs (a 502/504 from a proxy may come after it ran).
_REFUSED_BEFORE_PROCESSING = frozenset({401, 403, 429, 503})


class HttpStatusError(Exception):
    """A reply whose HTTP status zeep must not interpret: SAP's ICF answers 401 with an HTML
    page that happens to parse as XML, which zeep would report as an unknown SOAP Fault."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _check_status(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    status = response.status_code
    if not (200 <= status < 300 or status == 500):  # 500 carries SAP's SOAP Faults
        raise HttpStatusError(status)


def not_sent(error: BridgeError) -> BridgeError:
    """``error`` as :class:`NotSentError` when it is transient: SAP answered without doing anything."""
    return NotSentError(str(error)) if type(error) is TransientError else error


def _never_connected(exc: BaseException) -> bool:
    """Whether the connection was never made (so SAP cannot have received the call)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (NewConnectionError, requests.exceptions.ConnectTimeout)):
            return True
        reason = getattr(seen, "reason", None)
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else nested
    return False


def _rows(struct: str, rows: Any) -> dict[str, Any]:
    fields = STRUCTURES[struct]
    return {"item": [{f: row.get(f, xsd.SkipValue) for f in fields} for row in rows]}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"item"}:
            items = value["item"] or []
            return [_plain(v) for v in (items if isinstance(items, list) else [items])]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class SapSoapClient:
    """Calls the BAPIs of one SAP system (one route's target)."""

    def __init__(
        self,
        settings: SapTargetSettings,
        user: str,
        password: str,
        *,
        errors: ErrorTable = ERRORS,
    ) -> None:
        self.settings = settings
        self.errors = errors
        self._user, self._password = user, password
        self._local = threading.local()
        self._sessions: list[requests.Session] = []  # every thread's, closed together
        self._sessions_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.auth = (self._user, self._password)
        s = self.settings
        session.verify = str(s.ca_bundle) if s.ca_bundle else s.verify
        if s.client_cert is not None:
            session.cert = (str(s.client_cert), str(s.client_key)) if s.client_key else str(s.client_cert)
        # the proxy is configured, not taken from the environment: requests would scan the
        # whole environment on every call to find one (a third of a millisecond each)
        session.trust_env = False
        if s.proxy:
            session.proxies = {"http": s.proxy, "https": s.proxy}
        session.headers["Accept-Encoding"] = "identity"
        session.hooks["response"].append(_check_status)
        with self._sessions_lock:
            self._sessions.append(session)
        return session

    def _service(self, bapi: str) -> Any:
        services = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
            self._local.session = self._session()
        if bapi not in services:
            configured = self.settings.services.get(bapi)
            wsdl = configured.wsdl if configured and configured.wsdl else WSDL_DIR / f"{bapi}.wsdl"
            binding = configured.binding if configured and configured.binding else f"{{{_NS}}}{service_name(bapi)}_BINDING"
            try:
                transport = Transport(session=self._local.session, operation_timeout=self.settings.timeout_s)
                client = Client(str(wsdl), transport=transport, settings=Settings(strict=False, xml_huge_tree=False))
                services[bapi] = client.create_service(binding, self.settings.endpoint(bapi))
            except (OSError, ValueError, XMLSyntaxError) as exc:
                raise ConfigError(f"SAP service {bapi}: cannot load its WSDL {wsdl}: {exc}") from None
        return services[bapi]

    def _arguments(self, bapi: str, params: Mapping[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for param in BAPIS[bapi].inputs:
            value = params.get(param.name)
            if value is None:
                arguments[param.name] = xsd.SkipValue
            elif param.shape == "table":
                arguments[param.name] = _rows(str(param.type), value)
            elif param.shape == "structure":
                arguments[param.name] = {f: value.get(f, xsd.SkipValue) for f in STRUCTURES[str(param.type)]}
            else:
                arguments[param.name] = value
        return arguments

    def call(self, bapi: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call ``bapi`` with ``params`` (tables as lists of rows); its outputs, tables as lists.

        Raises:
            PermanentError: a value does not fit its DDIC type (every one named).
            TransientError: SAP or the network is unavailable, or the reply was lost.
            ConfigError: SAP refused the credentials, or the WSDL does not fit.
        """
        problems = check_call(bapi, params)
        if problems:
            raise PermanentError(f"SAP {bapi}: not sent, SAP would refuse it: {'; '.join(problems)}")
        service = self._service(bapi)
        operation = getattr(service, self.settings.operation(bapi))
        try:
            result = operation(**self._arguments(bapi, params))
        except Fault as exc:  # SAP raised: its LUW was rolled back
            raise not_sent(self._failure(bapi, ErrorFacts(status=500, text=str(exc.message or "")), f"SOAP Fault {shown(exc.message)}")) from None
        except HttpStatusError as exc:
            failure = self._failure(bapi, ErrorFacts(status=exc.status), f"HTTP {exc.status}")
            raise (not_sent(failure) if exc.status in _REFUSED_BEFORE_PROCESSING else failure) from None
        except ZeepTransportError as exc:
            raise self._failure(bapi, ErrorFacts(status=exc.status_code), f"HTTP {exc.status_code}") from None
        except ValidationError as exc:
            raise ConfigError(f"SAP {bapi}: the call does not fit the service's WSDL: {exc}") from None
        except XMLSyntaxError as exc:
            raise TransientError(f"SAP {bapi}: the reply is not XML ({exc})") from None
        except (requests.RequestException, OSError) as exc:
            failure = self._failure(bapi, ErrorFacts(exception=exc), f"{type(exc).__name__}")
            raise (not_sent(failure) if _never_connected(exc) else failure) from None
        plain = _plain(serialize_object(result, dict))
        if not isinstance(plain, dict):
            single = next(p.name for p in BAPIS[bapi].outputs)
            plain = {single: plain}
        for param in BAPIS[bapi].outputs:
            if param.shape == "table" and plain.get(param.name) is None:
                plain[param.name] = []
        return plain

    def post_xml(self, url: str, body: bytes, what: str) -> None:
        """POST an XML document (an IDoc) with this client's credentials and TLS settings.

        Raises:
            TransientError, ConfigError, PermanentError: by the error table (HTTP status,
                connection failures); a 2xx is success.
        """
        if getattr(self._local, "session", None) is None:
            self._local.services = {}
            self._local.session = self._session()
        try:
            reply = self._local.session.post(
                url, data=body, timeout=self.settings.timeout_s,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            )
        except HttpStatusError as exc:
            raise self.errors.error(ErrorFacts(status=exc.status), f"{what} at {url}: HTTP {exc.status}") from None
        except (requests.RequestException, OSError) as exc:
            raise self.errors.error(ErrorFacts(exception=exc), f"{what} at {url}: {type(exc).__name__}") from None
        if reply.status_code == 500:
            raise self.errors.error(ErrorFacts(status=500), f"{what} at {url}: HTTP 500 (SOAP Fault)")

    def _failure(self, bapi: str, facts: ErrorFacts, what: str) -> BridgeError:
        return self.errors.error(facts, f"SAP {bapi} at {self.settings.endpoint(bapi)}: {what}")

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def client_for(settings: SapTargetSettings, route: str, env: Mapping[str, str] | None = None) -> SapSoapClient:
    """The client of a SAP route: its credentials from the environment (or ``_FILE``), its
    error table with the route's own rows in front.

    Raises:
        ConfigError: a credential's variable is not set, or an ``errors:`` row is not valid.
    """
    user = secret_from_env(settings.user_env, env)
    password = secret_from_env(settings.password_env, env)
    assert user is not None
    assert password is not None
    errors = ERRORS.with_overrides(settings.errors, setting=f"route {route}: errors")
    return SapSoapClient(settings, user, password, errors=errors)
