"""A run's report as plain data: one JSON object per discrepancy (``bridge reconcile run --json``)
and the whole run for the HTML report (:mod:`bridge.reconcile.html_report`).

A discrepancy's object: ``id``, ``job``, ``kind``, the job's business key fields by name
(``order_id``, ``operation_id``, ``material_id``, ``lot_id``, ...), ``field``, ``source`` and
``target`` (``{"side", "value", "unit", "ref"}``, null where that side lacks the record),
``delta`` and ``unit`` (target - source, in the source's unit), ``detail``, ``status``,
``first_seen``, ``last_seen``, ``action`` (what the bridge did about it) and, once resolved,
``resolved_at``, ``resolved_by`` and ``reason``.
"""

from __future__ import annotations

from typing import Any

from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.reconcile.runner import JobRun

__all__ = ["discrepancy_json", "run_report"]


def _side(name: str, value: str | None, unit: str | None, ref: str) -> dict[str, Any] | None:
    if value is None and not ref:
        return None
    return {"side": name, "value": value, "unit": unit, "ref": ref or None}


def discrepancy_json(d: StoredDiscrepancy, source: str = "source", target: str = "target") -> dict[str, Any]:
    """One discrepancy as the JSON report shows it (``source``/``target``: the sides' names)."""
    refs = ([*list(d.refs), "", ""])[:2]
    found = {"id": d.id, "job": d.job, "kind": d.kind, **dict(d.key), "field": d.field,
             "source": _side(source, d.source_value, d.source_unit or d.unit, refs[0]),
             "target": _side(target, d.target_value, d.target_unit or d.unit, refs[1]),
             "delta": d.delta, "unit": d.unit, "detail": d.detail, "status": d.status,
             "first_seen": d.first_seen.isoformat(), "last_seen": d.last_seen.isoformat(), "action": d.action}
    if d.resolved_at is not None:
        found.update(resolved_at=d.resolved_at.isoformat(), resolved_by=d.resolved_by, reason=d.reason)
    return found


def run_report(run: JobRun) -> dict[str, Any]:
    """The whole run: header, summary counts and every discrepancy it found or resolved."""
    source, target = run.spec.source.label, run.spec.target.label
    summary = {**run.summary.as_dict(), "opened": run.result.opened, "still_open": run.result.still_open,
               "reopened": run.result.reopened, "resolved": run.result.resolved, "repaired": run.repaired}
    return {
        "job": run.job, "description": run.spec.description, "view": run.spec.view, "key": list(run.spec.key_fields()),
        "source": source, "target": target,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "window": {"since": run.since.isoformat(), "until": run.until.isoformat()},
        "summary": summary, "notes": list(run.notes),
        "discrepancies": [discrepancy_json(d, source, target) for d in [*run.open, *run.resolved]],
    }
