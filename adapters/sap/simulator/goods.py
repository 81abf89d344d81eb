"""BAPI_GOODSMVT_CREATE / _GETITEMS / _CANCEL and BAPI_PRODORD_GET_LIST against the state.

One call of GOODSMVT_CREATE is one committed material document (unless TESTRUN=X), as a
site's committing wrapper does it.
"""

from __future__ import annotations

from typing import Any

from adapters.sap.simulator.context import LOCK_USER, CallContext, quantity, today_iso
from adapters.sap.simulator.messages import Message, message
from adapters.sap.simulator.ranges import in_ranges
from adapters.sap.simulator.state import (
    MOVEMENTS,
    REVERSAL,
    Deficit,
    GoodsLine,
    MaterialDocument,
    alpha_material,
    alpha_order,
)

__all__ = ["GM_CODES", "check_lines", "goods_line", "item_show", "lock_message", "movement_refused"]

# GM_CODE -> movement types this simulator accepts with it (T158G / reference §8.4)
GM_CODES: dict[str, frozenset[str]] = {
    "02": frozenset({"101"}),
    "03": frozenset({"261", "201", "551"}),
    "04": frozenset({"311", "343", "344"}),
    "05": frozenset({"501"}),
}


def goods_line(row: dict[str, str]) -> GoodsLine:
    """A BAPI2017_GM_ITEM_CREATE line as the state posts it."""
    return GoodsLine(
        material=alpha_material(row.get("MATERIAL", "")), plant=row.get("PLANT", ""),
        move_type=row.get("MOVE_TYPE", ""), quantity=quantity(row.get("ENTRY_QNT", "")),
        unit=row.get("ENTRY_UOM", ""), stge_loc=row.get("STGE_LOC", ""), batch=row.get("BATCH", "").upper(),
        order=alpha_order(row["ORDERID"]) if row.get("ORDERID") else "", stock_type=row.get("STCK_TYPE", ""),
        move_material=alpha_material(row["MOVE_MAT"]) if row.get("MOVE_MAT") else "",
        move_plant=row.get("MOVE_PLANT", ""), move_stge_loc=row.get("MOVE_STLOC", ""),
        move_batch=row.get("MOVE_BATCH", "").upper(), item_text=row.get("ITEM_TEXT", ""),
    )


def movement_refused(line: GoodsLine, allowed: frozenset[str] | None, row: int) -> Message | None:
    """E M7 096 for a movement type the simulator (or this GM_CODE) does not post."""
    if line.move_type not in MOVEMENTS or (allowed is not None and line.move_type not in allowed):
        return message("E", "M7", "096", "Goods movement not possible with mvmt type &1", line.move_type,
                       PARAMETER="GOODSMVT_ITEM", ROW=str(row))
    if not line.material or not line.plant:
        return message("E", "ZSIM", "012", "Material and plant are required in item &1", str(row),
                       PARAMETER="GOODSMVT_ITEM", ROW=str(row))
    return None


def check_lines(ctx: CallContext, lines: list[GoodsLine]) -> Message | None:
    """E M7 021 when the lines leave a batch short (nothing changes)."""
    try:
        ctx.state.check_goods(lines)
    except Deficit as deficit:
        material, plant, batch, category = deficit.key
        stock = "BA " + {"U": "Unrestricted-use", "B": "Blocked stock", "R": "Restricted-use"}[category]
        return message("E", "M7", "021", "Deficit of &1 &2 : &3 &4", stock,
                       f"{deficit.missing.normalize():f} {deficit.line.unit}".strip(), material, f"{plant} {batch}")
    return None


def lock_message(ctx: CallContext, lines: list[GoodsLine]) -> Message:
    material = lines[0].material if lines else ""
    return message("E", "M3", "024", "Plant data of material &1 is locked by user &2", material, LOCK_USER)


def goodsmvt_create(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    header = params.get("GOODSMVT_HEADER", {})
    code = params.get("GOODSMVT_CODE", {}).get("GM_CODE", "")
    rows = params.get("GOODSMVT_ITEM", [])
    posting_date = header.get("PSTNG_DATE", "")

    def refused(line: Message) -> dict[str, Any]:
        return {"RETURN": [line]}

    if not posting_date or posting_date == "0000-00-00":
        return refused(message("E", "M7", "018", "Enter a posting date (PSTNG_DATE)", PARAMETER="GOODSMVT_HEADER"))
    if code not in GM_CODES:
        return refused(message("E", "ZSIM", "010", "GM_CODE &1 is not supported", code, PARAMETER="GOODSMVT_CODE"))
    if not rows:
        return refused(message("E", "M7", "097", "No items transferred", PARAMETER="GOODSMVT_ITEM"))
    lines = [goods_line(row) for row in rows]
    for n, line in enumerate(lines, start=1):
        problem = movement_refused(line, GM_CODES[code], n)
        if problem:
            return refused(problem)
    closed = ctx.settings.period_closed(posting_date)
    if closed:
        return refused(closed)
    orders = {line.order for line in lines if line.order}
    with ctx.state.order_locks(orders) as busy:
        if busy or ctx.lock_drawn:
            return refused(lock_message(ctx, lines))
        ctx.pause()
        with ctx.state.lock:
            problem = check_lines(ctx, lines)
            if problem:
                return refused(problem)
            if params.get("TESTRUN") == "X":
                return {"RETURN": []}
            document = ctx.state.post_goods(
                lines, posting_date=posting_date, header_text=header.get("HEADER_TXT", ""),
                username=header.get("PR_UNAME") or ctx.user, ref_doc_no=header.get("REF_DOC_NO", ""),
            )
    return {"GOODSMVT_HEADRET": {"MAT_DOC": document.number, "DOC_YEAR": document.year},
            "MATERIALDOCUMENT": document.number, "MATDOCUMENTYEAR": document.year,
            "RETURN": [message("S", "M7", "060", "Document &1 posted", document.number)]}


def item_show(document: MaterialDocument) -> list[dict[str, str]]:
    """The document's items as BAPI2017_GM_ITEM_SHOW lines."""
    return [{"MAT_DOC": document.number, "DOC_YEAR": document.year, "MATDOC_ITM": f"{n:04d}",
             "MATERIAL": line.material, "PLANT": line.plant, "STGE_LOC": line.stge_loc, "BATCH": line.batch,
             "MOVE_TYPE": line.move_type, "ENTRY_QNT": f"{line.quantity:.3f}", "ENTRY_UOM": line.unit,
             "ORDERID": line.order, "X_AUTO_CRE": "X" if line.automatic else ""}
            for n, line in enumerate(document.items, start=1)]


def goodsmvt_getitems(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    headers: list[dict[str, str]] = []
    items: list[dict[str, str]] = []
    for document in ctx.state.material_documents():
        matching = [
            item for item in item_show(document)
            if in_ranges(item["MATERIAL"], params.get("MATERIAL_RA"), alpha_material)
            and in_ranges(item["BATCH"], params.get("BATCH_RA"), str.upper)
            and in_ranges(item["MOVE_TYPE"], params.get("MOVE_TYPE_RA"))
            and in_ranges(document.posting_date, params.get("PSTNG_DATE_RA"))
        ]
        if matching:
            headers.append({"MAT_DOC": document.number, "DOC_YEAR": document.year,
                            "PSTNG_DATE": document.posting_date, "HEADER_TXT": document.header_text,
                            "USERNAME": document.username, "REF_DOC_NO": document.ref_doc_no})
            items.extend(matching)
    if not headers:
        return {"RETURN": [message("I", "ZSIM", "042", "No material documents found for the selection")]}
    return {"GOODSMVT_HEADER": headers, "GOODSMVT_ITEMS": items, "RETURN": []}


def reverse_document(ctx: CallContext, document: MaterialDocument, posting_date: str,
                     ) -> tuple[MaterialDocument | None, Message | None]:
    """Post the reversal of ``document`` (262 for 261, 102 for 101, ...); the caller holds the lock."""
    if document.reversed_by or document.reversal_of:
        word = "has already been cancelled" if document.reversed_by else "is itself a reversal"
        return None, message("E", "ZSIM", "040", f"Material document &1 &2 {word}", document.number, document.year)
    lines = [GoodsLine(**{**vars(line), "move_type": REVERSAL[line.move_type]}) for line in document.items]
    problem = check_lines(ctx, lines)
    if problem:
        return None, problem
    reversal = ctx.state.post_goods(lines, posting_date=posting_date, header_text=document.header_text,
                                    username=ctx.user, reversal_of=document.key)
    document.reversed_by = reversal.key
    return reversal, None


def goodsmvt_cancel(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    number, year = params["MATERIALDOCUMENT"], params["MATDOCUMENTYEAR"]
    posting_date = params.get("GOODSMVT_PSTNG_DATE") or today_iso()
    if posting_date == "0000-00-00":
        posting_date = today_iso()
    document = ctx.state.documents.get((number, year))
    if document is None:
        return {"RETURN": [message("E", "ZSIM", "041", "Material document &1 &2 does not exist", number, year)]}
    closed = ctx.settings.period_closed(posting_date)
    if closed:
        return {"RETURN": [closed]}
    orders = {line.order for line in document.items if line.order}
    with ctx.state.order_locks(orders) as busy:
        if busy or ctx.lock_drawn:
            return {"RETURN": [lock_message(ctx, document.items)]}
        ctx.pause()
        with ctx.state.lock:
            reversal, problem = reverse_document(ctx, document, posting_date)
    if problem or reversal is None:
        return {"RETURN": [problem]}
    return {"GOODSMVT_HEADRET": {"MAT_DOC": reversal.number, "DOC_YEAR": reversal.year},
            "RETURN": [message("S", "M7", "060", "Document &1 posted", reversal.number)]}


def prodord_get_list(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.state.lock:
        orders = [o for o in ctx.state.orders.values()
                  if in_ranges(o.number, params.get("ORDER_NUMBER_RANGE"), alpha_order)]
        rows = [{"ORDER_NUMBER": o.number, "MATERIAL": o.material, "PRODUCTION_PLANT": o.plant,
                 "TARGET_QUANTITY": f"{o.quantity:.3f}", "UNIT": o.unit,
                 "CONFIRMED_QUANTITY": f"{o.confirmed_yield:.3f}", "SCRAP": f"{o.confirmed_scrap:.3f}",
                 "SYSTEM_STATUS": o.status_text} for o in orders]
    if not rows:
        return {"RETURN": {**message("I", "ZSIM", "043", "No production orders found for the selection")}}
    return {"ORDER_HEADER": rows, "RETURN": {}}
