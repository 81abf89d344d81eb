"""What the bridge does about a run's open discrepancies: it repairs what it can by itself,
through the normal idempotent paths, and says why it leaves the rest.

Every run reviews its open discrepancies and records for each what the bridge did, or with
``--repair`` (``repair: true`` on a scheduled job) would do (``action``: in ``bridge reconcile
list``, the JSON and the HTML report). With ``--repair`` it does it:

Reports (views ``quantities``, ``consumption``, ``genealogy``) the ERP holds less of than the
MES: each MES report of the discrepancy's key is rebuilt from the raw archive with today's
mappings (the events, ids and versions the translate stage made) and looked up in the journal
of the ERP's route (``deliver:<route>``):

* delivered: the ERP acknowledged it (its documents are named): its records were changed or
  removed in the ERP since, which the bridge must not overrule: left open;
* dead-lettered: its dead letter is replayed from the route's dead-letter queue (as ``bridge dlq
  replay --id``); when that queue no longer holds it, the rebuilt event goes to the route's queue;
* being retried: left to the retry queues;
* no trace (never routed to the route, or lost): the rebuilt event goes to the route's queue.

Either way the event passes the route's deliver stage like any other: a report the ledger marks
delivered is a duplicate, and a call left in doubt is looked up at the ERP before it is made
again, so a report is never posted twice however often a repair runs.

Orders (view ``orders``) the ERP released that the MES lacks or holds an older version of: a
dead letter of the order's delivery to the MES is replayed; a delivery being retried is left to
its retries; otherwise a polling source (K/3 Cloud, YonBIP) has its orders feed's watermark set
back to the order's modification time, so that the running poller reads it again (as ``bridge
<system> backfill``; the ledger absorbs what it had taken in already). SAP pushes its orders as
IDocs, which the bridge cannot ask for: left open, naming what resends them.

What only the ERP holds, and units that do not convert, are left open with the why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bridge.errors import BridgeError, ConfigError
from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.ledger.engine import _database_errors
from bridge.ledger.models import JournalRow, table_of
from bridge.reconcile.jobs import Job
from bridge.reconcile.views import project

__all__ = ["REPORT_VIEWS", "Repairer", "Review"]

log = logging.getLogger(__name__)

REPORT_VIEWS = ("quantities", "consumption", "genealogy")
_JOURNAL = table_of(JournalRow)
_KEYS_PER_QUERY = 500
_ACKNOWLEDGED = ("delivered", "duplicate", "stale")
_VERSION = re.compile(r"(?<!\d)(\d{14,})(?!\d)")


@dataclass
class Review:
    """What the review of one run decided: an action per discrepancy id, and how many of them
    the bridge re-drove (``repaired``)."""

    actions: dict[int, str] = field(default_factory=dict)
    repaired: int = 0
    notes: list[str] = field(default_factory=list)


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


class Repairer:
    """Reviews (and with a dead-letter ``store`` repairs) the open discrepancies of one job.

    ``store`` is opened only when something is to be re-sent: a callable returning a
    :class:`bridge.broker.dlq.DeadLetterStore` (RabbitMQ's, or the stub's in unit tests), or
    None to review only.
    """

    def __init__(
        self,
        settings: Any,
        ledger: Any,
        job_name: str,
        job: Job,
        *,
        since: date,
        zone: ZoneInfo,
        store: Callable[[], Any] | None = None,
        by: str = "reconcile",
    ) -> None:
        self.settings, self.ledger, self.job_name, self.job = settings, ledger, job_name, job
        self.since, self.zone, self.by = since, zone, by
        self._store_factory = store
        self._store: Any = None
        self.erp_route, self.erp_is_source = _erp_side(job)

    @property
    def repairing(self) -> bool:
        return self._store_factory is not None

    def review(self, discrepancies: Sequence[StoredDiscrepancy]) -> Review:
        """Decide (and when repairing, do) what the bridge does about each discrepancy."""
        review = Review()
        if not discrepancies:
            return review
        try:
            if self.erp_route is None:
                for d in discrepancies:
                    review.actions[d.id] = "neither side is an ERP: nothing the bridge could send again"
            elif self.job.view in REPORT_VIEWS:
                self._review_reports(discrepancies, review)
            else:
                self._review_orders(discrepancies, review)
        finally:
            if self._store is not None:
                with contextlib.suppress(Exception):
                    self._store.close()
        return review

    # -- shared -------------------------------------------------------------------------------

    def _store_now(self) -> Any:
        if self._store is None:
            assert self._store_factory is not None
            self._store = self._store_factory()
        return self._store

    def _names(self) -> Any:
        from bridge.runtime import names_for

        return names_for(self.settings)

    def _route(self, name: str) -> Any:
        route = next((r for r in self.settings.routes if r.name == name), None)
        if route is None:
            raise ConfigError(f"repair: {name!r} is not a route")
        return route

    def _erp_label(self) -> str:
        return f"{self._route(self.erp_route).sink} (route {self.erp_route})" if self.erp_route else "the ERP"

    def _missing_on_mes_side(self) -> str:
        return "missing_in_target" if self.erp_is_source else "missing_in_source"

    def _missing_on_erp_side(self) -> str:
        return "missing_in_source" if self.erp_is_source else "missing_in_target"

    def _key(self, d: StoredDiscrepancy) -> tuple[str, ...]:
        return tuple(str(d.key.get(name, "")) for name in self.job.key_fields())

    def _replay(self, route: str, message_ids: Iterable[str]) -> set[str]:
        """Replay the dead letters of ``message_ids`` from the route's dead-letter queue; the
        ids found and replayed."""
        from bridge.broker import dlq
        from bridge.broker.names import Names

        wanted = tuple(sorted(set(message_ids)))
        if not wanted:
            return set()
        queue = Names.dead_letter_queue(self._names().deliver_queue(route))
        letters = dlq.replay(self._store_now(), [queue], dlq.DeadLetterFilter(ids=wanted), by=self._who())
        return {dl.id for dl in letters}

    def _who(self) -> str:
        return f"reconcile {self.job_name} ({self.by})"

    def _publish(self, route: str, report: _Report) -> None:
        from bridge.broker.messages import Headers
        from bridge.pipeline.translate import event_message

        message = event_message(report.envelope, "", report.raw_id, routing_key=self._names().deliver_queue(route))
        headers = {**message.headers, Headers.REPLAYED_BY: self._who(),
                   Headers.REPLAYED_AT: datetime.now(UTC).isoformat(timespec="seconds")}
        self._store_now().republish(dataclasses.replace(message, headers=headers))

    # -- reports ------------------------------------------------------------------------------

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
                review.actions[d.id] = _unit_advice(d)
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
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            query = select(_JOURNAL.c.message_id, _JOURNAL.c.status, _JOURNAL.c.updated_at).where(
                _JOURNAL.c.stage == stage, _JOURNAL.c.message_id.in_(wanted[start:start + _KEYS_PER_QUERY]))
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
                return _short(call.get("error"))
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

    # -- orders -------------------------------------------------------------------------------

    def _review_orders(self, discrepancies: Sequence[StoredDiscrepancy], review: Review) -> None:
        erp = self._erp_label()
        wanted: dict[str, list[StoredDiscrepancy]] = {}
        for d in discrepancies:
            order = str(d.key.get("order_id", ""))
            if d.kind in (self._missing_on_mes_side(), "stale", "quantity_mismatch"):
                wanted.setdefault(order, []).append(d)
            elif d.kind == self._missing_on_erp_side():
                review.actions[d.id] = (f"{erp} does not hold order {order} in the window ({self.since} on): "
                                        "closed or deleted there, or released before the window; the MES still "
                                        "has it (cancel it in the MES if it is gone)")
            else:
                review.actions[d.id] = _unit_advice(d)
        if not wanted:
            return
        deliveries = self._order_deliveries(set(wanted))
        dead = {order: row for order, row in deliveries.items() if row.status == "dead_lettered"}
        replayed: set[str] = set()
        if self.repairing and dead:
            by_route: dict[str, list[str]] = {}
            for row in dead.values():
                by_route.setdefault(row.stage.removeprefix("deliver:"), []).append(row.message_id)
            for route, ids in by_route.items():
                replayed |= self._replay(route, ids)
        to_poll = {order: items for order, items in wanted.items()
                   if order not in deliveries or deliveries[order].status not in ("dead_lettered", "failed")
                   or (deliveries[order].status == "dead_lettered" and self.repairing
                       and deliveries[order].message_id not in replayed)}
        polled = self._poll_again(to_poll) if to_poll else {}
        for order, items in wanted.items():
            row = deliveries.get(order)
            repaired = 0
            if row is not None and row.message_id in replayed:
                text, repaired = f"replayed the dead letter of its delivery to {row.stage.removeprefix('deliver:')}; " \
                                 "the next run checks it", 1
            elif row is not None and row.status == "failed":
                text = (f"its delivery to {row.stage.removeprefix('deliver:')} is being retried "
                        f"(attempt {row.attempts}: {_short(row.error)})")
            elif row is not None and row.status == "dead_lettered" and not self.repairing:
                text = (f"its delivery to {row.stage.removeprefix('deliver:')} was dead-lettered "
                        f"({_short(row.error)}); --repair replays it")
            else:
                text, repaired = polled[order]
            for d in items:
                review.actions[d.id] = text
            review.repaired += repaired * len(items)

    def _order_deliveries(self, orders: set[str]) -> dict[str, Any]:
        """The newest journal row of each order's delivery to an MES route (by any route that
        takes order events)."""
        from bridge.broker.routing import topic_matches
        from bridge.canonical.order import ORDER_EVENTS

        stages = [f"deliver:{r.name}" for r in self.settings.routes
                  if r.name != self.erp_route and any(topic_matches(p, f"order.{e}") for p in r.events
                                                      for e in ORDER_EVENTS)]
        if not stages:
            return {}
        newest: dict[str, Any] = {}
        ordered = sorted(orders)
        action = "read the orders' deliveries"
        for start in range(0, len(ordered), _KEYS_PER_QUERY):
            chunk = ordered[start:start + _KEYS_PER_QUERY]
            query = (select(_JOURNAL).where(_JOURNAL.c.stage.in_(stages), _JOURNAL.c.entity == "order",
                                            _JOURNAL.c.business_key.in_(chunk)).order_by(_JOURNAL.c.id))
            with self.ledger._transaction(action) as conn, _database_errors(action):
                for row in conn.execute(query):
                    newest[row.business_key] = row
        return newest

    def _poll_again(self, orders: Mapping[str, list[StoredDiscrepancy]]) -> dict[str, tuple[str, int]]:
        """Set the ERP poller's orders watermark back to the orders' modification times."""
        from bridge.adapter.polling import Watermark
        from bridge.adapter.registry import adapter_for

        assert self.erp_route is not None
        system = self._route(self.erp_route).sink
        feeds = tuple(getattr(adapter_for(system), "order_feeds", ()) or ())
        source = self.settings.sources.get(system)
        poll = (source.model_extra or {}).get("poll") if source is not None else None
        if not feeds:
            text = (f"{system} pushes its orders to the bridge, which cannot ask for one: the bridge has no trace of "
                    "it; send it again from the ERP" + (" (SAP: transaction POIT sends production orders over ALE, "
                                                         "BD87 reprocesses an IDoc in error)" if system == "sap" else ""))
            return dict.fromkeys(orders, (text, 0))
        if not isinstance(poll, Mapping):
            text = f"no {system} poller is configured (sources.{system}.poll) to read the order again"
            return dict.fromkeys(orders, (text, 0))
        moments = {order: self._modified(items) for order, items in orders.items()}
        earliest = min(moments.values())
        results: dict[str, tuple[str, int]] = {}
        for feed in feeds:
            name = f"{system}:{feed}"
            saved = self.ledger.positions.get(name)
            current = Watermark.from_text(saved.position, f"position {name}").modified if saved else None
            if current is None:
                text = f"the {system} poller has not polled {feed} yet: it reads the order on its first poll"
                return dict.fromkeys(orders, (text, 0))
            if current <= earliest:
                text = (f"the {system} poller reads {feed} from {current:%Y-%m-%d %H:%M:%S} on: the order is read "
                        "on its next poll")
                return dict.fromkeys(orders, (text, 0))
            if not self.repairing:
                return {order: (f"not delivered to the MES; --repair sets the {system} poller's {feed} watermark "
                                 f"back to {moments[order]:%Y-%m-%d %H:%M:%S} to read it again", 0) for order in orders}
            self.ledger.positions.set(name, Watermark(earliest).to_text(), by=self._who()[:200])
            log.info("reconcile %s: watermark %s set back from %s to %s", self.job_name, name, current, earliest)
            for order in orders:
                results[order] = (f"set the {system} poller's {feed} watermark back from {current:%Y-%m-%d %H:%M:%S} "
                                  f"to {earliest:%Y-%m-%d %H:%M:%S}: it reads the order again on its next poll; "
                                  "the next run checks it", 1)
        return results

    def _modified(self, items: Sequence[StoredDiscrepancy]) -> datetime:
        """When the ERP last changed the order (its version's leading digits, the ERP's local
        time), a second early; the window's start when the version says nothing."""
        moments = [m for d in items for m in _version_times(d.detail)]
        return min(moments) - timedelta(seconds=1) if moments else datetime.combine(self.since, time(0))


def _erp_side(job: Job) -> tuple[str | None, bool]:
    if job.source.erp is not None:
        return job.source.erp, True
    if job.target.erp is not None:
        return job.target.erp, False
    return None, False


def _events(translator: Any, document: Any) -> Iterator[Any]:
    """The canonical event models of one archived document, as the translate stage makes them
    (the archive's moment of receipt as the clock)."""
    from bridge.pipeline.translate import canonical_envelope

    for source in translator.decode(document.payload, document.message_id):
        if source.canonical_entities:
            yield canonical_envelope(source)
        else:
            yield from translator.mapping_for(source).apply_models(source, clock=lambda: document.received_at)


def _version_times(text: str | None) -> list[datetime]:
    """The times in the versions a discrepancy's detail names (``version 20261205083000123456``:
    14 or more digits, the ERP's local time first)."""
    found = []
    for digits in _VERSION.findall(text or ""):
        with contextlib.suppress(ValueError):
            found.append(datetime.strptime(digits[:14], "%Y%m%d%H%M%S"))
    return found


def _unit_advice(d: StoredDiscrepancy) -> str:
    if d.kind == "unit_mismatch":
        return (f"the sides give it in units the job cannot convert ({d.source_unit or '?'} vs {d.target_unit or '?'}): "
                "add a conversion to the job (units:) or correct the material's units")
    return "nothing the bridge can send again for this kind"


def _short(text: str | None) -> str:
    line = (text or "no error recorded").splitlines()[0] if text else "no error recorded"
    return line if len(line) <= 160 else line[:157] + "..."
