"""What a SAP system holds, read through its own read BAPIs (the query role, bridge.adapter.query).

* ``order``: BAPI_PRODORD_GET_LIST for the production orders given;
* ``confirmation``: BAPI_PRODORDCONF_GETLIST for the orders, each row's quantities from
  BAPI_PRODORDCONF_GETDETAIL (GETLIST carries none), asked once per confirmation and process
  (:mod:`adapters.sap.detail_cache`: a posted confirmation's detail never changes; the list,
  read fresh each time, says which are cancelled, a cancellation's REV_CONF_CNT marking the
  one it cancels REVERSED); the mark is EX_IDENT;
* ``material_document``: BAPI_GOODSMVT_GETITEMS for a posting-date window (and the orders'
  materials when keys are given: SAP's GETITEMS has no order range, items are filtered by
  ORDERID); the mark is the header text; system-made lines (X_AUTO_CRE) are left out.

Keys are order numbers in display form (``208277437``); SAP's are zero-padded (ALPHA).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from adapters.sap.detail_cache import DetailCache, shared_details
from adapters.sap.returns import failure_of, messages_of
from adapters.sap.soap_client import client_for
from bridge.adapter.errors import ErrorTable
from bridge.adapter.query import QueryContext, TargetRecord
from bridge.errors import ConfigError, TransientError

__all__ = ["SapQuery", "make_sap_query"]

_KINDS = ("order", "confirmation", "material_document")


def _padded(order: str) -> str:
    return order.zfill(12) if order.isdigit() else order


def _display(number: Any) -> str:
    text = str(number or "").strip()
    return (text.lstrip("0") or text) if text.isdigit() else text


def _equal(values: Collection[str]) -> list[dict[str, str]]:
    return [{"SIGN": "I", "OPTION": "EQ", "LOW": v} for v in sorted(values)]


class SapQuery:
    """Reads one SAP system."""

    kinds = _KINDS

    def __init__(self, client: Any, errors: ErrorTable, *, system: str = "", details: DetailCache | None = None) -> None:
        self.client = client
        self.errors = errors
        self.system = system
        self.details = details

    def _call(self, bapi: str, params: Mapping[str, Any], returns: str) -> dict[str, Any]:
        reply = self.client.call(bapi, params)
        failure = failure_of(messages_of(reply.get(returns) or []), self.errors, f"SAP {bapi}")
        if isinstance(failure, TransientError):  # "nothing found" is not a failure of a read
            raise failure
        return reply

    def records(
        self, kind: str, *, keys: Collection[str] = (), since: date | None = None, until: date | None = None
    ) -> list[TargetRecord]:
        if kind not in _KINDS:
            raise ConfigError(f"SAP has no record kind {kind!r} (kinds: {', '.join(_KINDS)})")
        orders = {_padded(k) for k in keys}
        if kind == "material_document":
            if since is None:
                raise ConfigError("material documents are listed for a posting-date window: give since (and until)")
            return self._material_documents(orders, since, until or date.today())
        if not orders:
            raise ConfigError(f"SAP {kind}s are listed for a set of production orders: give keys")
        if kind == "order":
            reply = self._call("BAPI_PRODORD_GET_LIST", {"ORDER_NUMBER_RANGE": _equal(orders)}, "RETURN")
            return [
                TargetRecord("order", _display(h["ORDER_NUMBER"]), _display(h["ORDER_NUMBER"]), "", dict(h))
                for h in reply.get("ORDER_HEADER") or []
            ]
        return self._confirmations(orders)

    def _confirmations(self, orders: set[str]) -> list[TargetRecord]:
        reply = self._call("BAPI_PRODORDCONF_GETLIST", {"ORDER_RANGE": _equal(orders)}, "RETURN")
        rows = [dict(row) for row in reply.get("CONFIRMATIONS") or []]
        cancelled = {(str(r["CONF_NO"]), str(r.get("REV_CONF_CNT") or "")) for r in rows
                     if str(r.get("REV_CONF_CNT") or "").strip("0")}
        found = []
        for row in rows:
            detail = self._detail(row)
            facts = {**row, **{k: v for k, v in dict(detail).items() if v not in (None, "")}}
            if (str(row["CONF_NO"]), str(row["CONF_CNT"])) in cancelled:
                facts["REVERSED"] = "X"
            found.append(
                TargetRecord(
                    "confirmation", f"{row['CONF_NO']}/{row['CONF_CNT']}", _display(row.get("ORDERID")),
                    str(row.get("EX_IDENT") or ""), facts,
                )
            )
        return found

    def _detail(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        conf_no, counter = str(row["CONF_NO"]), str(row["CONF_CNT"])
        # the list row's own facts belong to the key: a system copied over keeps its numbers
        identity = "|".join(str(row.get(k) or "") for k in ("CONF_CNT", "ORDERID", "OPERATION", "POSTG_DATE",
                                                             "EX_IDENT", "CONF_TEXT"))
        if self.details is not None and (kept := self.details.get(self.system, conf_no, identity)) is not None:
            return kept
        detail = self.client.call(
            "BAPI_PRODORDCONF_GETDETAIL", {"CONFIRMATION": conf_no, "CONFIRMATIONCOUNTER": counter}
        ).get("CONF_DETAIL") or {}
        if self.details is not None:
            self.details.put(self.system, conf_no, identity, detail)
        return detail

    def _material_documents(self, orders: set[str], since: date, until: date) -> list[TargetRecord]:
        window = [{"SIGN": "I", "OPTION": "BT", "LOW": since.isoformat(), "HIGH": until.isoformat()}]
        reply = self._call("BAPI_GOODSMVT_GETITEMS", {"PSTNG_DATE_RA": window}, "RETURN")
        headers = {(str(h["MAT_DOC"]), str(h.get("DOC_YEAR") or "")): h for h in reply.get("GOODSMVT_HEADER") or []}
        items: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for item in reply.get("GOODSMVT_ITEMS") or []:
            if str(item.get("X_AUTO_CRE") or "").strip():
                continue
            if orders and str(item.get("ORDERID") or "") not in orders:
                continue
            items.setdefault((str(item["MAT_DOC"]), str(item.get("DOC_YEAR") or "")), []).append(dict(item))
        found = []
        for (number, year), lines in sorted(items.items()):
            head = headers.get((number, year)) or headers.get((number, "")) or {}
            order = _display(lines[0].get("ORDERID"))
            found.append(
                TargetRecord("material_document", f"{number}/{year}", order, str(head.get("HEADER_TXT") or ""),
                             {"header": dict(head), "items": lines})
            )
        return found

    def close(self) -> None:
        self.client.close()


def make_sap_query(context: QueryContext) -> SapQuery:
    """The query of a SAP route (its URL, credentials and TLS settings).

    Raises:
        ConfigError: the credentials' variables are not set.
    """
    client = client_for(context.settings, context.route, context.env)
    target = context.settings
    return SapQuery(client, client.errors, system=f"{target.url}|{target.sap_client}", details=shared_details())
