"""Bridge settings: one YAML file plus ``BRIDGE_*`` environment overrides, validated at start-up.

Precedence, lowest first: built-in defaults, the YAML file (``path`` argument, else
``$BRIDGE_CONFIG``, else none), then environment variables. Secrets can come from files
(``BRIDGE_AMQP_URL_FILE``) as Docker and Kubernetes mount them. Any invalid setting raises
:class:`~bridge.errors.ConfigError` naming the dotted setting, the value and where it came from::

    broker.prefetch = '0' (from BRIDGE_PREFETCH): Input should be greater than or equal to 1

Relative paths (``mappings_dir``, ``sqlite:///`` files, definitions, file-sink paths) are
resolved against the working directory. Secret settings (``amqp_url``, ``database_url``) are
:class:`~bridge.redaction.SecretUrl` values: shown everywhere, errors included, with the password
masked (``amqp://bridge:***@rabbit/``); :func:`redact` strips passwords from any other text.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bridge.errors import ConfigError, MappingDefinitionError
from bridge.mapping.yaml_source import load_yaml_file
from bridge.redaction import MASK, Secret, SecretUrl, is_secret_key, redact, redact_data

__all__ = [
    "DEFAULT_AMQP_URL",
    "ENV_OVERRIDES",
    "BrokerSettings",
    "LedgerSettings",
    "RouteSettings",
    "Settings",
    "SourceSettings",
    "adapter_source_settings",
    "load_settings",
    "parse_duration",
    "redact",
]

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"

#: Environment variable -> dotted setting it overrides. Empty values count as unset.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "BRIDGE_AMQP_URL": ("amqp_url",),
    "BRIDGE_DATABASE_URL": ("database_url",),
    "BRIDGE_HTTP_PORT": ("http_port",),
    "BRIDGE_HTTP_HOST": ("http_host",),
    "BRIDGE_MAPPINGS_DIR": ("mappings_dir",),
    "BRIDGE_LOG_LEVEL": ("log_level",),
    "BRIDGE_LOG_FORMAT": ("log_format",),
    "BRIDGE_BROKER_PREFIX": ("broker", "prefix"),
    "BRIDGE_QUEUE_TYPE": ("broker", "queue_type"),
    "BRIDGE_PREFETCH": ("broker", "prefetch"),
    "BRIDGE_DIRECT_DELIVERY": ("broker", "direct_delivery"),
    "BRIDGE_INGEST_DEADLINE": ("broker", "ingest_deadline_s"),
    "BRIDGE_LEDGER_BUSY_TIMEOUT": ("ledger", "busy_timeout_s"),
}
#: Variables that may instead be read from the file named by ``<NAME>_FILE``.
_SECRET_VARS = frozenset({"BRIDGE_AMQP_URL", "BRIDGE_DATABASE_URL"})
# A secret file holds one URL or password; anything longer is the wrong file (or /dev/zero).
_SECRET_FILE_MAX_BYTES = 64 * 1024

# -- value types --------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_TOPIC_WORD = re.compile(r"^(?:\*|#|[A-Za-z0-9_-]+)$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_duration(text: str | float) -> float:
    """Seconds in a duration: ``"500ms"``, ``"5s"``, ``"5m"``, ``"1h"`` or plain seconds (``30``).

    Raises:
        ConfigError: the text is not a non-negative duration.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ConfigError(f"invalid duration {text!r}: must not be negative")
        return float(text)
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"invalid duration {text!r}: expected e.g. '500ms', '5s', '5m', '1h' or seconds")
    return float(match["num"]) * _UNIT_SECONDS[match["unit"]]


def _check_topic_pattern(pattern: str) -> str:
    if (
        not pattern
        or len(pattern.encode()) > 255
        or not all(_TOPIC_WORD.match(word) for word in pattern.split("."))
    ):
        raise ValueError(
            f"invalid topic pattern {pattern!r}: dot-separated words of [A-Za-z0-9_-], '*' (one word) or '#' (any words)"
        )
    return pattern


Duration = Annotated[float, BeforeValidator(parse_duration)]
TopicPattern = Annotated[str, pydantic.AfterValidator(_check_topic_pattern)]
_MODEL = ConfigDict(extra="forbid", frozen=True)


# -- the model ----------------------------------------------------------------------------


class BrokerSettings(BaseModel):
    """RabbitMQ topology and flow control.

    Attributes:
        prefix: every exchange and queue name the bridge declares starts with it.
        queue_type: ``quorum`` (default; delivery counts survive restarts) or ``classic``.
        prefetch: unacknowledged messages per consumer (basic.qos).
        batch_size: messages handled per batch; at most ``prefetch``.
        batch_wait_ms: how long a partial batch may wait for more messages.
        delivery_limit: ``x-delivery-limit`` on every work queue (poison-message cap).
        retry_tiers: delays of the delayed-retry queues, strictly increasing (seconds).
        in_process_attempts: tenacity attempts before a message goes to a delayed retry.
        mes_exchange: the exchange MES events are published to.
        feedback_exchange: the topic exchange the MES publishes its feedback to (canonical
            ``report`` and ``lot`` envelopes or its own work reports, routing key
            ``<entity>.<event>``); the bridge's durable queue ``<prefix>.feedback`` is bound to it.
        heartbeat_s: AMQP heartbeat (0 disables it).
        reconnect_max_wait_s: cap of the reconnect backoff.
        confirm_timeout_s: how long to wait for a publisher confirm.
        direct_delivery: when translate and deliver run in one process, hand events to the
            routes' sinks in-process instead of through the canonical exchange (an event whose
            direct delivery fails goes to its route's queue). Off: every event crosses the
            canonical exchange, e.g. for other consumers bound to it.
        ingest_deadline_s: how long ``bridge ingest`` (and every receiver) keeps trying to get
            one batch archived, confirmed by the broker and journaled while the broker restarts
            or the ledger is locked or down, before it fails naming what it waited for.
    """

    model_config = _MODEL

    prefix: str = Field("bridge", pattern=r"^[A-Za-z0-9_.-]+$")
    queue_type: Literal["quorum", "classic"] = "quorum"
    prefetch: int = Field(200, ge=1)
    batch_size: int = Field(100, ge=1, validate_default=True)
    batch_wait_ms: int = Field(20, ge=0)
    delivery_limit: int = Field(10, ge=1)
    retry_tiers: tuple[Duration, ...] = (5.0, 30.0, 300.0, 1800.0)
    in_process_attempts: int = Field(3, ge=1)
    mes_exchange: str = Field("mes.events", min_length=1)
    feedback_exchange: str = Field("mes.feedback", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    heartbeat_s: int = Field(30, ge=0)
    reconnect_max_wait_s: float = Field(30.0, gt=0)
    confirm_timeout_s: float = Field(30.0, gt=0)
    direct_delivery: bool = True
    ingest_deadline_s: Duration = Field(120.0, ge=0)

    @field_validator("batch_size")
    @classmethod
    def _batch_within_prefetch(cls, value: int, info: ValidationInfo) -> int:
        prefetch = info.data.get("prefetch")
        if prefetch is not None and value > prefetch:
            raise PydanticCustomError(
                "batch_over_prefetch",
                f"must not exceed broker.prefetch ({prefetch})",
                {"related": ("broker", "prefetch")},
            )
        return value

    @field_validator("feedback_exchange")
    @classmethod
    def _feedback_not_the_mes_exchange(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("mes_exchange"):
            raise PydanticCustomError(
                "feedback_is_mes_exchange",
                "must differ from broker.mes_exchange: the bridge would take back the events it sends the MES",
                {"related": ("broker", "mes_exchange")},
            )
        return value

    @field_validator("retry_tiers")
    @classmethod
    def _tiers_increase(cls, tiers: tuple[float, ...]) -> tuple[float, ...]:
        if not tiers or tiers[0] <= 0:
            raise ValueError("needs at least one retry delay, each longer than 0")
        for earlier, later in itertools.pairwise(tiers):
            if later <= earlier:
                raise ValueError(
                    f"retry delays must be strictly increasing ({later:g}s follows {earlier:g}s)"
                )
        return tiers


class LedgerSettings(BaseModel):
    """How the bridge uses its ledger database.

    Attributes:
        busy_timeout_s: how long a SQLite connection waits for another process's write lock
            before the call fails (then it is retried: in-process, through the retry queues,
            or within ``broker.ingest_deadline_s``). The bridge's write transactions are short,
            but a MES sink publishes inside its delivery's transaction: keep this at least
            ``broker.confirm_timeout_s``. PostgreSQL waits for row locks without a limit.
    """

    model_config = _MODEL

    busy_timeout_s: Duration = Field(30.0, gt=0)


class SourceSettings(BaseModel):
    """One source ERP system.

    Attributes:
        timezone: IANA zone of the system's local timestamps (e.g. ``Asia/Shanghai``). When
            set, it wins over the ``source.timezone`` of every mapping of this system (and the
            zone of reverse mappings to it); when not set, each mapping's own zone stands.

    Any other key belongs to the system's adapter, which validates it when the bridge starts
    (the SAP adapter takes ``encoding`` and ``definitions``, see ``adapters/sap/settings.py``).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class RouteSettings(BaseModel):
    """Where canonical events go.

    Attributes:
        name: unique identifier ([a-z0-9_-]+), also the ``target`` metric label.
        sink: ``mes`` (publish to the MES exchange) or ``file`` (write JSON lines to ``path``).
        events: AMQP topic patterns over event names, e.g. ``order.*``, ``#``, ``lot.status_changed``.
        path: output file of a ``file`` sink; not allowed for other sinks.
        enabled: a disabled route is kept in the file but receives nothing.
    """

    model_config = _MODEL

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    sink: Literal["mes", "file"]
    events: tuple[TopicPattern, ...] = Field(min_length=1)
    path: Path | None = Field(None, validate_default=True)
    enabled: bool = True

    @field_validator("path")
    @classmethod
    def _path_matches_sink(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        sink = info.data.get("sink")
        if sink == "file" and value is None:
            raise ValueError("a file sink needs a path")
        if sink is not None and sink != "file" and value is not None:
            raise ValueError(f"only file sinks take a path (sink is {sink!r})")
        return value


_DEFAULT_ROUTES = (RouteSettings(name="mes", sink="mes", events=("#",)),)


class Settings(BaseModel):
    """All bridge settings (immutable). Build with :func:`load_settings`.

    Attributes:
        amqp_url: RabbitMQ URL (secret: use ``BRIDGE_AMQP_URL_FILE`` in containers; shown with
            its password masked).
        database_url: SQLAlchemy URL of the ledger (idempotency and outbox); secret like amqp_url.
        http_port: port of /metrics, /healthz and /readyz; 0 disables the endpoint.
        http_host: interface the endpoint listens on.
        mappings_dir: folder of mapping files.
        log_level: DEBUG, INFO, WARNING, ERROR or CRITICAL.
        log_format: ``json`` (one object per line) or ``text``.
        broker: RabbitMQ topology and flow control.
        sources: source systems by name.
        routes: delivery routes; one ``mes`` route for every event when none are given.
        ledger: how the ledger database is used (SQLite busy timeout).
    """

    # ValidationError's own text would quote the input (passwords included); load_settings
    # builds its messages from the masked values instead
    model_config = _MODEL | ConfigDict(hide_input_in_errors=True)

    amqp_url: SecretUrl = SecretUrl(DEFAULT_AMQP_URL)
    database_url: SecretUrl = SecretUrl("sqlite:///bridge-ledger.sqlite")
    http_port: int = Field(8080, ge=0, le=65535)
    http_host: str = Field("0.0.0.0", min_length=1)
    mappings_dir: Path = Path("mappings")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    broker: BrokerSettings = BrokerSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    routes: tuple[RouteSettings, ...] = Field(_DEFAULT_ROUTES)
    ledger: LedgerSettings = LedgerSettings()

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, value: SecretUrl) -> SecretUrl:
        try:
            parts = urlsplit(value.reveal())
            _ = parts.port  # what pika reads; urllib's own messages may quote the password
        except ValueError:
            raise ValueError(_UNREADABLE_URL.format(reader="pika")) from None
        if "@" in parts.path:  # a raw "/" in the password: the rest of it became the vhost
            raise ValueError(_UNREADABLE_URL.format(reader="pika"))
        if parts.scheme not in ("amqp", "amqps"):
            raise ValueError(f"must be an amqp:// or amqps:// URL{_scheme_note(value)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretUrl) -> SecretUrl:
        if not re.match(r"^[a-z][a-z0-9+]*://", value.reveal()):
            raise ValueError(
                f"must be a SQLAlchemy URL such as sqlite:///bridge-ledger.sqlite{_scheme_note(value)}"
            )
        from sqlalchemy.engine import make_url  # only when a URL is given: a heavy import
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(value.reveal())
        except (ArgumentError, ValueError):  # its message quotes the whole URL
            raise ValueError(_UNREADABLE_URL.format(reader="SQLAlchemy")) from None
        if "@" in (parsed.host or ""):  # a raw "@" in the password: the rest of it became the host
            raise ValueError(_UNREADABLE_URL.format(reader="SQLAlchemy"))
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_name(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().upper() in _LOG_LEVELS:
            return value.strip().upper()
        raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name in sources:
            if not re.match(r"^[a-z0-9_-]+$", name):
                raise PydanticCustomError(
                    "source_name", "system names are [a-z0-9_-]+", {"loc": ("sources", name), "value": name}
                )
        return sources

    @field_validator("broker", "sources", "ledger", mode="before")
    @classmethod
    def _empty_section(cls, value: object) -> object:
        return {} if value is None else value  # "broker:" with everything commented out

    @field_validator("routes", mode="before")
    @classmethod
    def _default_routes(cls, value: object) -> object:
        if value is None:
            return _DEFAULT_ROUTES
        if isinstance(value, list | tuple) and not value:
            raise ValueError("needs at least one route (leave routes out for the default 'mes' route)")
        return value

    @field_validator("routes")
    @classmethod
    def _unique_route_names(cls, routes: tuple[RouteSettings, ...]) -> tuple[RouteSettings, ...]:
        seen: dict[str, int] = {}
        for index, route in enumerate(routes):
            if route.name in seen:
                raise PydanticCustomError(
                    "duplicate_route",
                    f"route name {route.name!r} is already used by routes[{seen[route.name]}]",
                    {"loc": ("routes", index, "name"), "value": route.name},
                )
            seen[route.name] = index
        return routes

    def redacted(self) -> dict[str, Any]:
        """The settings as plain JSON-ready data with passwords replaced by ``***``."""
        return redact_data(self.model_dump(mode="json"))

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, redact(value) if isinstance(value, str) and not isinstance(value, Secret) else value


# no "@" in this text: the redaction pass would take it for the end of a URL's password
_UNREADABLE_URL = (
    "is not a URL {reader} can read: check the port, and write the user and password percent-encoded"
    " (%2F for a slash, %40 for an at sign, %3A for a colon, %5B %5D for brackets)"
)


def _scheme_note(url: SecretUrl) -> str:
    """`` (scheme is 'X')`` for a URL; nothing for a value that is not one (it may be all secret)."""
    scheme, sep, _ = url.reveal().partition("://")
    return f" (scheme is {scheme!r})" if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,30}", scheme) else ""


# -- loading ------------------------------------------------------------------------------


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file (``path``, else ``$BRIDGE_CONFIG``, else none), apply env overrides.

    Raises:
        ConfigError: the file is unreadable or invalid, or a setting is wrong; the message
            names the setting, its value and where it came from.
    """
    env = os.environ if env is None else env
    if path is None and env.get("BRIDGE_CONFIG"):
        path = env["BRIDGE_CONFIG"]
    file_data: Any = {}
    if path is not None:
        file_data = _read_file(Path(path))
    data = _plain(file_data)
    origins: dict[tuple[Any, ...], str] = {}
    for var, loc in ENV_OVERRIDES.items():
        found = _env_value(env, var)
        if found is not None:
            value, origin = found
            if _assign(data, loc, value):
                origins[loc] = origin
    try:
        settings = Settings.model_validate(data)
    except pydantic.ValidationError as exc:
        _raise_invalid([_describe(error, file_data, origins, path) for error in exc.errors()])
    problems: list[str] = []
    for system, source in settings.sources.items():
        try:
            adapter_source_settings(system, source)
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                located = {**error, "loc": ("sources", system, *error["loc"])}
                problems.append(_describe(located, file_data, origins, path))
    if problems:
        _raise_invalid(problems)
    return settings


def _raise_invalid(problems: list[str]) -> NoReturn:
    head = "invalid configuration: " if len(problems) == 1 else "invalid configuration:\n  "
    raise ConfigError(head + "\n  ".join(problems)) from None


def adapter_source_settings(system: str, source: SourceSettings) -> Any:
    """The system's adapter's own model of the keys in ``sources.<system>`` beyond
    ``timezone`` (``None`` when there are none).

    Raises:
        pydantic.ValidationError: the adapter refuses a key or a value.
        ConfigError: keys for a system without an adapter, or an adapter that takes none.
    """
    extra = dict(source.model_extra or {})
    if not extra:
        return None
    from bridge.adapter import adapter_for

    where = f"sources.{system}"
    try:
        adapter = adapter_for(system)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {', '.join(sorted(extra))}: {exc}") from None
    if adapter.source_settings is None:
        raise ConfigError(f"{where}: adapter {system} takes no setting but timezone (got: {', '.join(sorted(extra))})")
    return adapter.source_settings.model_validate(extra)


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


def _describe(
    error: Any, file_data: Any, origins: Mapping[tuple[Any, ...], str], path: str | Path | None
) -> str:
    ctx = error.get("ctx") or {}
    loc = tuple(ctx.get("loc", error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting" + _suggestion(loc)
    where = _origin(loc, file_data, origins, path)
    value = ctx.get("value", error.get("input"))
    if error["type"] == "missing" or (value is None and where == "default"):
        # Nothing was given: point at the block that lacks it.
        block = _origin(loc[:-1], file_data, origins, path) if len(loc) > 1 else "default"
        reason = "required" if error["type"] == "missing" else message
        text = f"{_dotted(loc)} is not set ({block}): {reason}"
    else:
        text = f"{_dotted(loc)} = {_shown(loc, value)} ({where}): {message}"
    related = ctx.get("related")
    if related:
        text += f" [{_dotted(related)}: {_origin(tuple(related), file_data, origins, path)}]"
    return redact(text)  # the second line: patterns over the whole message


def _origin(
    loc: tuple[Any, ...], file_data: Any, origins: Mapping[tuple[Any, ...], str], path: str | Path | None
) -> str:
    for size in range(len(loc), 0, -1):
        if loc[:size] in origins:
            return origins[loc[:size]]
    node, line = file_data, None
    for step in loc:
        if isinstance(node, dict) and step in node:
            line = getattr(node, "key_lines", {}).get(step, line)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            line = getattr(node, "line", line)
        else:
            return "default"
    return f"in {path}:{line}" if line else f"in {path}"


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text


def _shown(loc: tuple[Any, ...], value: Any) -> str:
    """The value as an error shows it: secrets masked before any text is made of it, then cut."""
    return _short(repr(redact_data(_masked(loc, value))))


def _masked(loc: tuple[Any, ...], value: Any) -> Any:
    """``value`` (the input at ``loc``) with every secret setting in it masked, by type and by name."""
    if loc and isinstance(loc[-1], str) and is_secret_key(loc[-1]) and value is not None:
        return MASK
    annotation = _annotation_at(loc)
    if isinstance(annotation, type) and issubclass(annotation, Secret):
        return annotation.mask(value) if isinstance(value, str) else MASK
    if isinstance(value, Mapping):
        return {key: _masked((*loc, key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked((*loc, index), item) for index, item in enumerate(value)]
    return value


def _short(text: str) -> str:
    """``text`` cut to 80 characters (always after redaction: a cut secret no longer matches a pattern)."""
    return text if len(text) <= 80 else text[:77] + "..."


def _suggestion(loc: tuple[Any, ...]) -> str:
    """' (did you mean ...?)' from the fields of the model that holds the unknown key."""
    model = _annotation_at(loc[:-1])
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _annotation_at(loc: tuple[Any, ...]) -> Any:
    """The type of the setting at ``loc``, following models, tuples and dicts (None if lost)."""
    annotation: Any = Settings
    for step in loc:
        annotation = _without_none(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(step) if isinstance(step, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif origin in (dict, tuple, list):
            annotation = typing.get_args(annotation)[-1 if origin is dict else 0]
        else:
            return None
    return _without_none(annotation)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
