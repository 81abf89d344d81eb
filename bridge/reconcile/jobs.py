"""Reconciliation jobs as the configuration declares them (``reconcile.jobs`` in the bridge's
YAML), validated by pydantic; their JSON Schema is published as ``reconcile-job.schema.json``
next to this module (``bridge reconcile schema`` prints it).

>>> job = Job.model_validate({"view": "quantities", "source": {"mes": {"snapshot": "mes.csv"}},
...                           "target": {"erp": "sap"}, "values": {"yield": {"tolerance": {"absolute": "0.001"}}}})
>>> job.key_fields(), job.source.kind, job.target.kind
(('order_id', 'operation_id'), 'mes', 'erp')

A job names two sides and the view both are read as (:mod:`bridge.reconcile.views`):

* ``erp: <route>``: the ERP a route delivers to, read through its adapter's query role;
* ``ledger: delivered``: the orders the bridge delivered to the MES (with their quantities);
  ``ledger: received``: the MES reports the bridge received (its raw archive, translated again);
* ``mes: {snapshot: FILE}``: an export of the MES (CSV or JSON lines), or ``mes: {url: URL}``: a
  query endpoint of the MES answering JSON lines (``token_env``: its bearer token's variable).

Numbers (tolerances, unit factors) are exact: text or integers; a YAML float is read as it is
written (``0.001``), never through binary arithmetic.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bridge.reconcile.views import VIEW_KEYS, VIEW_VALUES

__all__ = ["SCHEMA_FILE", "Job", "ReconcileSettings", "SideSpec", "job_schema"]

SCHEMA_FILE = "reconcile-job.schema.json"
_MODEL = ConfigDict(extra="forbid", frozen=True)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_JOB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _exact(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value} is a boolean, not a number")
    if isinstance(value, float):
        value = repr(value)  # as written in the YAML: 0.001, never 0.001000000000000000020816...
    if isinstance(value, int | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return number
    return value


ExactNumber = Annotated[Decimal, BeforeValidator(_exact), Field(json_schema_extra={"type": ["string", "number"]})]


def _duration(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 12h, 30d or 2w")
        return timedelta(seconds=int(found[1]) * _UNITS[found[2]])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration),
                     PlainSerializer(lambda d: f"{int(d.total_seconds())}s", return_type=str, when_used="json"),
                     Field(json_schema_extra={"type": ["string", "integer"], "pattern": _DURATION.pattern})]


class ToleranceSpec(BaseModel):
    """How far two values in one unit may differ: ``absolute`` (in that unit) and/or
    ``relative`` (a fraction of the larger: ``0.0001`` is 0.01 %)."""

    model_config = _MODEL
    absolute: ExactNumber | None = Field(None, ge=0)
    relative: ExactNumber | None = Field(None, ge=0)


class ValueSpec(BaseModel):
    """How one value is compared: ``tolerance`` for every unit, or ``tolerances`` per unit
    (``"*"``: any other); ``absent_as_zero``: a value one side leaves out counts as zero."""

    model_config = _MODEL
    tolerance: ToleranceSpec | None = None
    tolerances: dict[str, ToleranceSpec] = Field(default_factory=dict)
    absent_as_zero: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> ValueSpec:
        if self.tolerance is not None and self.tolerances:
            raise ValueError("give tolerance (every unit) or tolerances (per unit), not both")
        return self


class UnitSpec(BaseModel):
    """``per unit = factor into`` (``{unit: BOX, factor: 12, into: PCS}``), for one ``material``
    or, without it, for every material."""

    model_config = _MODEL
    unit: str = Field(min_length=1)
    factor: ExactNumber = Field(gt=0)
    into: str = Field(min_length=1)
    per: ExactNumber = Field(Decimal(1), gt=0)
    material: str | None = Field(None, min_length=1)


class MesSpec(BaseModel):
    """The MES side: a ``snapshot`` file or a query ``url`` answering JSON lines, read with a
    ``layout`` (default: columns named as the view's fields: ``order_id``, ``yield``,
    ``yield_unit``, ``material_id``, ``ref``)."""

    model_config = _MODEL
    snapshot: Path | None = None
    url: str | None = Field(None, pattern=r"^https?://")
    format: Literal["csv", "jsonl"] | None = None
    layout: dict[str, Any] | None = None
    token_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    timeout_s: float = Field(60, gt=0)
    max_bytes: int = Field(1 << 30, gt=0)

    @model_validator(mode="after")
    def _one_place(self) -> MesSpec:
        if (self.snapshot is None) == (self.url is None):
            raise ValueError("give the MES side's snapshot (a file) or url (a query endpoint), one of them")
        if self.url is None and (self.token_env or self.ca_bundle or self.client_cert):
            raise ValueError("token_env, ca_bundle and client_cert belong to a url")
        return self


class SideSpec(BaseModel):
    """One side of a job: exactly one of ``erp`` (a route's name), ``ledger`` (``delivered`` or
    ``received``) and ``mes``; ``duplicates``: several records of one key are summed or refused;
    ``orders`` (an ERP side): read the ERP's documents of the job's ``window``, or of the orders
    the ``other_side`` holds (for ERPs whose APIs list by order only, as SAP's read BAPIs: an
    order only the ERP has is then not seen)."""

    model_config = _MODEL
    erp: str | None = Field(None, min_length=1)
    ledger: Literal["delivered", "received"] | None = None
    mes: MesSpec | None = None
    duplicates: Literal["sum", "error"] = "sum"
    orders: Literal["window", "other_side"] = "window"

    @model_validator(mode="after")
    def _exactly_one(self) -> SideSpec:
        given = [name for name in ("erp", "ledger", "mes") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a side is one of erp, ledger or mes, got {', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ("erp", "ledger", "mes") if getattr(self, name) is not None)

    @property
    def label(self) -> str:
        """How reports name the side: ``erp (sap)``, ``ledger (delivered)``, ``mes``."""
        if self.erp is not None:
            return f"erp ({self.erp})"
        if self.ledger is not None:
            return f"ledger ({self.ledger})"
        return "mes"


class StaleSpec(BaseModel):
    """``max_lag``: how long the target may lag behind the source's last change."""

    model_config = _MODEL
    max_lag: Duration = timedelta(0)


class Job(BaseModel):
    """One reconciliation job (see the module's text).

    ``units`` are conversions; ``unit_lookups`` name lookups of the mappings (``sap_units``:
    ``ST: C62``) whose every entry is an alias, 1 key unit = 1 value unit, so that an ERP's
    own unit codes meet the MES's.
    """

    model_config = _MODEL
    description: str = ""
    view: Literal["orders", "quantities", "consumption", "genealogy"]
    key: tuple[str, ...] | None = None
    source: SideSpec
    target: SideSpec
    values: dict[str, ValueSpec] | None = None
    units: tuple[UnitSpec, ...] = ()
    unit_lookups: tuple[str, ...] = ()
    window: Duration = timedelta(days=30)
    schedule: str | None = Field(None, min_length=1)
    stale: StaleSpec | None = None
    repair: bool = False

    @field_validator("key")
    @classmethod
    def _key_not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("names at least one key field (leave it out for the view's key)")
        return value

    @model_validator(mode="after")
    def _fits_view(self) -> Job:
        keys = VIEW_KEYS[self.view]
        for name in self.key or ():
            if name not in keys:
                raise ValueError(f"key field {name!r} is not in view {self.view} (its key: {', '.join(keys)})")
        if self.key is not None and len(set(self.key)) != len(self.key):
            raise ValueError(f"key names a field twice: {', '.join(self.key)}")
        values = VIEW_VALUES[self.view]
        for name in self.values or {}:
            if name not in values:
                shown = ", ".join(values) if values else "none: it compares presence"
                raise ValueError(f"value {name!r} is not in view {self.view} (its values: {shown})")
        if self.source.orders == "other_side" and self.target.orders == "other_side":
            raise ValueError("only one side can read the orders of the other side")
        for side in (self.source, self.target):
            if side.orders == "other_side" and side.erp is None:
                raise ValueError("orders: other_side belongs to an erp side")
        if self.source.kind == self.target.kind and self.source.label == self.target.label:
            raise ValueError(f"source and target are the same side ({self.source.label})")
        for side in (self.source, self.target):
            if side.ledger == "delivered" and self.view != "orders":
                raise ValueError("ledger: delivered holds orders: it serves the orders view")
            if side.ledger == "received" and self.view == "orders":
                raise ValueError("ledger: received holds MES reports: it serves quantities, consumption and genealogy")
        if self.window <= timedelta(0):
            raise ValueError("window must be a positive duration")
        if self.schedule is not None:
            from bridge.errors import ConfigError
            from bridge.reconcile.cron import Cron

            try:
                Cron.parse(self.schedule)
            except ConfigError as exc:
                raise ValueError(f"schedule {self.schedule!r}: {exc}") from None
        return self

    def key_fields(self) -> tuple[str, ...]:
        return self.key or VIEW_KEYS[self.view]

    def value_specs(self) -> dict[str, ValueSpec]:
        return dict(self.values) if self.values is not None else {name: ValueSpec() for name in VIEW_VALUES[self.view]}


class ReconcileSettings(BaseModel):
    """``reconcile:`` in the configuration: the jobs, the plant's ``timezone`` (windows and
    schedules are in local time) and ``work_dir`` for the temporary files of external sorts."""

    model_config = _MODEL
    timezone: str = "UTC"
    work_dir: Path | None = None
    jobs: dict[str, Job] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name (like Asia/Shanghai)") from None
        return value

    @field_validator("jobs")
    @classmethod
    def _names(cls, jobs: dict[str, Job]) -> dict[str, Job]:
        for name in jobs:
            if not _JOB_NAME.match(name):
                raise ValueError(f"job name {name!r}: lower-case letters, digits, - and _ (up to 64)")
        return jobs


def generated_schema() -> dict[str, Any]:
    """The JSON Schema of ``reconcile:`` generated from the models (the published file's source)."""
    schema = ReconcileSettings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://erp-mes-bridge.dev/schemas/reconcile-job.schema.json"
    return schema


def job_schema() -> dict[str, Any]:
    """The published JSON Schema of the ``reconcile:`` section."""
    text = resources.files("bridge.reconcile").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
