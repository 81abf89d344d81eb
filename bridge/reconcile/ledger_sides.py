"""What the bridge's ledger holds, read as the records of a view.

* ``delivered`` (view ``orders``): the orders the bridge delivered to the MES, as it remembers
  them at delivery (``bridge_order_facts``: the newest delivered version of each order, its
  quantity and material); ``version`` and ``seen_at`` (when it was delivered) for ``stale``.
* ``received`` (views ``quantities``, ``consumption``, ``genealogy``): the reports the MES sent
  (the raw archive of system ``mes`` since the window's start), decoded and mapped again with
  today's mappings exactly as the translate stage does. The translated reports are spooled to
  a temporary file in one pass (collecting the reversals), and read as records in a second, so
  memory stays bounded. A document that does not translate (it went to the dead letters) is
  left out and counted in :attr:`ReceivedReports.unreadable`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bridge.errors import BridgeError
from bridge.ledger.engine import _database_errors
from bridge.ledger.models import OrderFactRow, RawArchiveRow, table_of
from bridge.reconcile.canonical_views import report_records
from bridge.reconcile.records import Record, amount

__all__ = ["ArchivedDocument", "ReceivedReports", "archived_documents", "delivered_orders"]

_FACTS = table_of(OrderFactRow)
_RAW = table_of(RawArchiveRow)
_PAGE = 500

log = logging.getLogger(__name__)


def delivered_orders(ledger: Any) -> Iterator[Record]:
    """The delivered orders as ``orders`` records, paged by order id."""
    after = ""
    while True:
        query = (select(_FACTS.c.order_id, _FACTS.c.facts, _FACTS.c.message_id, _FACTS.c.updated_at)
                 .where(_FACTS.c.order_id > after).order_by(_FACTS.c.order_id).limit(_PAGE))
        with ledger._transaction("read the delivered orders") as conn, _database_errors("read the delivered orders"):
            rows = list(conn.execute(query))
        for row in rows:
            yield _order_record(row.order_id, json.loads(row.facts or "{}"), row.message_id, row.updated_at)
        if len(rows) < _PAGE:
            return
        after = rows[-1].order_id


def _order_record(order_id: str, facts: Mapping[str, Any], message_id: str, at: datetime) -> Record:
    values = {}
    quantity = facts.get("quantity")
    if isinstance(quantity, Mapping) and quantity.get("value") is not None:
        values["quantity"] = amount(quantity["value"], quantity.get("unit"), name=f"order {order_id} quantity")
    version = facts.get("version")
    return Record((order_id,), values, facts.get("material_id") or None, str(version) if version else None, at,
                  f"delivered {message_id}")


@dataclass(frozen=True)
class ArchivedDocument:
    """One raw document of the archive, as received."""

    message_id: str
    payload: bytes
    received_at: datetime


def archived_documents(ledger: Any, system: str, since: datetime | None) -> Iterator[ArchivedDocument]:
    """The raw archive of ``system`` received since ``since`` (UTC; None: all), paged by id."""
    after = ""
    action = f"read the archived {system} documents"
    while True:
        query = (select(_RAW.c.message_id, _RAW.c.payload, _RAW.c.received_at)
                 .where(_RAW.c.source_system == system, _RAW.c.message_id > after)
                 .order_by(_RAW.c.message_id).limit(_PAGE))
        if since is not None:
            query = query.where(_RAW.c.received_at >= since)
        with ledger._transaction(action) as conn, _database_errors(action):
            rows = [ArchivedDocument(r.message_id, bytes(r.payload), _utc(r.received_at)) for r in conn.execute(query)]
        yield from rows
        if len(rows) < _PAGE:
            return
        after = rows[-1].message_id


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ReceivedReports:
    """The MES reports in the raw archive since ``since`` (the plant's local date), translated.

    ``translator`` is a :class:`bridge.translate.Translator` over the configured mappings with
    the MES's codec options.
    """

    def __init__(self, ledger: Any, translator: Any, *, since: date | None, timezone: ZoneInfo,
                 directory: str | Path | None = None, system: str = "mes") -> None:
        self.ledger, self.translator, self.system = ledger, translator, system
        self.since = datetime.combine(since, time(0), timezone).astimezone(UTC) if since else None
        self.directory = directory
        self.unreadable = 0
        self.documents = 0

    def records(self, view: str) -> Iterator[Record]:
        with tempfile.TemporaryFile("w+", encoding="utf-8", dir=self.directory) as spool:
            reversed_ids = self._spool(spool)
            spool.seek(0)
            yield from report_records((json.loads(line) for line in spool), view, reversed=reversed_ids)

    def _spool(self, spool: Any) -> set[str]:
        reversed_ids: set[str] = set()
        for message_id, payload in self._raw():
            self.documents += 1
            try:
                documents = self.translator.decode(payload, message_id)
                envelopes = [e for d in documents for e in self.translator.map_document(d)]
            except (BridgeError, ValueError) as exc:
                self.unreadable += 1
                log.debug("left out %s: %s", message_id, exc)
                continue
            for envelope in envelopes:
                if envelope.get("entity") != "report":
                    continue
                body = envelope.get("payload") or {}
                if body.get("reversal_of"):
                    reversed_ids.add(str(body["reversal_of"]))
                spool.write(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")) + "\n")
        if self.unreadable:
            log.warning("%d of %d archived %s document(s) do not translate and are left out of the comparison",
                        self.unreadable, self.documents, self.system)
        return reversed_ids

    def _raw(self) -> Iterator[tuple[str, bytes]]:
        for document in archived_documents(self.ledger, self.system, self.since):
            yield document.message_id, document.payload
