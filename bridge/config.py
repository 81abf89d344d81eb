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

import itertools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bridge.config_adapters import adapter_problems, adapter_route_settings, adapter_source_settings
from bridge.config_env import interpolate
from bridge.config_errors import describe as _describe
from bridge.config_errors import origin as _origin
from bridge.config_sources import assign as _assign
from bridge.config_sources import env_value as _env_value
from bridge.config_sources import plain as _plain
from bridge.config_sources import read_file as _read_file
from bridge.config_values import Duration, TopicPattern, check_amqp_url, check_database_url, parse_duration
from bridge.errors import ConfigError
from bridge.reconcile.jobs import ReconcileSettings
from bridge.redaction import Secret, SecretUrl, redact, redact_data

__all__ = [
    "DEFAULT_AMQP_URL",
    "ENV_OVERRIDES",
    "BrokerSettings",
    "LedgerSettings",
    "RouteSettings",
    "Settings",
    "SourceSettings",
    "adapter_route_settings",
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
    "BRIDGE_MAPPINGS_RELOAD_S": ("mappings_reload_s",),
    "BRIDGE_LOG_LEVEL": ("log_level",),
    "BRIDGE_LOG_FORMAT": ("log_format",),
    "BRIDGE_BROKER_PREFIX": ("broker", "prefix"),
    "BRIDGE_QUEUE_TYPE": ("broker", "queue_type"),
    "BRIDGE_PREFETCH": ("broker", "prefetch"),
    "BRIDGE_DIRECT_DELIVERY": ("broker", "direct_delivery"),
    "BRIDGE_INGEST_DEADLINE": ("broker", "ingest_deadline_s"),
    "BRIDGE_LEDGER_BUSY_TIMEOUT": ("ledger", "busy_timeout_s"),
}

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

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
        sink: the adapter that delivers: ``mes`` (publish to the MES exchange), ``file`` (write
            JSON lines to ``path``), ``sap`` (post to SAP), or any installed adapter with a sink.
        events: AMQP topic patterns over event names, e.g. ``order.*``, ``#``, ``lot.status_changed``.
        sites: deliver only events of these plants (canonical ``site``; a report's site is its
            order's, from the ledger): how a plant's feedback reaches its own ERP. Empty: all.
        enabled: a disabled route is kept in the file but receives nothing.
        processes: an ERP route's events delivered by this many processes, each order always
            by the same one (so its reports stay in sequence): a core each, for a shift end's
            reports against a slow ERP; the sink's ``in_flight`` applies per process.

    Any other key belongs to the sink's adapter, which validates it (a file route's ``path``, a
    SAP route's ``url`` and services); see :attr:`options`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    sink: str = Field(pattern=r"^[a-z0-9_-]+$")
    events: tuple[TopicPattern, ...] = Field(min_length=1)
    sites: tuple[str, ...] = ()
    enabled: bool = True
    processes: int = Field(1, ge=1, le=32)

    @property
    def options(self) -> dict[str, Any]:
        """The adapter's keys of this route, as given."""
        return dict(self.model_extra or {})

    @property
    def path(self) -> Path | None:
        """A file route's output path (kept for callers of the former field)."""
        value = self.options.get("path")
        return Path(value) if value is not None else None


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
        mappings_reload_s: how often ``bridge run`` looks for changed mappings and lookups
            and swaps a valid new set in (:mod:`bridge.mapping.reload`); 0 turns it off.
        log_level: DEBUG, INFO, WARNING, ERROR or CRITICAL.
        log_format: ``json`` (one object per line) or ``text``.
        broker: RabbitMQ topology and flow control.
        sources: source systems by name.
        routes: delivery routes; one ``mes`` route for every event when none are given.
        ledger: how the ledger database is used (SQLite busy timeout).
        reconcile: reconciliation jobs (:mod:`bridge.reconcile.jobs`).
    """

    # ValidationError's own text would quote the input (passwords included); load_settings
    # builds its messages from the masked values instead
    model_config = _MODEL | ConfigDict(hide_input_in_errors=True)

    amqp_url: SecretUrl = SecretUrl(DEFAULT_AMQP_URL)
    database_url: SecretUrl = SecretUrl("sqlite:///bridge-ledger.sqlite")
    http_port: int = Field(8080, ge=0, le=65535)
    http_host: str = Field("0.0.0.0", min_length=1)
    mappings_dir: Path = Path("mappings")
    mappings_reload_s: float = Field(5.0, ge=0, allow_inf_nan=False)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    broker: BrokerSettings = BrokerSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    routes: tuple[RouteSettings, ...] = Field(_DEFAULT_ROUTES)
    ledger: LedgerSettings = LedgerSettings()
    reconcile: ReconcileSettings = ReconcileSettings()

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, value: SecretUrl) -> SecretUrl:
        return check_amqp_url(value)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretUrl) -> SecretUrl:
        return check_database_url(value)

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

    @field_validator("broker", "sources", "ledger", "reconcile", mode="before")
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

    @model_validator(mode="after")
    def _job_routes(self) -> Settings:
        routes = {route.name for route in self.routes}
        for name, job in self.reconcile.jobs.items():
            for end in ("source", "target"):
                route = getattr(job, end).erp
                if route is not None and route not in routes:
                    raise PydanticCustomError(
                        "job_route", f"names route {route!r}, which is not configured (routes: {', '.join(sorted(routes))})",
                        {"loc": ("reconcile", "jobs", name, end, "erp"), "value": route},
                    )
        return self

    def redacted(self) -> dict[str, Any]:
        """The settings as plain JSON-ready data with passwords replaced by ``***``."""
        return redact_data(self.model_dump(mode="json"))

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, redact(value) if isinstance(value, str) and not isinstance(value, Secret) else value


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
    data = interpolate(_plain(file_data), env)
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
    problems = adapter_problems(
        settings,
        describe=lambda error: _describe(error, file_data, origins, path),
        origin=lambda loc: _origin(loc, file_data, origins, path),
    )
    if problems:
        _raise_invalid(problems)
    return settings


def _raise_invalid(problems: list[str]) -> NoReturn:
    head = "invalid configuration: " if len(problems) == 1 else "invalid configuration:\n  "
    raise ConfigError(head + "\n  ".join(problems)) from None
