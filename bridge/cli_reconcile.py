"""``bridge reconcile list`` and ``bridge reconcile resolve``: the discrepancies reconciliation
found (:mod:`bridge.ledger.discrepancies`), and closing one by hand with an audit record."""

from __future__ import annotations

import getpass
import json
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
    return {"id": d.id, "job": d.job, "kind": d.kind, **d.key, "field": d.field, "source_value": d.source_value,
            "target_value": d.target_value, "delta": d.delta, "unit": d.unit, "status": d.status, "refs": list(d.refs),
            "first_seen": d.first_seen.isoformat(), "last_seen": d.last_seen.isoformat(),
            **({"resolved_at": d.resolved_at.isoformat(), "resolved_by": d.resolved_by, "reason": d.reason}
               if d.resolved_at else {})}


@click.group()
def reconcile() -> None:
    """Reconciliation (对账): the discrepancies found between ERP and MES."""


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
