"""Calls BAPIs over SOAP with zeep, against the WSDL files kept in the repo.

Each BAPI is one service (``ZWS_<BAPI>``, SOAMANAGER style; see adapters/sap/wsdl/): the WSDL is
read from a local file (never fetched: SAP's WSDL URLs need credentials and pull in imports,
reference §5.4), the endpoint comes from the settings. Values are checked against the BAPI's DDIC
types before sending (zeep checks no length, pattern or digits); optional parameters left out
are sent as ``xsd.SkipValue`` (zeep would send ``""`` or refuse them otherwise), and so are the
absent fields of a structure whose WSDL does not mark its fields optional (the shipped WSDLs do:
there zeep simply leaves them out, which costs a fraction of building every field).

One zeep client per thread and BAPI (zeep is not documented as safe to share between threads, and
the sink calls from several at once), all of them posting through one pool of kept-alive
connections (:mod:`adapters.sap.http_pool`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zeep import Client, Settings, xsd
from zeep.exceptions import Fault, ValidationError, XMLSyntaxError
from zeep.exceptions import TransportError as ZeepTransportError
from zeep.helpers import serialize_object

from adapters.sap.bapi_check import check_call
from adapters.sap.bapi_interfaces import BAPIS, STRUCTURES, service_name
from adapters.sap.errors import ERRORS
from adapters.sap.http_pool import HttpPool, HttpStatusError, NeverConnected, PooledTransport
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


def not_sent(error: BridgeError) -> BridgeError:
    """``error`` as :class:`NotSentError` when it is transient: SAP answered without doing anything."""
    return NotSentError(str(error)) if type(error) is TransientError else error


def _row(struct: str, row: Mapping[str, Any], sparse: bool) -> dict[str, Any]:
    fields = STRUCTURES[struct]
    if sparse:  # the WSDL marks every field optional: zeep leaves out what is not given
        return {f: row[f] for f in fields if f in row}
    return {f: row.get(f, xsd.SkipValue) for f in fields}


def _all_optional(client: Client, struct: str) -> bool:
    """Whether the loaded WSDL lets every field of ``struct`` be left out (SOAMANAGER's own
    WSDLs may not: then each absent field is sent as ``xsd.SkipValue``)."""
    try:
        kind = client.get_type(f"{{{_NS}}}{struct}")
    except (LookupError, ValueError):
        return False
    return all(getattr(element, "min_occurs", 1) == 0 for _, element in getattr(kind, "elements", []))


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
        self._http: HttpPool | None = None
        self._http_lock = threading.Lock()

    def _pool(self) -> HttpPool:
        with self._http_lock:
            if self._http is None:
                self._http = HttpPool(self.settings, self._user, self._password)
            return self._http

    def _service(self, bapi: str) -> tuple[Any, frozenset[str]]:
        """The zeep service of ``bapi`` for this thread, and the structures whose fields its
        WSDL lets be left out."""
        services = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
        if bapi not in services:
            configured = self.settings.services.get(bapi)
            wsdl = configured.wsdl if configured and configured.wsdl else WSDL_DIR / f"{bapi}.wsdl"
            binding = configured.binding if configured and configured.binding else f"{{{_NS}}}{service_name(bapi)}_BINDING"
            transport = PooledTransport(self._pool(), operation_timeout=self.settings.timeout_s)
            try:
                client = Client(str(wsdl), transport=transport, settings=Settings(strict=False, xml_huge_tree=False))
                sparse = frozenset(
                    str(p.type) for p in BAPIS[bapi].inputs
                    if p.shape in ("table", "structure") and _all_optional(client, str(p.type))
                )
                services[bapi] = (client.create_service(binding, self.settings.endpoint(bapi)), sparse)
            except (OSError, ValueError, XMLSyntaxError) as exc:
                raise ConfigError(f"SAP service {bapi}: cannot load its WSDL {wsdl}: {exc}") from None
        return services[bapi]

    def _arguments(self, bapi: str, params: Mapping[str, Any], sparse: frozenset[str]) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for param in BAPIS[bapi].inputs:
            value = params.get(param.name)
            if value is None:
                arguments[param.name] = xsd.SkipValue
            elif param.shape == "table":
                struct = str(param.type)
                arguments[param.name] = {"item": [_row(struct, row, struct in sparse) for row in value]}
            elif param.shape == "structure":
                struct = str(param.type)
                arguments[param.name] = _row(struct, value, struct in sparse)
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
        service, sparse = self._service(bapi)
        operation = getattr(service, self.settings.operation(bapi))
        try:
            result = operation(**self._arguments(bapi, params, sparse))
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
        except OSError as exc:
            failure = self._failure(bapi, ErrorFacts(exception=exc), f"{type(exc).__name__}: {exc}")
            raise (not_sent(failure) if isinstance(exc, NeverConnected) else failure) from None
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
        try:
            reply = self._pool().post(url, body, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        except OSError as exc:
            raise self.errors.error(ErrorFacts(exception=exc), f"{what} at {url}: {type(exc).__name__}: {exc}") from None
        if reply.status_code == 500:
            raise self.errors.error(ErrorFacts(status=500), f"{what} at {url}: HTTP 500 (SOAP Fault)")
        if not 200 <= reply.status_code < 300:
            status = reply.status_code
            raise self.errors.error(ErrorFacts(status=status), f"{what} at {url}: HTTP {status}")

    def _failure(self, bapi: str, facts: ErrorFacts, what: str) -> BridgeError:
        return self.errors.error(facts, f"SAP {bapi} at {self.settings.endpoint(bapi)}: {what}")

    def close(self) -> None:
        with self._http_lock:
            pool, self._http = self._http, None
        if pool is not None:
            pool.close()


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
