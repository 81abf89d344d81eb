"""Running one reconciliation job: its two sides read as records of its view, compared by the
engine, every discrepancy recorded in the ledger, and a report of the run.

:func:`run_job` is what ``bridge reconcile run`` and the scheduler in ``bridge run`` call. The
ERP side is read through the adapter of the route the job names (its query role and views);
the ledger and MES sides through :mod:`~bridge.reconcile.ledger_sides` and
:mod:`~bridge.reconcile.mes_sides`. The window is the plant's local dates: ``since`` is today
minus the job's window, ``until`` today.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bridge.canonical.types import normalise_decimal
from bridge.errors import BridgeError, ConfigError
from bridge.ledger.discrepancies import Found, RunResult, StoredDiscrepancy
from bridge.reconcile.compare import Discrepancy, Summary
from bridge.reconcile.engine import Side, reconcile
from bridge.reconcile.jobs import Job, SideSpec
from bridge.reconcile.records import Record
from bridge.reconcile.rules import FieldRule, Rules, StaleRule, Tolerance
from bridge.reconcile.units import Conversion, UnitConverter
from bridge.reconcile.views import ViewRequest, project

__all__ = ["JobRun", "rules_of", "run_job"]

log = logging.getLogger(__name__)

#: ``progress(side name, records read so far)``
Progress = Callable[[str, int], None]
_EVERY = 1000


@dataclass
class JobRun:
    """What one run of a job did."""

    job: str
    spec: Job
    started_at: datetime
    since: date
    until: date
    summary: Summary = field(default_factory=Summary)
    result: RunResult = field(default_factory=RunResult)
    finished_at: datetime | None = None
    open: list[StoredDiscrepancy] = field(default_factory=list)
    resolved: list[StoredDiscrepancy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: int = 0


def rules_of(job: Job, lookups: Mapping[str, Mapping[str, Any]] | None = None) -> Rules:
    """The engine's rules for ``job``: key, values with their tolerances, unit conversions, stale.

    ``lookups``: the mappings' lookups by name, for the job's ``unit_lookups``.
    """
    fields = {}
    for name, spec in job.value_specs().items():
        tolerances = {unit: Tolerance(t.absolute, t.relative) for unit, t in spec.tolerances.items()}
        if spec.tolerance is not None:
            tolerances["*"] = Tolerance(spec.tolerance.absolute, spec.tolerance.relative)
        fields[name] = FieldRule(tolerances, spec.absent_as_zero)
    common = [Conversion(u.unit, u.factor, u.into, u.per) for u in job.units if u.material is None]
    for name in job.unit_lookups:
        table = (lookups or {}).get(name)
        if table is None:
            raise ConfigError(f"unit_lookups: no lookup {name!r} in the mappings (lookups: {', '.join(sorted(lookups or {})) or 'none'})")
        common += [Conversion(str(key), Decimal(1), str(value)) for key, value in table.items() if str(key) != str(value)]
    per_material: dict[str, list[Conversion]] = {}
    for u in job.units:
        if u.material is not None:
            per_material.setdefault(u.material, []).append(Conversion(u.unit, u.factor, u.into, u.per))
    stale = StaleRule(job.stale.max_lag) if job.stale is not None else None
    return Rules(job.key_fields(), fields, UnitConverter(common, per_material), stale)


class _Counted:
    """Records of one side passed on, counted for the progress line."""

    def __init__(self, name: str, records: Iterable[Record], progress: Progress | None) -> None:
        self.name, self.records, self.progress, self.count = name, records, progress, 0

    def __iter__(self) -> Iterator[Record]:
        for record in self.records:
            self.count += 1
            if self.progress is not None and self.count % _EVERY == 0:
                self.progress(self.name, self.count)
            yield record
        if self.progress is not None:
            self.progress(self.name, self.count)


class _Sides:
    """Builds a job's sides from the bridge's settings; closes what it opened."""

    def __init__(self, settings: Any, ledger: Any, env: Mapping[str, str] | None, work_dir: Any) -> None:
        self.settings, self.ledger, self.env, self.work_dir = settings, ledger, env, work_dir
        self.closers: list[Callable[[], None]] = []
        self.notes: list[str] = []

    def records(self, spec: SideSpec, job: Job, request: ViewRequest, zone: ZoneInfo) -> Iterable[Record]:
        if spec.erp is not None:
            return self._erp(spec.erp, job, request)
        if spec.ledger == "delivered":
            from bridge.reconcile.ledger_sides import delivered_orders

            return delivered_orders(self.ledger)
        if spec.ledger == "received":
            return self._received(job, request, zone)
        from bridge.reconcile.mes_sides import layout_for, mes_records

        assert spec.mes is not None
        layout = layout_for(job.view, job.key_fields(), spec.mes.layout)
        return mes_records(spec.mes, layout, since=request.since, until=request.until, env=self.env,
                           directory=self.work_dir)

    def _erp(self, route_name: str, job: Job, request: ViewRequest) -> Iterable[Record]:
        from bridge.adapter.query import QueryContext
        from bridge.adapter.registry import adapter_for
        from bridge.config import adapter_route_settings

        route = next((r for r in self.settings.routes if r.name == route_name), None)
        if route is None:
            names = ", ".join(r.name for r in self.settings.routes)
            raise ConfigError(f"side erp: {route_name!r} is not a route (routes: {names})")
        adapter = adapter_for(route.sink)
        reader = adapter.views.get(job.view)
        if adapter.query is None or reader is None:
            raise ConfigError(f"side erp: route {route_name} delivers to {route.sink}, whose adapter cannot be "
                              f"read as the {job.view} view")
        query = adapter.query(QueryContext(route_name, adapter_route_settings(route), self.env))
        self.closers.append(query.close)
        return reader(query, request)

    def _received(self, job: Job, request: ViewRequest, zone: ZoneInfo) -> Iterable[Record]:
        from bridge.reconcile.ledger_sides import ReceivedReports
        from bridge.source_options import codec_options
        from bridge.translate import Translator

        translator = Translator.create(mappings_dir=self.settings.mappings_dir, source_system="mes",
                                       codec_options=codec_options(self.settings).get("mes", {}))
        reports = ReceivedReports(self.ledger, translator, since=request.since, timezone=zone, directory=self.work_dir)

        def read() -> Iterator[Record]:
            yield from reports.records(job.view)
            if reports.unreadable:
                self.notes.append(f"{reports.unreadable} of {reports.documents} archived MES document(s) do not "
                                  "translate (dead letters) and were left out")

        return read()

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception as exc:  # closing must not hide the run's outcome
                log.warning("could not close a side: %s", exc)


def _found(job: Job, d: Discrepancy) -> Found:
    names = job.key_fields()
    source, target = d.source_value, d.target_value
    return Found(
        kind=d.kind.value, key=dict(zip(names, d.key, strict=True)), field=d.field,
        source_value=_text(source.value) if source else None, target_value=_text(target.value) if target else None,
        delta=_text(d.delta) if d.delta is not None else None, unit=d.unit, refs=tuple(d.refs),
        source_unit=source.unit if source else None, target_unit=target.unit if target else None,
        detail=d.detail or None,
    )


def _text(value: Decimal) -> str:
    return str(normalise_decimal(value))


def _review(run: JobRun, settings: Any, ledger: Any, *, repair: bool, store: Callable[[], Any] | None, by: str,
            zone: ZoneInfo) -> None:
    """What the bridge does about the run's open discrepancies, recorded with each of them."""
    from bridge.reconcile.repair import Repairer

    if repair and store is None:
        from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

        def store() -> Any:
            return RabbitDeadLetterStore(settings.amqp_url, name=f"erp-mes-bridge reconcile {run.job}")

    repairer = Repairer(settings, ledger, run.job, run.spec, since=run.since, zone=zone,
                        store=store if repair else None, by=by)
    try:
        review = repairer.review(run.open)
    except BridgeError as exc:  # the run's findings stand; what could not be done is said
        run.notes.append(f"{'repair' if repair else 'review'} stopped: {exc}")
        log.warning("reconcile %s: %s stopped: %s", run.job, "repair" if repair else "review", exc)
        return
    ledger.discrepancies.set_actions(review.actions)
    run.repaired = review.repaired
    run.notes += review.notes
    run.open = [dataclasses.replace(d, action=review.actions.get(d.id, d.action)) for d in run.open]


def run_job(
    name: str,
    settings: Any,
    ledger: Any,
    *,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    at: datetime | None = None,
    repair: bool = False,
    store: Callable[[], Any] | None = None,
    by: str = "reconcile run",
) -> JobRun:
    """Run the job ``name`` of ``settings.reconcile`` against ``ledger`` and record what it found.

    Every open discrepancy gets what the bridge did or would do about it
    (:mod:`bridge.reconcile.repair`); ``repair`` (or the job's ``repair: true``) re-drives what
    can be, through ``store`` (a dead-letter store factory; default RabbitMQ at the settings'
    broker), opened only when something is to be sent. ``by`` names who runs it (audit).

    Raises:
        ConfigError: no such job, a side that cannot be read as the view, or records that do
            not fit the job (naming the side and record).
        TransientError: a side cannot be read now (nothing is recorded for the run).
    """
    jobs = settings.reconcile.jobs
    if name not in jobs:
        raise ConfigError(f"no reconciliation job {name!r} (jobs: {', '.join(jobs) or 'none configured'})")
    job: Job = jobs[name]
    zone = ZoneInfo(settings.reconcile.timezone)
    started = at or datetime.now(UTC)
    until = today or started.astimezone(zone).date()
    since = min(until, (started.astimezone(zone) - job.window).date()) if today is None else until - job.window
    run = JobRun(name, job, started, since, until)
    request = ViewRequest(since=since, until=until)
    lookups = {}
    if job.unit_lookups:
        from bridge.source_options import load_catalog

        lookups = {name: lookup.values for name, lookup in load_catalog(settings).lookups.items()}
    rules = rules_of(job, lookups)
    sides = _Sides(settings, ledger, env, settings.reconcile.work_dir)
    try:
        counted = []
        for spec, other in ((job.source, job.target), (job.target, job.source)):
            asked = request
            if spec.orders == "other_side":
                orders = {record.key[0] for record in sides.records(other, job, request, zone)}
                asked = ViewRequest(keys=frozenset(orders), since=since, until=until)
                if not orders:
                    counted.append(_Counted(spec.label, (), progress))
                    continue
            records = project(sides.records(spec, job, asked, zone), job.view, job.key_fields())
            counted.append(_Counted(spec.label, records, progress))
        source = Side(job.source.label, counted[0], duplicates=job.source.duplicates)
        target = Side(job.target.label, counted[1], duplicates=job.target.duplicates)
        with reconcile(source, target, rules, directory=settings.reconcile.work_dir) as comparison:
            run.summary = comparison.summary
            run.result = ledger.discrepancies.record_run(name, (_found(job, d) for d in comparison), at=started)
    finally:
        sides.close()
    run.notes += sides.notes
    run.open = ledger.discrepancies.list(job=name, status="open", seen_at=started, limit=1_000_000)
    if run.open:
        _review(run, settings, ledger, repair=repair or job.repair, store=store, by=by, zone=zone)
    run.resolved = ledger.discrepancies.list(job=name, status="resolved", resolved_at=started, limit=1_000_000)
    run.finished_at = datetime.now(UTC)
    return run
