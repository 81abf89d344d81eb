"""What reconciliation's repair shares between reports and orders (:mod:`bridge.reconcile.repair`):
the job's ERP side, the dead-letter store opened only when something is sent, replays by id,
and the advice for what nothing can re-drive."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bridge.errors import ConfigError
from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.ledger.models import JournalRow, table_of
from bridge.reconcile.jobs import Job

__all__ = ["JOURNAL", "KEYS_PER_QUERY", "RepairBase", "Review", "short_error", "unit_advice"]

log = logging.getLogger(__name__)

JOURNAL = table_of(JournalRow)
KEYS_PER_QUERY = 500


@dataclass
class Review:
    """What the review of one run decided: an action per discrepancy id, and how many of them
    the bridge re-drove (``repaired``)."""

    actions: dict[int, str] = field(default_factory=dict)
    repaired: int = 0
    notes: list[str] = field(default_factory=list)



class RepairBase:
    """A job's repair state: settings, ledger, the job, its window, and the dead-letter store
    (a callable returning a :class:`bridge.broker.dlq.DeadLetterStore`, RabbitMQ's or the
    stub's; None to review only)."""

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


def _erp_side(job: Job) -> tuple[str | None, bool]:
    if job.source.erp is not None:
        return job.source.erp, True
    if job.target.erp is not None:
        return job.target.erp, False
    return None, False


def unit_advice(d: StoredDiscrepancy) -> str:
    if d.kind == "unit_mismatch":
        return (f"the sides give it in units the job cannot convert ({d.source_unit or '?'} vs {d.target_unit or '?'}): "
                "add a conversion to the job (units:) or correct the material's units")
    return "nothing the bridge can send again for this kind"


def short_error(text: str | None) -> str:
    line = (text or "no error recorded").splitlines()[0] if text else "no error recorded"
    return line if len(line) <= 160 else line[:157] + "..."
