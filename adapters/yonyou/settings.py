"""How the bridge reaches one YonBIP tenant (the client's settings; a route's own keys build on them)::

    url: https://apigateway.yonyoucloud.com   # where getGatewayAddress is asked (the default)
    tenant_id: ${YONYOU_TENANT_ID}
    # or, skipping the lookup (both carry their path prefix):
    # gateway_url: https://c2.yonyoucloud.com/iuap-api-gateway
    # token_url: https://c2.yonyoucloud.com/iuap-api-auth
    app_key_env: YONYOU_APP_KEY               # the variables holding the app's key and secret
    app_secret_env: YONYOU_APP_SECRET         # (or *_FILE, a mounted secret)
    token_path: base/v1                       # or: old (/open-auth/selfAppAuth/getAccessToken)
    token_in: query                           # access_token as the API pages send it; or: header
    ca_bundle: /etc/bridge/yonyou-ca.pem      # else the system's CAs; verify: false only for a lab
    client_cert: /etc/bridge/bridge.pem       # mutual TLS (client_key when separate)
    timeout_s: 30

Secrets never stand in the file: only the names of the variables holding them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.config_values import check_tls_files

__all__ = ["TOKEN_PATHS", "YonyouClientSettings"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
#: The self-built app's token paths, after the token URL (which ends in /iuap-api-auth).
TOKEN_PATHS = {
    "base/v1": "/open-auth/selfAppAuth/base/v1/getAccessToken",  # current (since 2023-07-21)
    "old": "/open-auth/selfAppAuth/getAccessToken",  # still answering; what the Python SDK calls
}


class YonyouClientSettings(BaseModel):
    """One YonBIP tenant as the client calls it: where, as which app, over which TLS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field("https://apigateway.yonyoucloud.com", pattern=_URL)
    gateway_url: str | None = Field(None, pattern=_URL)
    token_url: str | None = Field(None, pattern=_URL)
    tenant_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    app_key_env: str = Field("YONYOU_APP_KEY", pattern=_ENV_NAME)
    app_secret_env: str = Field("YONYOU_APP_SECRET", pattern=_ENV_NAME)
    token_path: Literal["base/v1", "old"] = "base/v1"
    token_in: Literal["query", "header"] = "query"
    #: a token is renewed this long before the ``expire`` the token service gave it
    token_margin_s: float = Field(60.0, ge=0, le=3600)
    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    proxy: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    timeout_s: float = Field(30.0, gt=0, le=600)

    @field_validator("gateway_url", "token_url", "tenant_id", "ca_bundle", "client_cert", "client_key", "proxy",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # `${YONYOU_CA_BUNDLE:-}` expands to ""

    @model_validator(mode="after")
    def _consistent(self) -> YonyouClientSettings:
        if (self.gateway_url is None) != (self.token_url is None):
            raise ValueError("gateway_url and token_url go together (both from getGatewayAddress), or neither")
        if self.gateway_url is None and self.tenant_id is None:
            raise ValueError("set tenant_id (the gateway is looked up for it) or gateway_url and token_url")
        check_tls_files(self)
        return self

    @property
    def token_endpoint_path(self) -> str:
        return TOKEN_PATHS[self.token_path]
