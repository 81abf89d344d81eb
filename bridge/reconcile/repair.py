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
from collections.abc import Sequence

from bridge.ledger.discrepancies import StoredDiscrepancy
from bridge.reconcile.repair_base import Review
from bridge.reconcile.repair_orders import OrderRepairs
from bridge.reconcile.repair_reports import ReportRepairs

__all__ = ["REPORT_VIEWS", "Repairer", "Review"]

REPORT_VIEWS = ("quantities", "consumption", "genealogy")


class Repairer(ReportRepairs, OrderRepairs):
    """Reviews (and with a dead-letter ``store`` repairs) the open discrepancies of one job.

    ``store`` is opened only when something is to be re-sent: a callable returning a
    :class:`bridge.broker.dlq.DeadLetterStore` (RabbitMQ's, or the stub's in unit tests), or
    None to review only.
    """

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
