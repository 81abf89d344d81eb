"""What a route to SAP over SOAP may say (the route's own keys, beside name, sink, events)::

    routes:
      - name: sap
        sink: sap
        events: ["report.*", "lot.*"]
        url: ${SAP_URL}                   # https://s4h.example:44300 (the ICF's host and port)
        user_env: SAP_USER                # the variables holding the credentials (or *_FILE)
        password_env: SAP_PASSWORD
        sap_client: "100"                 # sent as ?sap-client=100
        ca_bundle: /etc/bridge/sap-ca.pem # else the system's CAs; verify: false only for a lab
        client_cert: /etc/bridge/bridge.pem   # mutual TLS (with client_key when separate)
        proxy: http://proxy.plant:3128    # an HTTP proxy on the way to SAP (HTTP(S)_PROXY are not read)
        timeout_s: 30
        in_flight: 16                     # calls outstanding at once (never two for one order)
        goods_movements: separate         # or: confirmation (in the confirmation's GOODSMOVEMENTS)
                                          # or: idoc (MBGMCR03 IDocs, see adapters/sap/idoc_outbound.py)
        idoc: {path: /sap/bc/srt/idoc, receiver_partner: S4HCLNT100}   # or directory: /outbound
        backflush: suppress               # or: standard (SAP's own backflush/automatic GR stays on)
        plant: "1000"                     # when neither the report nor its order names one
        deficit_retry_s: 900              # how long a stock deficit (M7 021) is retried
        errors:                           # rows put in front of the SAP error table
          - {code: ZPP/042, kind: transient, reason: "site's wrapper: order being changed"}
        lot_status:                       # MES lot status -> SAP mechanism (reference §8.6)
          blocked: {mechanism: transfer, move_type: "344"}
          released: {mechanism: batch_status, restricted: false}
        services:                         # per BAPI, when the site's names differ from ZWS_<BAPI>
          BAPI_PRODORDCONF_CREATE_TT: {path: /sap/bc/srt/rfc/sap/zmes_conf/100/zmes_conf/zmes_conf}

Secrets never stand in the file: only the names of the variables holding them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.sap.bapi_interfaces import BAPIS, service_name
from bridge.config_values import check_tls_files

__all__ = ["IdocOutboundSettings", "LotStatusMove", "SapServiceSettings", "SapTargetSettings", "default_path"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def default_path(bapi: str, client: str) -> str:
    """The SOAMANAGER endpoint path of the service a site wraps ``bapi`` in."""
    service = service_name(bapi).lower()
    return f"/sap/bc/srt/rfc/sap/{service}/{client}/{service}_sev/{service}_binding"


class SapServiceSettings(BaseModel):
    """One BAPI's service at the site: where it is and how its WSDL names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = Field(None, pattern=r"^/[A-Za-z0-9/_.~%-]*$")
    wsdl: Path | None = None
    operation: str | None = Field(None, pattern=r"^[A-Z0-9_/]{1,30}$")
    binding: str | None = None


class LotStatusMove(BaseModel):
    """How one canonical lot status reaches SAP (reference §8.6).

    ``batch_status``: BAPI_BATCH_CHANGE sets the batch's status (restricted or not); ``transfer``:
    a stock transfer posting (GM_CODE 04) with ``move_type`` (343 blocked -> unrestricted, 344
    unrestricted -> blocked, 349/350, 321 ...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mechanism: Literal["batch_status", "transfer"]
    move_type: str | None = Field(None, pattern=r"^[0-9A-Z]{3}$")
    restricted: bool | None = None

    @model_validator(mode="after")
    def _complete(self) -> LotStatusMove:
        if self.mechanism == "transfer" and self.move_type is None:
            raise ValueError("a transfer needs its move_type (e.g. 344 to blocked stock)")
        if self.mechanism == "batch_status" and self.restricted is None:
            raise ValueError("a batch_status move needs restricted: true or false")
        return self


def _default_lot_status() -> dict[str, LotStatusMove]:
    return {
        "restricted": LotStatusMove(mechanism="batch_status", restricted=True),
        "released": LotStatusMove(mechanism="batch_status", restricted=False),
    }


class IdocOutboundSettings(BaseModel):
    """Where ``goods_movements: idoc`` sends its MBGMCR03 IDocs, and their control record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field("/sap/bc/srt/idoc", pattern=r"^/[A-Za-z0-9/_.~%-]*$")
    directory: Path | None = None
    sender_port: str = Field("MESPORT", pattern=r"^[A-Z0-9_]{1,10}$")
    sender_partner: str = Field("MES", pattern=r"^[A-Z0-9_]{1,10}$")
    receiver_port: str | None = Field(None, pattern=r"^[A-Z0-9_]{1,10}$")
    receiver_partner: str | None = Field(None, pattern=r"^[A-Z0-9_]{1,10}$")

    @field_validator("directory", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class SapTargetSettings(BaseModel):
    """A SAP system the bridge posts to over SOAP (validated by the SAP adapter at start)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    user_env: str = Field("SAP_USER", pattern=_ENV_NAME)
    password_env: str = Field("SAP_PASSWORD", pattern=_ENV_NAME)
    sap_client: str = Field("100", pattern=r"^[0-9]{3}$")
    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    proxy: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    timeout_s: float = Field(30.0, gt=0, le=600)
    in_flight: int = Field(8, ge=1, le=256)
    goods_movements: Literal["separate", "confirmation", "idoc"] = "separate"
    idoc: IdocOutboundSettings = IdocOutboundSettings()
    backflush: Literal["suppress", "standard"] = "suppress"
    plant: str | None = Field(None, pattern=r"^[A-Z0-9]{1,4}$")
    receipt_storage_location: str | None = Field(None, pattern=r"^[A-Z0-9]{1,4}$")
    mapping: str = "sap.report.prodordconf"
    services: dict[str, SapServiceSettings] = Field(default_factory=dict)
    lot_status: dict[str, LotStatusMove] = Field(default_factory=_default_lot_status)
    deficit_retry_s: float | None = Field(None, gt=0)
    errors: tuple[dict[str, Any], ...] = ()

    @field_validator("ca_bundle", "client_cert", "client_key", "proxy", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # `${SAP_CA_BUNDLE:-}` expands to ""

    @field_validator("services")
    @classmethod
    def _known_bapis(cls, value: dict[str, SapServiceSettings]) -> dict[str, SapServiceSettings]:
        unknown = sorted(set(value) - set(BAPIS))
        if unknown:
            raise ValueError(f"unknown BAPI {', '.join(unknown)} (known: {', '.join(sorted(BAPIS))})")
        return value

    @model_validator(mode="after")
    def _tls(self) -> SapTargetSettings:
        check_tls_files(self)
        return self

    def endpoint(self, bapi: str) -> str:
        """The URL the BAPI's service is called at, with ``sap-client``."""
        service = self.services.get(bapi)
        path = service.path if service and service.path else default_path(bapi, self.sap_client)
        return f"{self.url.rstrip('/')}{path}?sap-client={self.sap_client}"

    def idoc_endpoint(self) -> str:
        """The URL of SAP's SOAP IDoc service, with ``sap-client``."""
        return f"{self.url.rstrip('/')}{self.idoc.path}?sap-client={self.sap_client}"

    def operation(self, bapi: str) -> str:
        service = self.services.get(bapi)
        return service.operation if service and service.operation else bapi
