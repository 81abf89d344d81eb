"""What the bridge needs to reach one K/3 Cloud data center, and what it polls there::

    sources:
      kingdee:
        timezone: Asia/Shanghai             # K/3 Cloud's times carry no zone: the server's own
        url: ${KINGDEE_URL}                 # the server with its virtual directory: http://erp/k3cloud
        acct_id: ${KINGDEE_ACCT_ID}         # the data center (账套) id
        user: ${KINGDEE_USER}
        app_id: ${KINGDEE_APP_ID}           # 第三方系统登录授权: <clientId>_<encSecret>
        app_secret_env: KINGDEE_APP_SECRET  # the variable holding the app secret (or *_FILE)
        auth: signed                        # signed (SDK 8.x headers), app_secret or password
        password_env: KINGDEE_PASSWORD      # auth: password only
        lcid: 2052
        ca_bundle: /etc/bridge/erp-ca.pem   # else the system's CAs; verify: false only for a lab
        client_cert: /etc/bridge/bridge.pem # mutual TLS (client_key when separate)
        poll:
          poll_s: 60                        # between two polls
          overlap_s: 300                    # bills saved late with an earlier FModifyDate
          page_size: 500                    # ExecuteBillQuery Limit (the server allows 10000)
          since: "2026-01-01 00:00:00"      # where a first start begins (server-local time)
          forms:
            PRD_MO: {filter: "FDocumentStatus = 'C'"}
            BD_MATERIAL: {}
            BD_BatchMainFile: {}

The same connection keys make a route to K/3 Cloud (:mod:`adapters.kingdee.target`). Secrets never
stand in the file: only the names of the variables holding them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.kingdee.client import KingdeeClient
from adapters.kingdee.errors import ERRORS
from adapters.kingdee.signing import Identity
from bridge.config_values import check_tls_files
from bridge.receivers.auth import secret_from_env

__all__ = ["POLLED_FORMS", "KingdeeConnection", "KingdeeFormPoll", "KingdeePollSettings", "KingdeeSourceSettings"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: The forms a poller reads, with the field holding each one's number.
POLLED_FORMS: Mapping[str, str] = {"PRD_MO": "FBillNo", "BD_MATERIAL": "FNumber", "BD_BatchMainFile": "FNumber"}
_LOCAL_TIME = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,3})?)?$"


class KingdeeConnection(BaseModel):
    """One K/3 Cloud data center, one user, one third-party app."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    acct_id: str = Field(min_length=1, max_length=100)
    user: str = Field(min_length=1, max_length=100)
    app_id: str = Field("", max_length=200)
    app_secret_env: str = Field("KINGDEE_APP_SECRET", pattern=_ENV_NAME)
    auth: Literal["signed", "app_secret", "password"] = "signed"
    password_env: str = Field("KINGDEE_PASSWORD", pattern=_ENV_NAME)
    lcid: int = Field(2052, ge=1)
    org_num: int = Field(0, ge=0)
    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    proxy: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    timeout_s: float = Field(30.0, gt=0, le=600)
    errors: tuple[dict[str, Any], ...] = ()

    @field_validator("ca_bundle", "client_cert", "client_key", "proxy", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # `${KINGDEE_CA_BUNDLE:-}` expands to ""

    @model_validator(mode="after")
    def _consistent(self) -> KingdeeConnection:
        if self.auth != "password" and not self.app_id:
            raise ValueError(f"auth: {self.auth} needs app_id (第三方系统登录授权: <clientId>_<encSecret>)")
        check_tls_files(self)
        return self

    def client(self, where: str, env: Mapping[str, str] | None = None) -> KingdeeClient:
        """A client on this connection, its secrets read now.

        Raises:
            ConfigError: a secret's variable is not set (names the variable), an ``errors:``
                row is not valid, or the TLS files cannot be loaded.
        """
        secret = "" if self.auth == "password" else secret_from_env(self.app_secret_env, env) or ""
        password = secret_from_env(self.password_env, env) if self.auth == "password" else None
        identity = Identity(self.acct_id, self.user, self.app_id, secret, self.lcid, str(self.org_num))
        return KingdeeClient(
            self.url, identity, mode=self.auth, password=password, verify=self.verify, ca_bundle=self.ca_bundle,
            client_cert=self.client_cert, client_key=self.client_key, proxy=self.proxy, timeout_s=self.timeout_s,
            errors=ERRORS.with_overrides(self.errors, setting=f"{where}: errors"),
        )


class KingdeeFormPoll(BaseModel):
    """One polled form: an extra FilterString condition (ANDed with the watermark's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filter: str = Field("", max_length=2000)
    enabled: bool = True


class KingdeePollSettings(BaseModel):
    """Incremental polling by FModifyDate (see :mod:`adapters.kingdee.poller`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    poll_s: float = Field(60.0, gt=0, le=86400)
    overlap_s: float = Field(300.0, ge=0, le=7 * 86400)
    page_size: int = Field(500, ge=1, le=10000)
    since: str | None = Field(None, pattern=_LOCAL_TIME)
    forms: dict[str, KingdeeFormPoll] = Field(default_factory=lambda: {f: KingdeeFormPoll() for f in POLLED_FORMS})

    @field_validator("forms", mode="before")
    @classmethod
    def _empty_form_is_default(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @field_validator("forms")
    @classmethod
    def _known_forms(cls, value: dict[str, KingdeeFormPoll]) -> dict[str, KingdeeFormPoll]:
        unknown = sorted(set(value) - set(POLLED_FORMS))
        if unknown:
            raise ValueError(f"unknown form {', '.join(unknown)} (polled: {', '.join(POLLED_FORMS)})")
        return value


class KingdeeSourceSettings(KingdeeConnection):
    """K/3 Cloud as a source: the connection and what is polled (nothing without ``poll:``)."""

    poll: KingdeePollSettings | None = None
    max_document_bytes: int | None = Field(None, ge=1024, le=256 * 1024 * 1024)

    def codec_options(self) -> dict[str, Any]:
        """The options :class:`~adapters.kingdee.codec.KingdeeCodec` decodes with."""
        return {"max_bytes": self.max_document_bytes} if self.max_document_bytes else {}
