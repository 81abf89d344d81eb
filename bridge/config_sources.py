"""Where settings come from: the YAML file, ``BRIDGE_*`` variables and their ``_FILE`` forms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, MappingDefinitionError
from bridge.mapping.yaml_source import load_yaml_file
from bridge.redaction import redact

__all__ = ["assign", "env_value", "plain", "read_file"]

#: Variables that may instead be read from the file named by ``<NAME>_FILE``.
_SECRET_VARS = frozenset({"BRIDGE_AMQP_URL", "BRIDGE_DATABASE_URL"})
# A secret file holds one URL or password; anything longer is the wrong file (or /dev/zero).
_SECRET_FILE_MAX_BYTES = 64 * 1024


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        data = load_yaml_file(path)
    except MappingDefinitionError as exc:
        raise ConfigError(redact(str(exc))) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the configuration must be a mapping of settings, not {type(data).__name__}"
        )
    return data


def _plain(value: Any) -> Any:
    """A deep copy of YAML data as plain dicts and lists (env values are merged into it)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _env_value(env: Mapping[str, str], var: str) -> tuple[str, str] | None:
    value = env.get(var) or None
    file_var = f"{var}_FILE"
    secret_file = env.get(file_var) if var in _SECRET_VARS else None
    if secret_file:
        if value is not None:
            raise ConfigError(f"set {var} or {file_var}, not both")
        return _read_secret_file(file_var, secret_file), f"from {file_var} ({secret_file})"
    return (value, f"from {var}") if value is not None else None


def _read_secret_file(file_var: str, name: str) -> str:
    """The secret in file ``name`` (whitespace around it dropped); errors never quote its content."""
    try:
        with Path(name).open("rb") as stream:
            raw = stream.read(_SECRET_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{file_var}: cannot read {name}: {exc.strerror or exc}") from exc
    if len(raw) > _SECRET_FILE_MAX_BYTES:
        raise ConfigError(f"{file_var}: {name} is larger than {_SECRET_FILE_MAX_BYTES} bytes: not a secret file")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file_var}: {name} is not UTF-8 text (byte offset {exc.start})") from None


def _assign(data: dict[str, Any], loc: tuple[str, ...], value: str) -> bool:
    node = data
    for key in loc[:-1]:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
        if not isinstance(node, dict):
            return False  # the file has a non-mapping here; validation reports it
    node[loc[-1]] = value
    return True


read_file = _read_file
plain = _plain
env_value = _env_value
assign = _assign
