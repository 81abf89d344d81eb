"""Whether SAP already holds a call's effect, read through SAP's own read BAPIs.

* a confirmation: BAPI_PRODORDCONF_GETLIST for the order, the row whose EX_IDENT is the call's
  mark (and not a reversal);
* a goods movement: BAPI_GOODSMVT_GETITEMS for its materials, movement type and posting date,
  the document whose HEADER_TXT is the call's mark;
* a cancelled confirmation: GETLIST for the confirmation number, the cancellation's own row
  naming the cancelled counter (REV_CONF_CNT);
* a reversed material document: GETITEMS for the reversal movement types on the reversal's
  posting date, the document carrying the original's header text. That SAP copies the header
  text into the reversal document is an assumption to check on a real system (MBST/MIGO do).

A read that fails raises: the call stays in doubt and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.sap.postings import Call, material_documents
from adapters.sap.report_calls import REVERSAL_OF
from adapters.sap.returns import failure_of, messages_of
from bridge.adapter.errors import ErrorTable
from bridge.adapter.sink import Acknowledgement, DocumentRef, RemoteCall
from bridge.errors import PermanentError, TransientError

__all__ = ["look_up"]


def _equal(*values: str) -> list[dict[str, str]]:
    return [{"SIGN": "I", "OPTION": "EQ", "LOW": v} for v in values]


def _read_failure(rows: list[Mapping[str, Any]], errors: ErrorTable, what: str) -> None:
    """Raise when a read failed for a reason other than "nothing found" (a lock, an outage)."""
    failure = failure_of(rows, errors, what)
    if isinstance(failure, TransientError):
        raise failure


def _confirmations(call: Call, errors: ErrorTable, what: str, **ranges: list[dict[str, str]]) -> list[Mapping[str, Any]]:
    reply = call("BAPI_PRODORDCONF_GETLIST", ranges)
    _read_failure(messages_of(reply.get("RETURN")), errors, what)
    return list(reply.get("CONFIRMATIONS") or [])


def _documents_with_text(
    call: Call, errors: ErrorTable, what: str, header_text: str, move_types: list[str], posting_date: str,
    materials: list[str] | None = None,
) -> tuple[DocumentRef, ...]:
    params: dict[str, Any] = {"MOVE_TYPE_RA": _equal(*move_types), "PSTNG_DATE_RA": _equal(posting_date)}
    if materials:
        params["MATERIAL_RA"] = _equal(*materials)
    reply = call("BAPI_GOODSMVT_GETITEMS", params)
    _read_failure(messages_of(reply.get("RETURN") or []), errors, what)
    moved = {
        (str(i.get("MAT_DOC")), str(i.get("DOC_YEAR") or ""))
        for i in reply.get("GOODSMVT_ITEMS") or []
        if str(i.get("MOVE_TYPE")) in move_types and not str(i.get("X_AUTO_CRE") or "").strip()
    }
    found = []
    for head in reply.get("GOODSMVT_HEADER") or []:
        key = (str(head.get("MAT_DOC")), str(head.get("DOC_YEAR") or ""))
        if str(head.get("HEADER_TXT") or "") == header_text and (key in moved or (key[0], "") in moved):
            found.append(DocumentRef("material_document", key[0], year=key[1]))
    return tuple(found)


def look_up(call: Call, remote: RemoteCall, errors: ErrorTable, what: str) -> Acknowledgement | None:
    """The acknowledgement of ``remote`` if SAP holds its effect, else None."""
    info = remote.request["lookup"]
    if remote.operation == "confirmation":
        rows = _confirmations(call, errors, what, ORDER_RANGE=_equal(info["order"]))
        row = next(
            (r for r in rows if str(r.get("EX_IDENT") or "") == remote.ident and not str(r.get("REVERSED") or "").strip()),
            None,
        )
        if row is None:
            return None
        number, counter = str(row["CONF_NO"]), str(row.get("CONF_CNT") or "")
        documents: tuple[DocumentRef, ...] = (DocumentRef("confirmation", number, counter=counter),)
        if info.get("with_movements"):
            documents += material_documents(call, number, counter)
        return Acknowledgement(documents, found_by_lookup=True)
    if remote.operation in ("receipt", "issue"):
        found = _documents_with_text(
            call, errors, what, remote.ident, info["move_types"], info["posting_date"], info.get("materials")
        )
        return Acknowledgement(found[:1], found_by_lookup=True) if found else None
    if remote.operation == "cancel_confirmation":
        rows = _confirmations(call, errors, what, CONF_RANGE=_equal(info["confirmation"]))
        # the cancellation is a record of its own naming the counter it cancels (REV_CONF_CNT);
        # which of the two carries REVERSED differs between descriptions, so it is not relied on
        row = next(
            (r for r in rows
             if str(r.get("REV_CONF_CNT") or "") == info["counter"] and str(r.get("CONF_CNT") or "") != info["counter"]),
            None,
        )
        if row is None:
            return None
        return Acknowledgement((DocumentRef("cancellation", str(row["CONF_NO"]), counter=str(row.get("CONF_CNT") or "")),), found_by_lookup=True)
    if remote.operation in ("cancel_receipt", "cancel_issue"):
        reversing = [REVERSAL_OF["101" if remote.operation == "cancel_receipt" else "261"]]
        found = _documents_with_text(call, errors, what, remote.ident, reversing, info["posting_date"])
        return Acknowledgement(found[:1], found_by_lookup=True) if found else None
    if remote.operation == "lot_status" and info.get("idempotent"):
        return None  # setting a batch's status again has the same effect: it is simply re-sent
    if remote.operation == "lot_transfer":
        found = _documents_with_text(call, errors, what, remote.ident, info["move_types"], info["posting_date"], info.get("materials"))
        return Acknowledgement(found[:1], found_by_lookup=True) if found else None
    raise PermanentError(f"{what}: a {remote.operation} call cannot be looked up; whether SAP posted it must be checked by hand")
