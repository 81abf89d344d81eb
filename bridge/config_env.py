"""``${NAME}`` in the configuration file: values taken from the environment when it is loaded.

``url: ${SAP_URL}`` takes ``$SAP_URL``; when that is unset, the file named by ``$SAP_URL_FILE``
(a mounted secret); ``${NAME:-default}`` falls back to ``default``. A variable that is neither
set nor defaulted is an error naming the setting and the variable, never a silent empty value.
``$${`` writes a literal ``${``. Secrets read this way are masked like any other secret setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.errors import ConfigError

__all__ = ["interpolate"]

_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def interpolate(data: Any, env: Mapping[str, str], where: str = "") -> Any:
    """``data`` (plain dicts, lists, scalars) with every ``${NAME}`` in its strings replaced.

    Raises:
        ConfigError: a variable is unset (and has no default), or set both directly and as
            ``_FILE``; the message names the setting and the variable.
    """
    if isinstance(data, dict):
        return {key: interpolate(value, env, f"{where}.{key}" if where else str(key)) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(value, env, f"{where}[{index}]") for index, value in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        return _REFERENCE.sub(lambda match: _value(match, env, where), data)
    return data


def _value(match: re.Match[str], env: Mapping[str, str], where: str) -> str:
    if match.group(0) == "$${":
        return "${"
    from bridge.receivers.auth import secret_from_env

    name = match["name"]
    try:
        value = secret_from_env(name, env, required=False)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if value is not None:
        return value
    if match["default"] is not None:
        return match["default"]
    raise ConfigError(f"{where}: ${{{name}}} is not set (set {name} or {name}_FILE, or write ${{{name}:-default}})")
