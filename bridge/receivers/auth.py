"""How a receiver authenticates its caller: HTTP basic auth or a bearer token.

Secrets come from the environment or from a file named by ``<NAME>_FILE`` (a mounted secret),
never from the configuration file, and are compared in constant time. A receiver that has no
credentials configured refuses to start (:class:`~bridge.errors.ConfigError`): every receiver
authenticates its caller.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bridge.errors import ConfigError
from bridge.receivers.request import HttpRequest

__all__ = ["BasicCredentials", "Credentials", "TokenCredentials", "secret_from_env"]

_SECRET_FILE_MAX_BYTES = 64 * 1024


def secret_from_env(name: str, env: Mapping[str, str] | None = None, *, required: bool = True) -> str | None:
    """The secret in ``$name`` or in the file ``$name_FILE`` (not both).

    Raises:
        ConfigError: neither is set (when ``required``), both are, or the file cannot be read;
            the message names the variable, never the secret.
    """
    env = os.environ if env is None else env
    value = env.get(name) or None
    file_name = env.get(f"{name}_FILE") or None
    if value is not None and file_name is not None:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if file_name is not None:
        try:
            with Path(file_name).open("rb") as stream:
                raw = stream.read(_SECRET_FILE_MAX_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror or exc}") from None
        if len(raw) > _SECRET_FILE_MAX_BYTES:
            raise ConfigError(f"{name}_FILE: {file_name} is larger than {_SECRET_FILE_MAX_BYTES} bytes")
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"{name}_FILE: {file_name} is not UTF-8 text") from None
    if not value:
        if required:
            raise ConfigError(f"{name} (or {name}_FILE) is not set")
        return None
    return value


class Credentials(Protocol):
    """Checks a request's Authorization header."""

    scheme: str

    def allows(self, request: HttpRequest) -> bool:
        """Whether the request carries these credentials."""
        ...


@dataclass(frozen=True)
class BasicCredentials:
    """HTTP basic auth with one user and password."""

    user: str
    password: str = field(repr=False)
    scheme: str = "Basic"

    def allows(self, request: HttpRequest) -> bool:
        header = request.header("authorization") or ""
        kind, _, encoded = header.partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        # both compared, always: the time taken does not tell which one was wrong
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return bool(sep) and user_ok and password_ok


@dataclass(frozen=True)
class TokenCredentials:
    """A bearer token (``Authorization: Bearer <token>``)."""

    token: str = field(repr=False)
    scheme: str = "Bearer"

    def allows(self, request: HttpRequest) -> bool:
        header = request.header("authorization") or ""
        kind, _, token = header.partition(" ")
        return kind.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token.encode())
