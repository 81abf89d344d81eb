"""Make one posting call and read SAP's reply into an acknowledgement (its document numbers).

A reply that reports success but names no document (no CONF_NO, no material document) leaves
the call in doubt: it is raised as transient, and the next attempt looks the call up before it
sends anything again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.sap.returns import failure_of, message_text, messages_of
from bridge.adapter.errors import ErrorTable
from bridge.adapter.sink import Acknowledgement, DocumentRef
from bridge.errors import TransientError

__all__ = ["material_documents", "post"]

Call = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def _texts(rows: list[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(message_text(r) for r in rows)


def material_documents(call: Call, confirmation: str, counter: str) -> tuple[DocumentRef, ...]:
    """The material documents SAP posted with a confirmation (BAPI_PRODORDCONF_GETDETAIL)."""
    reply = call("BAPI_PRODORDCONF_GETDETAIL", {"CONFIRMATION": confirmation, "CONFIRMATIONCOUNTER": counter})
    seen: dict[tuple[str, str], DocumentRef] = {}
    for row in reply.get("GOODSMOVEMENTS") or []:
        number, year = str(row.get("MAT_DOC") or ""), str(row.get("DOC_YEAR") or "")
        if number:
            seen.setdefault((number, year), DocumentRef("material_document", number, year=year))
    return tuple(seen.values())


def _in_doubt(what: str) -> TransientError:
    return TransientError(f"{what}: SAP answered without a document number; looked up before any re-send")


def post(
    call: Call, bapi: str, params: Mapping[str, Any], errors: ErrorTable, what: str, *,
    with_movements: bool = False, failing_for_s: float = 0.0,
) -> Acknowledgement:
    """Post and read the reply.

    Raises:
        TransientError: a lock, an outage, a stock deficit within its retry time, no number.
        PermanentError: SAP refused the posting (its message in the error).
    """
    reply = call(bapi, params)
    if bapi == "BAPI_PRODORDCONF_CREATE_TT":
        rows = messages_of(reply.get("RETURN"), reply.get("DETAIL_RETURN") or [])
    elif bapi == "BAPI_PRODORDCONF_CANCEL":
        rows = messages_of(reply.get("RETURN"))
        if str(reply.get("LOCKED") or "").strip():
            rows = [{"TYPE": "E", "MESSAGE": "confirmation is locked", "FLG_LOCKED": "X"}, *rows]
    else:
        rows = messages_of(reply.get("RETURN") or [])
    failure = failure_of(rows, errors, what, failing_for_s=failing_for_s)
    if failure is not None:
        raise failure
    texts = _texts(rows)
    if bapi == "BAPI_PRODORDCONF_CREATE_TT":
        numbered = next((r for r in reply.get("DETAIL_RETURN") or [] if str(r.get("CONF_NO") or "").strip("0")), None)
        if numbered is None:
            raise _in_doubt(what)
        number, counter = str(numbered["CONF_NO"]), str(numbered.get("CONF_CNT") or "")
        documents = (DocumentRef("confirmation", number, counter=counter),)
        if with_movements:
            try:
                documents += material_documents(call, number, counter)
            except TransientError as exc:  # posted: reading it back failed, so the call is in doubt
                raise TransientError(f"{what}: posted as confirmation {number}/{counter}, reading it back failed: {exc}") from None
        return Acknowledgement(documents, texts)
    if bapi == "BAPI_PRODORDCONF_CANCEL":
        number = str(reply.get("CREATED_CONF_NO") or "")
        if not number.strip("0"):
            raise _in_doubt(what)
        return Acknowledgement((DocumentRef("cancellation", number, counter=str(reply.get("CREATED_CONF_COUNT") or "")),), texts)
    if bapi in ("BAPI_GOODSMVT_CREATE", "BAPI_GOODSMVT_CANCEL"):
        head = reply.get("GOODSMVT_HEADRET") or {}
        number = str(reply.get("MATERIALDOCUMENT") or head.get("MAT_DOC") or "")
        year = str(reply.get("MATDOCUMENTYEAR") or head.get("DOC_YEAR") or "")
        if not number.strip("0"):
            raise _in_doubt(what)
        return Acknowledgement((DocumentRef("material_document", number, year=year),), texts)
    return Acknowledgement((), texts)
