"""SAP's IDoc endpoint (``/sap/bc/srt/idoc``): IDoc-XML received, stored, MBGMCR posted.

An MBGMCR goods movement posts as BAPI_GOODSMVT_CREATE would (status 53 when posted, 51 with
the error message when not); an ALEAUD01 audit IDoc updates the IDocs this system sent (41 when
the receiver reports its application document posted, 40 when not: WE02's view of them, kept in
``state.outbound_statuses``); any other IDoc is stored with status 64 (ready to be processed).
An IDoc whose ARCKEY (``urn:sap.com:msgid=...``) was received before is a duplicate: SAP's SOAP
IDoc service processes a message id once (message EA728), so it is acknowledged and not posted.
"""

from __future__ import annotations

from typing import Any

from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc, Segment
from adapters.sap.simulator.context import CallContext
from adapters.sap.simulator.goods import goodsmvt_create
from adapters.sap.simulator.messages import is_error

__all__ = ["receive_idocs"]

_HEAD_FIELDS = ("PSTNG_DATE", "DOC_DATE", "PR_UNAME", "HEADER_TXT", "REF_DOC_NO")
_ITEM_FIELDS = ("MATERIAL", "PLANT", "STGE_LOC", "BATCH", "MOVE_TYPE", "STCK_TYPE", "ENTRY_QNT", "ENTRY_UOM",
                "ITEM_TEXT", "ORDERID", "MVT_IND", "MOVE_MAT", "MOVE_PLANT", "MOVE_STLOC", "MOVE_BATCH")


def _iso(date: str) -> str:
    """IDoc dates are YYYYMMDD; the BAPI takes YYYY-MM-DD."""
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else date


def _segments(parent: Segment, segment_type: str) -> list[Segment]:
    found = parent.get(segment_type)
    return found if isinstance(found, list) else []


def _mbgmcr_params(idoc: IDoc) -> dict[str, Any]:
    top = next(iter(_segments(idoc.root, "E1MBGMCR")), idoc.root)
    head = next(iter(_segments(top, "E1BP2017_GM_HEAD_01")), Segment("E1BP2017_GM_HEAD_01"))
    code = next(iter(_segments(top, "E1BP2017_GM_CODE")), Segment("E1BP2017_GM_CODE"))
    header = {f: head.get(f, "") for f in _HEAD_FIELDS if head.get(f)}
    for date_field in ("PSTNG_DATE", "DOC_DATE"):
        if date_field in header:
            header[date_field] = _iso(header[date_field])
    items = [{f: item.get(f, "") for f in _ITEM_FIELDS if item.get(f)}
             for item in _segments(top, "E1BP2017_GM_ITEM_CREATE")]
    return {"GOODSMVT_HEADER": header, "GOODSMVT_CODE": {"GM_CODE": code.get("GM_CODE", "")},
            "GOODSMVT_ITEM": items}


#: What an audit confirmation makes of the IDoc SAP sent: 41 (application document created in the
#: target system) for an inbound success status, 40 (not created) for an error status.
_OUTBOUND_AFTER_AUDIT = {"S": "41", "E": "40"}


def _audit(ctx: CallContext, idoc: IDoc) -> list[dict[str, str]]:
    """ALEAUD01: each E1STATE updates the status of the IDoc this system sent (by DOCNUM)."""
    confirmed = []
    for header in _segments(idoc.root, "E1ADHDR"):
        for state in _segments(header, "E1STATE"):
            status = state.get("STATUS", "")
            kind = state.get("STATYP") or ("E" if status == "51" else "S")
            entry = {"docnum": state.get("DOCNUM", ""), "message_type": header.get("MESTYP_LNG") or header.get("MESTYP", ""),
                     "remote_status": status, "status": _OUTBOUND_AFTER_AUDIT.get(kind, "39"),
                     "text": state.get("STATXT", "") + "".join(state.get(f"STAPA{n}_LNG", "") for n in range(1, 5))}
            confirmed.append(entry)
            with ctx.state.lock:
                ctx.state.outbound_statuses.setdefault(entry["docnum"], []).append(entry)
    return confirmed


def receive_idocs(ctx: CallContext, body: bytes, max_bytes: int) -> list[dict[str, Any]]:
    """Decode, store and (for MBGMCR) post each IDoc of ``body``; the stored records.

    Raises:
        bridge.errors.DecodeError: the body is no IDoc (nothing is stored).
    """
    idocs = SapCodec().decode_idocs(body, origin="IDoc endpoint", max_bytes=max_bytes)
    records = []
    for idoc in idocs:
        arckey = idoc.control.get("ARCKEY", "")
        with ctx.state.lock:
            earlier = next((r for r in ctx.state.inbound_idocs if arckey and r.get("arckey") == arckey), None)
        if earlier is not None:
            records.append({**earlier, "duplicate": True})
            continue
        record: dict[str, Any] = {"docnum": idoc.docnum or "", "idoc_type": idoc.idoc_type,
                                  "message_type": idoc.control.get("MESTYP", ""), "status": "64", "messages": [],
                                  "arckey": arckey}
        if record["message_type"] == "ALEAUD" or idoc.idoc_type.startswith("ALEAUD"):
            record["status"], record["confirmed"] = "53", _audit(ctx, idoc)
        elif record["message_type"] == "MBGMCR" or idoc.idoc_type.startswith("MBGMCR"):
            outputs = goodsmvt_create(ctx, _mbgmcr_params(idoc))
            record["messages"] = outputs.get("RETURN", [])
            record["status"] = "51" if any(is_error(m) for m in record["messages"]) else "53"
            record["material_document"] = outputs.get("MATERIALDOCUMENT", "")
        with ctx.state.lock:
            ctx.state.inbound_idocs.append(record)
        records.append(record)
    return records
