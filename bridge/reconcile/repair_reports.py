"""Repairing reports the ERP lacks (views quantities, consumption, genealogy): each MES report of
the discrepancy's key rebuilt from the raw archive, looked up in the route's journal and call
ledger, its dead letter replayed or its event sent again (:mod:`bridge.reconcile.repair`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bridge.errors import BridgeError
from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.ledger.engine import _database_errors
from bridge.reconcile.repair_base import (
    JOURNAL,
    KEYS_PER_QUERY,
    RepairBase,
    Review,
    log,
    short_error,
    unit_advice,
)
from bridge.reconcile.views import project

__all__ = ["ReportRepairs"]

_ACKNOWLEDGED = ("delivered", "duplicate", "stale")


@dataclass
class _Report:
    """One MES report event rebuilt from the raw archive."""

    raw_id: str
    envelope: Any
    keys: set[tuple[str, ...]]

    @property
    def report_id(self) -> str:
        return str(self.envelope.payload.report_id)

    @property
    def event_id(self) -> str:
        return str(self.envelope.message_id)


class ReportRepairs(RepairBase):
    """The reports half of :class:`bridge.reconcile.repair.Repairer`."""

    def _publish(self, route: str, report: _Report) -> None:
        from bridge.broker.messages import Headers
        from bridge.pipeline.translate import event_message

        message = event_message(report.envelope, "", report.raw_id, routing_key=self._names().deliver_queue(route))
        headers = {**message.headers, Headers.REPLAYED_BY: self._who(),
                   Headers.REPLAYED_AT: datetime.now(UTC).isoformat(timespec="seconds")}
        self._store_now().republish(dataclasses.replace(message, headers=headers))

    def _review_reports(self, discrepancies: Sequence[StoredDiscrepancy], review: Review) -> None:
        assert self.erp_route is not None
        erp = self._erp_label()
        wanted: dict[tuple[str, ...], list[StoredDiscrepancy]] = {}
        for d in discrepancies:
            if d.kind in (self._missing_on_erp_side(), "quantity_mismatch"):
                wanted.setdefault(self._key(d), []).append(d)
            elif d.kind == self._missing_on_mes_side():
                review.actions[d.id] = (f"{erp} holds it, the MES reported nothing of it to the bridge in the window: "
                                        "entered by hand in the ERP, or reversed in the MES; check it there and "
                                        "resolve with a reason")
            else:
                review.actions[d.id] = unit_advice(d)
        if not wanted:
            return
        reports = self._archived_reports(set(wanted))
        stage = f"deliver:{self.erp_route}"
        statuses = self._statuses([r.event_id for r in reports], stage)
        pending = [r for r in reports if statuses.get(r.event_id) not in (*_ACKNOWLEDGED, "failed")]
        sent: dict[str, str] = {}
        if self.repairing and pending:
            sent = self._resend(pending)
        for key, items in wanted.items():
            mine = [r for r in reports if key in r.keys]
            text, repaired = self._report_action(mine, statuses, sent, erp)
            for d in items:
                review.actions[d.id] = text
            review.repaired += repaired * len(items)

    def _statuses(self, event_ids: list[str], stage: str) -> dict[str, str]:
        """Each event's journal status at ``stage``; a retry not heard of for twice the longest
        retry delay (at least an hour) counts as lost (``lost``)."""
        wanted = sorted(set(event_ids))
        found: dict[str, str] = {}
        tiers = tuple(self.settings.broker.retry_tiers) or (0.0,)
        lost_before = datetime.now(UTC) - max(timedelta(hours=1), timedelta(seconds=2 * max(tiers)))
        action = "read the reports' deliveries"
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            query = select(JOURNAL.c.message_id, JOURNAL.c.status, JOURNAL.c.updated_at).where(
                JOURNAL.c.stage == stage, JOURNAL.c.message_id.in_(wanted[start:start + KEYS_PER_QUERY]))
            with self.ledger._transaction(action) as conn, _database_errors(action):
                for row in conn.execute(query):
                    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
                    found[row.message_id] = "lost" if row.status == "failed" and updated < lost_before else row.status
        return found

    def _archived_reports(self, keys: set[tuple[str, ...]]) -> list[_Report]:
        """The MES report events, rebuilt from the raw archive of the window, whose records of
        the job's view have one of ``keys``."""
        from bridge.reconcile.canonical_views import report_records
        from bridge.reconcile.ledger_sides import archived_documents

        translator = self._translator()
        since = datetime.combine(self.since, time(0), self.zone).astimezone(UTC)
        found = []
        for document in archived_documents(self.ledger, "mes", since):
            try:
                envelopes = list(_events(translator, document))
            except (BridgeError, ValueError) as exc:
                log.debug("repair: %s does not translate: %s", document.message_id, exc)
                continue
            for envelope in envelopes:
                if envelope.entity != "report":
                    continue
                data = envelope.model_dump(mode="json", by_alias=True, exclude_none=True)
                records = project(report_records([data], self.job.view), self.job.view, self.job.key_fields())
                matched = {record.key for record in records} & keys
                if matched:
                    found.append(_Report(document.message_id, envelope, matched))
        return found

    def _translator(self) -> Any:
        from bridge.source_options import codec_options
        from bridge.translate import Translator

        return Translator.create(mappings_dir=self.settings.mappings_dir, source_system="mes",
                                 codec_options=codec_options(self.settings).get("mes", {}))

    def _resend(self, pending: list[_Report]) -> dict[str, str]:
        """Re-drive the pending reports: a dead letter still queued is replayed, the others are
        rebuilt from the raw archive; ``{event id: how}``."""
        assert self.erp_route is not None
        unique = {r.event_id: r for r in pending}
        replayed = self._replay(self.erp_route, unique)
        sent = dict.fromkeys(replayed, "replayed its dead letter")
        for event_id, report in unique.items():
            if event_id in replayed:
                continue
            self._publish(self.erp_route, report)
            sent[event_id] = "re-sent it from the raw archive"
        for event_id, how in sent.items():
            log.info("reconcile %s: report %s to %s: %s", self.job_name, unique[event_id].report_id,
                     self.erp_route, how)
        return sent

    def _refusal(self, report: _Report) -> str | None:
        """The ERP's refusal of one of the report's calls, as the call ledger recorded it."""
        assert self.erp_route is not None
        for call in self.ledger.remote.calls(self.erp_route, report.event_id):
            if call.get("state") == "failed":
                return short_error(call.get("error"))
        return None

    def _report_action(self, mine: list[_Report], statuses: Mapping[str, str], sent: Mapping[str, str],
                       erp: str) -> tuple[str, int]:
        if not mine:
            return (f"the bridge received no MES report of this key in the window ({self.since} on): "
                    f"{erp} holds more than the MES reported; check it there and resolve with a reason", 0)
        done, waiting, retrying = [], [], []
        for report in mine:
            status = statuses.get(report.event_id)
            if report.event_id in sent:
                done.append(f"report {report.report_id}: {sent[report.event_id]} to {self.erp_route}")
            elif status in _ACKNOWLEDGED:
                continue
            elif status == "failed":
                retrying.append(f"report {report.report_id}: being retried towards {self.erp_route}")
            else:
                refused = self._refusal(report)
                why = (f"refused by the ERP ({refused}), dead-lettered" if refused else
                       {"dead_lettered": "its delivery was dead-lettered",
                        "lost": "its retry was not heard of since"}.get(status or "", "never delivered"))
                waiting.append((report.report_id, f"report {report.report_id}: {why}"))
        if done:
            return "; ".join([*done, *retrying]) + "; the next run checks it", 1
        if waiting:
            ids = ", ".join(dict.fromkeys(i for i, _ in waiting))
            return "; ".join([*(t for _, t in waiting), *retrying]) + f"; --repair sends {ids} again", 0
        if retrying:
            return "; ".join(retrying), 0
        acknowledged = "; ".join(f"report {r.report_id}{self._documents(r)}" for r in mine)
        return (f"{erp} acknowledged every MES report of it ({acknowledged}): changed or removed in the ERP since; "
                "correct it there or resolve with a reason", 0)

    def _documents(self, report: _Report) -> str:
        assert self.erp_route is not None
        numbers = []
        for call in self.ledger.remote.calls(self.erp_route, report.event_id):
            ack = call.get("acknowledgement") or {}
            numbers += [" ".join(p for p in (doc.get("kind"), doc.get("number")) if p)
                        for doc in ack.get("documents") or []]
        return f" as {', '.join(dict.fromkeys(numbers))}" if numbers else ""


def _events(translator: Any, document: Any) -> Iterator[Any]:
    """The canonical event models of one archived document, as the translate stage makes them
    (the archive's moment of receipt as the clock)."""
    from bridge.pipeline.translate import canonical_envelope

    for source in translator.decode(document.payload, document.message_id):
        if source.canonical_entities:
            yield canonical_envelope(source)
        else:
            yield from translator.mapping_for(source).apply_models(source, clock=lambda: document.received_at)
