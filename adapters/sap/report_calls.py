"""A canonical work report as the BAPI calls that post it to SAP.

The reverse mapping (``mappings/sap/report_prodordconf.yaml`` by default) turns the report into
one time ticket and its goods movements; this module splits that into calls per the route's
settings:

* ``goods_movements: separate``: the confirmation (BAPI_PRODORDCONF_CREATE_TT) and, each on its
  own, the receipt (BAPI_GOODSMVT_CREATE, GM_CODE 02, 101) and the issue (GM_CODE 03, 261);
* ``goods_movements: confirmation``: one call, the movements in its GOODSMOVEMENTS table;
* ``goods_movements: idoc``: the confirmation, and the receipt and issue each as one MBGMCR03
  IDoc (adapters.sap.idoc_outbound).

``backflush: suppress`` links the time ticket to goods-movement line 0 when the bridge posts the
movements separately (LINK_CONF_GOODSMOV with INDEX_GOODSMOV = 0: SAP then neither backflushes
the order's components nor posts its automatic goods receipt, which would double what the MES
reported). Each call carries the mark SAP keeps for it (:func:`ident`): EX_IDENT on the time
ticket (32 characters), HEADER_TXT on a material document (25), read back by the lookups.

A ``reversed`` report cancels what its ``reversal_of`` posted: its goods movements first
(BAPI_GOODSMVT_CANCEL), then the confirmation (BAPI_PRODORDCONF_CANCEL; in ``confirmation``
mode that also reverses the movements posted with it). Keys name the original report, so a
cancellation happens once however many reversals name it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.sap.target import SapTargetSettings
from bridge.adapter.sink import DeliveryContext, RemoteCall
from bridge.errors import PermanentError

__all__ = ["REVERSAL_OF", "ident", "plan_report", "plan_reversal"]

#: The movement type that reverses each one the bridge posts.
REVERSAL_OF = {"101": "102", "261": "262", "343": "344", "344": "343", "349": "350", "350": "349", "321": "322"}

_READABLE = re.compile(r"^[A-Za-z0-9._:/-]+$")


def ident(report_id: str, limit: int, suffix: str = "") -> str:
    """The report's mark in a SAP field of ``limit`` characters: the id itself when it fits,
    else ``MES`` and a digest of it (deterministic, so a re-send carries the same mark)."""
    candidate = f"{report_id}{suffix}"
    if len(candidate) <= limit and _READABLE.fullmatch(candidate):
        return candidate
    digest = hashlib.sha256(report_id.encode("utf-8")).hexdigest().upper()
    return f"MES{digest[: limit - 3 - len(suffix)]}{suffix}"


def _posting_date(ticket: Mapping[str, Any], envelope: Mapping[str, Any]) -> str:
    if ticket.get("POSTG_DATE"):
        return str(ticket["POSTG_DATE"])
    occurred = str(envelope.get("occurred_at") or "")
    return occurred[:10] if len(occurred) >= 10 else date.today().isoformat()


def _with_plant(
    rows: list[dict[str, Any]], facts: Mapping[str, Any], settings: SapTargetSettings, report_id: str
) -> list[dict[str, Any]]:
    components = facts.get("components") or {}
    out = []
    for given in rows:
        row = {k: v for k, v in given.items() if v is not None}
        material = str(row.get("MATERIAL", "")).lstrip("0") or str(row.get("MATERIAL", ""))
        component = components.get(material) or components.get(str(row.get("MATERIAL", ""))) or {}
        plant = row.get("PLANT") or component.get("site") or facts.get("site") or settings.plant
        if not plant:
            raise PermanentError(
                f"report {report_id}: no plant for the movement of {material}: neither the report, "
                "its order (not delivered by this bridge?) nor the route's `plant` names one"
            )
        row["PLANT"] = plant
        if not row.get("STGE_LOC"):
            location = component.get("storage_location") if row.get("MOVE_TYPE") == "261" else settings.receipt_storage_location
            if location:
                row["STGE_LOC"] = location
        out.append(row)
    return out


def _call(key: str, operation: str, bapi: str, params: Mapping[str, Any], ident_: str, **lookup: Any) -> RemoteCall:
    return RemoteCall(key, operation, {"bapi": bapi, "params": dict(params), "lookup": lookup}, ident_)


def plan_report(
    envelope: Mapping[str, Any], rendered: Mapping[str, Any], settings: SapTargetSettings, context: DeliveryContext
) -> list[RemoteCall]:
    """The calls that post a ``created`` report (``rendered``: the reverse mapping's output)."""
    payload = envelope["payload"]
    report_id = str(payload["report_id"])
    tickets = list(rendered.get("TIMETICKETS") or [])
    if len(tickets) != 1:
        raise PermanentError(f"report {report_id}: the mapping made {len(tickets)} time tickets, not one")
    ticket = {k: v for k, v in tickets[0].items() if v is not None}
    order = str(ticket["ORDERID"])
    posting_date = _posting_date(ticket, envelope)
    ticket["POSTG_DATE"] = posting_date
    ticket["EX_IDENT"] = ident(report_id, 32)
    facts = context.order(str(payload.get("order_id", ""))) or {}
    movements = _with_plant(list(rendered.get("GOODSMOVEMENTS") or []), facts, settings, report_id)
    lookup = {"order": order, "posting_date": posting_date}
    base = {"POST_WRONG_ENTRIES": rendered.get("POST_WRONG_ENTRIES"), "TIMETICKETS": [ticket]}
    if settings.goods_movements == "confirmation":
        params = {**base, "GOODSMOVEMENTS": movements or None, "LINK_CONF_GOODSMOV": rendered.get("LINK_CONF_GOODSMOV") or None}
        if not movements and settings.backflush == "suppress":
            params["LINK_CONF_GOODSMOV"] = [{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 0}]
        return [_call(f"{report_id}/confirmation", "confirmation", "BAPI_PRODORDCONF_CREATE_TT", params, ticket["EX_IDENT"], with_movements=True, **lookup)]
    params = dict(base)
    if settings.backflush == "suppress":
        params["LINK_CONF_GOODSMOV"] = [{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 0}]
    calls = [_call(f"{report_id}/confirmation", "confirmation", "BAPI_PRODORDCONF_CREATE_TT", params, ticket["EX_IDENT"], **lookup)]
    for operation, move_type, code, suffix in (("receipt", "101", "02", "/R"), ("issue", "261", "03", "/I")):
        rows = [r for r in movements if r.get("MOVE_TYPE") == move_type]
        if not rows:
            continue
        header_text = ident(report_id, 25, suffix)
        header = {"PSTNG_DATE": posting_date, "DOC_DATE": posting_date, "HEADER_TXT": header_text}
        gm = {"GOODSMVT_HEADER": header, "GOODSMVT_CODE": {"GM_CODE": code}, "GOODSMVT_ITEM": rows}
        materials = sorted({str(r["MATERIAL"]) for r in rows})
        bapi = "IDOC_MBGMCR03" if settings.goods_movements == "idoc" else "BAPI_GOODSMVT_CREATE"
        calls.append(
            _call(f"{report_id}/{operation}", operation, bapi, gm, header_text,
                  materials=materials, move_types=[move_type], **lookup)
        )
    return calls


def plan_reversal(envelope: Mapping[str, Any], settings: SapTargetSettings, context: DeliveryContext) -> list[RemoteCall]:
    """The calls that cancel what the report named by ``reversal_of`` posted."""
    payload = envelope["payload"]
    original = payload.get("reversal_of")
    if not original:
        raise PermanentError(f"report {payload.get('report_id')}: a reversed report names the report it cancels in reversal_of")
    confirmation = context.acknowledgement(f"{original}/confirmation")
    if confirmation is None:
        raise PermanentError(
            f"report {payload.get('report_id')} reverses {original}, which this bridge never posted to SAP "
            "(no confirmation recorded): nothing to cancel"
        )
    posting_date = str(payload.get("posting_date") or str(envelope.get("occurred_at") or "")[:10] or date.today().isoformat())
    text = f"MES reversal {payload.get('report_id')}"[:40]
    calls: list[RemoteCall] = []
    for operation in ("issue", "receipt"):
        acknowledgement = context.acknowledgement(f"{original}/{operation}")
        if acknowledgement is None:
            continue
        for document in acknowledgement.documents:
            if document.kind != "material_document":
                continue
            params = {"MATERIALDOCUMENT": document.number, "MATDOCUMENTYEAR": document.year, "GOODSMVT_PSTNG_DATE": posting_date}
            header_text = ident(str(original), 25, "/R" if operation == "receipt" else "/I")
            calls.append(
                _call(f"{original}/cancel-{operation}-{document.number}", f"cancel_{operation}", "BAPI_GOODSMVT_CANCEL",
                      params, header_text, document=document.number, year=document.year, posting_date=posting_date)
            )
    conf = next((d for d in confirmation.documents if d.kind == "confirmation"), None)
    if conf is None:
        raise PermanentError(f"report {original}: its acknowledgement holds no confirmation number to cancel")
    params = {"CONFIRMATION": conf.number, "CONFIRMATIONCOUNTER": conf.counter, "POSTG_DATE": posting_date, "CONF_TEXT": text}
    calls.append(
        _call(f"{original}/cancel-confirmation", "cancel_confirmation", "BAPI_PRODORDCONF_CANCEL", params,
              f"{conf.number}/{conf.counter}", confirmation=conf.number, counter=conf.counter)
    )
    return calls
