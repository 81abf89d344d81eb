"""``bridge reconcile run|list|resolve|schema``: run a job (summary table, ``--json`` and
``--html`` reports), the discrepancies reconciliation found (:mod:`bridge.ledger.discrepancies`),
closing one by hand with an audit record, and the jobs' JSON Schema."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from bridge.cli_kit import config_option, load_settings_logged, reported
from bridge.errors import ConfigError

__all__ = ["reconcile"]

KINDS = ("missing_in_target", "missing_in_source", "quantity_mismatch", "unit_mismatch", "stale")


def _ledger(config_path: Path | None) -> Any:
    from bridge.ledger import Ledger

    settings = load_settings_logged(config_path)
    return Ledger.connect(settings.database_url, busy_timeout=settings.ledger.busy_timeout_s)


def _as_json(d: Any) -> dict[str, Any]:
    from bridge.reconcile.report import discrepancy_json

    return discrepancy_json(d)


@click.group()
def reconcile() -> None:
    """Reconciliation (对账): the discrepancies found between ERP and MES."""


@reconcile.command("run")
@click.argument("job")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per discrepancy on stdout (the summary on stderr).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the HTML report (per order, both sides, the delta) to this file.")
@click.option("--repair", is_flag=True,
              help="Re-drive what the bridge can fix itself (reports and orders not delivered) through the "
                   "normal idempotent path; the rest stays open with the reason.")
@click.option("--by", default=None, help="Who runs it (default: the login name); recorded with each repair.")
def reconcile_run(job: str, config_path: Path | None, as_json: bool, html_path: Path | None, repair: bool,
                  by: str | None) -> None:
    """Run reconciliation job JOB once: compare its sides, record every discrepancy and what the
    bridge did about it."""
    from bridge.ledger import Ledger
    from bridge.observability.metrics import Metrics
    from bridge.reconcile.report import run_report
    from bridge.reconcile.runner import run_job

    with reported():
        settings = load_settings_logged(config_path)
        if job not in settings.reconcile.jobs:
            jobs = ", ".join(settings.reconcile.jobs) or "none configured"
            raise ConfigError(f"no reconciliation job {job!r} (jobs: {jobs})")
        ledger = Ledger.connect(settings.database_url, busy_timeout=settings.ledger.busy_timeout_s)
        progress = _Progress()
        try:
            run = run_job(job, settings, ledger, progress=progress, repair=repair, by=by or _login())
            Metrics.default().set_discrepancies(job, {k: n for (j, k), n in ledger.discrepancies.open_counts().items()
                                                      if j == job})
        finally:
            progress.done()
            ledger.close()
        report = run_report(run)
        if html_path is not None:
            from bridge.reconcile.html_report import render_html

            try:
                html_path.write_text(render_html(report), encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"--html {html_path}: {exc.strerror or exc}") from None
    if as_json:
        for item in report["discrepancies"]:
            click.echo(json.dumps(item, ensure_ascii=False))
    _summary(report, err=as_json)
    if html_path is not None:
        click.echo(f"HTML report: {html_path}", err=True)


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "reconcile run"


class _Progress:
    """Records read per side, on stderr when it is a terminal (one line, rewritten)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.shown = 0.0
        self.live = sys.stderr.isatty()

    def __call__(self, side: str, count: int) -> None:
        self.counts[side] = count
        now = time.monotonic()
        if self.live and now - self.shown >= 0.2:
            self.shown = now
            line = "  ".join(f"{name}: {n} records" for name, n in self.counts.items())
            click.echo(f"\r{line}", err=True, nl=False)

    def done(self) -> None:
        if self.live and self.shown:
            click.echo("", err=True)


def _summary(report: dict[str, Any], *, err: bool) -> None:
    s = report["summary"]
    lines = [f"job {report['job']}: {report['source']} vs {report['target']}, view {report['view']}, "
             f"{report['window']['since']} .. {report['window']['until']}",
             f"  {'records':<20} {s['source_records']:>8} in {report['source']}, {s['target_records']} in {report['target']}",
             f"  {'pairs':<20} {s['pairs']:>8} ({s['matched']} matched)"]
    for kind in KINDS:
        lines.append(f"  {kind:<20} {s[kind]:>8}")
    lines.append(f"  {'ledger':<20} {s['opened']} opened, {s['still_open']} still open, {s['reopened']} reopened, "
                 f"{s['resolved']} resolved, {s['repaired']} repaired")
    lines += [f"  note: {note}" for note in report["notes"]]
    for line in lines:
        click.echo(line, err=err)


@reconcile.command("schema")
def reconcile_schema() -> None:
    """Print the JSON Schema of the configuration's reconcile: section (jobs)."""
    from bridge.reconcile.jobs import job_schema

    click.echo(json.dumps(job_schema(), indent=2, ensure_ascii=False))


@reconcile.command("list")
@config_option
@click.option("--job", default=None, help="Only this job's.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind.")
@click.option("--status", type=click.Choice(["open", "resolved", "all"]), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per discrepancy.")
def reconcile_list(config_path: Path | None, job: str | None, kind: str | None, status: str, limit: int,
                   as_json: bool) -> None:
    """List discrepancies (open ones by default), oldest first."""
    with reported():
        ledger = _ledger(config_path)
        try:
            found = ledger.discrepancies.list(job=job, kind=kind, status=None if status == "all" else status, limit=limit)
        finally:
            ledger.close()
    if as_json:
        for d in found:
            click.echo(json.dumps(_as_json(d), ensure_ascii=False))
        return
    click.echo(f"{'ID':>6} {'JOB':<12} {'KIND':<18} {'KEY':<32} {'FIELD':<10} {'SOURCE':>12} {'TARGET':>12} "
               f"{'DELTA':>10} {'UNIT':<6} {'STATUS':<8} FIRST SEEN")
    for d in found:
        key = "/".join(d.key.values())
        click.echo(f"{d.id:>6} {d.job:<12} {d.kind:<18} {key[:32]:<32} {(d.field or '-'):<10} {(d.source_value or '-'):>12} "
                   f"{(d.target_value or '-'):>12} {(d.delta or '-'):>10} {(d.unit or '-'):<6} {d.status:<8} "
                   f"{d.first_seen:%Y-%m-%d %H:%M}")
    click.echo(f"{len(found)} discrepanc{'y' if len(found) == 1 else 'ies'}", err=True)


@reconcile.command("resolve")
@click.argument("discrepancy_id", type=int)
@click.option("--reason", required=True, help="Why it is closed (kept with who closed it).")
@click.option("--by", default=None, help="Who closes it (default: the login name).")
@config_option
def reconcile_resolve(discrepancy_id: int, reason: str, by: str | None, config_path: Path | None) -> None:
    """Close one discrepancy by hand, with an audit record (who, when, why)."""
    with reported():
        who = by or _login()
        ledger = _ledger(config_path)
        try:
            done = ledger.discrepancies.resolve(discrepancy_id, by=who, reason=reason)
        finally:
            ledger.close()
    click.echo(f"discrepancy {done.id} ({done.job}, {done.kind}, {'/'.join(done.key.values())}) resolved by "
               f"{done.resolved_by}: {done.reason}")


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise ConfigError("who resolves it? (no login name: pass --by)") from None
