"""BAPI_PRODORDCONF_CREATE_TT / _GETLIST / _GETDETAIL / _CANCEL against the state.

One CREATE_TT call is one LUW: when any time ticket fails, nothing of the call is posted and
every line says why (the failing ones with their error, the others that they were not posted).
Backflush: a time ticket without any LINK_CONF_GOODSMOV line gets the standard logic, i.e.
the components the LOIPRO seed assigns to its operation are issued (261) in proportion to
yield + scrap, and a confirmation of the order's last operation receives the yield (101) for
the order's material. A link with INDEX_GOODSMOV = 0 suppresses both for its time ticket;
links naming GOODSMOVEMENTS lines post exactly those lines with it. GOODSMOVEMENTS lines no
link names belong to the first time ticket. All goods lines of a call form one material
document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.sap.simulator.context import LOCK_USER, CallContext, quantity, today_iso
from adapters.sap.simulator.goods import check_lines, goods_line, item_show, reverse_document
from adapters.sap.simulator.messages import Message, is_error, message
from adapters.sap.simulator.ranges import in_ranges
from adapters.sap.simulator.state import (
    Confirmation,
    GoodsLine,
    MaterialDocument,
    Operation,
    Order,
    alpha_order,
)

__all__ = ["prodordconf_cancel", "prodordconf_create_tt", "prodordconf_getdetail", "prodordconf_getlist"]

_CONFIRMATION_MOVEMENTS = frozenset({"101", "102", "261", "262"})
_THOUSANDTH = Decimal("0.001")


@dataclass
class _Ticket:
    row: int
    values: dict[str, str]
    order: Order | None = None
    operation: Operation | None = None
    lines: list[GoodsLine] = field(default_factory=list)
    error: Message | None = None


def _resolve(ctx: CallContext, ticket: _Ticket) -> None:
    values = ticket.values
    if values.get("CONF_NO") and int(values["CONF_NO"]):
        found = ctx.state.operation_by_conf_no(values["CONF_NO"])
        if found is None:
            ticket.error = message("E", "ZSIM", "003", "Confirmation number &1 does not exist", values["CONF_NO"])
            return
        ticket.order, ticket.operation = found
    elif values.get("ORDERID") and values.get("OPERATION"):
        number = alpha_order(values["ORDERID"])
        ticket.order = ctx.state.orders.get(number)
        if ticket.order is None:
            ticket.error = message("E", "ZSIM", "001", "Order &1 does not exist", number)
            return
        ticket.operation = ticket.order.operations.get(values["OPERATION"].zfill(4))
        if ticket.operation is None:
            ticket.error = message("E", "ZSIM", "003", "Operation &2 does not exist in order &1", number,
                                   values["OPERATION"])
            return
    else:
        ticket.error = message("E", "ZSIM", "005", "Enter CONF_NO or ORDERID and OPERATION")
        return
    if not ticket.order.released:
        ticket.error = message("E", "ZSIM", "002", "Order &1 is not released (status &2)", ticket.order.number,
                               ticket.order.status_text)
    elif quantity(values.get("YIELD", "")) < 0 or quantity(values.get("SCRAP", "")) < 0:
        ticket.error = message("E", "ZSIM", "006", "Yield and scrap must not be negative")
    else:
        ticket.error = ctx.settings.period_closed(values.get("POSTG_DATE") or today_iso())


def _backflush(ticket: _Ticket) -> list[GoodsLine]:
    order, operation = ticket.order, ticket.operation
    assert order is not None
    assert operation is not None
    done = quantity(ticket.values.get("YIELD", "")) + quantity(ticket.values.get("SCRAP", ""))
    factor = done / order.quantity if order.quantity else Decimal("0")
    lines = [GoodsLine(material=c.material, plant=c.plant, stge_loc=c.stge_loc, batch=c.batch, move_type="261",
                       quantity=(c.quantity * factor).quantize(_THOUSANDTH), unit=c.unit, order=order.number)
             for c in order.components if c.operation == operation.number and c.material and done > 0]
    last = max(order.operations) if order.operations else ""
    good = quantity(ticket.values.get("YIELD", ""))
    if operation.number == last and order.material and good > 0:
        lines.append(GoodsLine(material=order.material, plant=order.plant, stge_loc=order.stge_loc,
                               move_type="101", quantity=good, unit=order.unit, order=order.number))
    return lines


def _assign_goods(tickets: list[_Ticket], params: dict[str, Any]) -> Message | None:
    rows = params.get("GOODSMOVEMENTS", [])
    links = params.get("LINK_CONF_GOODSMOV", [])
    goods = [goods_line(row) for row in rows]
    for n, line in enumerate(goods, start=1):
        if line.move_type not in _CONFIRMATION_MOVEMENTS:
            return message("E", "M7", "096", "Goods movement not possible with mvmt type &1", line.move_type,
                           PARAMETER="GOODSMOVEMENTS", ROW=str(n))
    linked: set[int] = set()
    for link in links:
        confirm, move = int(link.get("INDEX_CONFIRM") or 0), int(link.get("INDEX_GOODSMOV") or 0)
        if not 1 <= confirm <= len(tickets) or not 0 <= move <= len(goods):
            return message("E", "ZSIM", "007", "LINK_CONF_GOODSMOV line &1/&2 points to no line", str(confirm),
                           str(move), PARAMETER="LINK_CONF_GOODSMOV")
        if move:
            tickets[confirm - 1].lines.append(goods[move - 1])
            linked.add(move)
    with_links = {int(link.get("INDEX_CONFIRM") or 0) for link in links}
    for ticket in tickets:
        if ticket.row not in with_links and ticket.error is None:
            ticket.lines.extend(_backflush(ticket))
    tickets[0].lines.extend(line for n, line in enumerate(goods, start=1) if n not in linked)
    return None


def _not_posted(ticket: _Ticket) -> Message:
    return message("E", "ZSIM", "009", "Time ticket &1 not posted: another line of this call has errors",
                   str(ticket.row))


def _post(ctx: CallContext, tickets: list[_Ticket]) -> list[Message]:
    lines = [line for ticket in tickets for line in ticket.lines]
    document = None
    if lines:
        document = ctx.state.post_goods(lines, posting_date=tickets[0].values.get("POSTG_DATE") or today_iso(),
                                        username=ctx.user)
    results, offset = [], 0
    for ticket in tickets:
        order, operation, values = ticket.order, ticket.operation, ticket.values
        assert order is not None
        assert operation is not None
        confirmation = Confirmation(
            conf_no=operation.conf_no, counter=ctx.state.next_counter(operation.conf_no), order=order.number,
            operation=operation.number, sequence=operation.sequence, yield_=quantity(values.get("YIELD", "")),
            scrap=quantity(values.get("SCRAP", "")), unit=values.get("CONF_QUAN_UNIT") or order.unit,
            posting_date=values.get("POSTG_DATE") or today_iso(), text=values.get("CONF_TEXT", ""),
            ex_ident=values.get("EX_IDENT", ""), final=values.get("FIN_CONF", ""), pers_no=values.get("PERS_NO", ""),
            material_document=document.key if document and ticket.lines else None,
            document_items=tuple(range(offset, offset + len(ticket.lines))),
        )
        offset += len(ticket.lines)
        ctx.state.add_confirmation(confirmation)
        order.confirmed_yield += confirmation.yield_
        order.confirmed_scrap += confirmation.scrap
        results.append(message("I", "RU", "100", "Confirmation of order &1 saved", order.number, ROW=str(ticket.row),
                               CONF_NO=confirmation.conf_no, CONF_CNT=confirmation.counter))
    if document is not None:
        document.confirmation = (results[0]["CONF_NO"], results[0]["CONF_CNT"])
    return results


def prodordconf_create_tt(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tickets = [_Ticket(n, values) for n, values in enumerate(params["TIMETICKETS"], start=1)]
    if not tickets:
        return {"RETURN": message("E", "ZSIM", "008", "No time tickets transferred")}
    with ctx.state.lock:
        for ticket in tickets:
            _resolve(ctx, ticket)
        problem = _assign_goods(tickets, params)
    if problem is not None:
        return {"RETURN": problem, "DETAIL_RETURN": [{**problem, "ROW": str(t.row)} for t in tickets]}
    orders = {t.order.number for t in tickets if t.order} | {g.order for t in tickets for g in t.lines if g.order}
    with ctx.state.order_locks(orders) as busy:
        if (busy or ctx.lock_drawn) and not any(t.error for t in tickets):
            for ticket in tickets:
                number = busy or (ticket.order.number if ticket.order else "")
                ticket.error = message("E", "ZSIM", "004", "Order &1 is locked by user &2", number, LOCK_USER,
                                       FLG_LOCKED="X")
        if not any(t.error for t in tickets):
            ctx.pause()
        with ctx.state.lock:
            for ticket in tickets:
                if ticket.error is None:
                    ticket.error = check_lines(ctx, ticket.lines)
            if any(t.error for t in tickets):
                return {"DETAIL_RETURN": [{**(t.error or _not_posted(t)), "ROW": str(t.row)} for t in tickets]}
            if params.get("TESTRUN") == "X":
                return {"DETAIL_RETURN": [message("S", "ZSIM", "011", "Test run: confirmation of order &1 is possible",
                                                  t.order.number if t.order else "", ROW=str(t.row))
                                          for t in tickets]}
            return {"DETAIL_RETURN": _post(ctx, tickets)}


def _conf_key(confirmation: Confirmation) -> dict[str, str]:
    return {"CONF_NO": confirmation.conf_no, "CONF_CNT": confirmation.counter, "ORDERID": confirmation.order,
            "SEQUENCE": confirmation.sequence, "OPERATION": confirmation.operation, "FIN_CONF": confirmation.final,
            "REVERSED": "X" if confirmation.reversed else "", "REV_CONF_CNT": confirmation.reversal_of,
            "CONF_TEXT": confirmation.text, "POSTG_DATE": confirmation.posting_date,
            "EX_IDENT": confirmation.ex_ident}


def prodordconf_getlist(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = [_conf_key(c) for c in ctx.state.confirmations()
            if in_ranges(c.order, params.get("ORDER_RANGE"), alpha_order)
            and in_ranges(c.conf_no, params.get("CONF_RANGE"), lambda v: v.zfill(10))]
    if not rows:
        return {"RETURN": message("I", "ZSIM", "020", "No confirmations found for the selection")}
    return {"CONFIRMATIONS": rows, "RETURN": {}}


def _find(ctx: CallContext, conf_no: str, counter: str) -> tuple[Confirmation | None, Message | None]:
    key = (conf_no.zfill(10), counter.zfill(8))
    confirmation = ctx.state.confirmation_records.get(key)
    if confirmation is None:
        return None, message("E", "ZSIM", "021", "Confirmation &1 counter &2 does not exist", *key)
    return confirmation, None


def _document_lines(ctx: CallContext, confirmation: Confirmation) -> list[dict[str, str]]:
    if confirmation.material_document is None:
        return []
    rows = item_show(ctx.state.documents[confirmation.material_document])
    return [rows[i] for i in confirmation.document_items]


def prodordconf_getdetail(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.state.lock:
        confirmation, problem = _find(ctx, params["CONFIRMATION"], params["CONFIRMATIONCOUNTER"])
        if confirmation is None:
            return {"RETURN": problem}
        detail = {**_conf_key(confirmation), "CONF_QUAN_UNIT": confirmation.unit,
                  "YIELD": f"{confirmation.yield_:.3f}", "SCRAP": f"{confirmation.scrap:.3f}",
                  "PERS_NO": confirmation.pers_no}
        return {"CONF_DETAIL": detail, "RETURN": {}, "GOODSMOVEMENTS": _document_lines(ctx, confirmation)}


def _cancel_goods(ctx: CallContext, original: Confirmation, posting_date: str) -> tuple[tuple[str, str] | None,
                                                                                          Message | None]:
    if original.material_document is None:
        return None, None
    document = ctx.state.documents[original.material_document]
    if document.reversed_by:
        return None, None  # already reversed on its own (BAPI_GOODSMVT_CANCEL)
    if len(original.document_items) != len(document.items):  # only this confirmation's part of the document
        document = MaterialDocument(number=document.number, year=document.year, posting_date=document.posting_date,
                                    header_text=document.header_text,
                                    items=[document.items[i] for i in original.document_items])
    reversal, problem = reverse_document(ctx, document, posting_date)
    return (reversal.key if reversal else None), problem


def prodordconf_cancel(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    posting_date = params.get("POSTG_DATE") or today_iso()
    if posting_date == "0000-00-00":
        posting_date = today_iso()
    with ctx.state.lock:
        original, problem = _find(ctx, params["CONFIRMATION"], params["CONFIRMATIONCOUNTER"])
    if original is None:
        return {"RETURN": problem}
    with ctx.state.order_locks({original.order}) as busy:
        if busy or ctx.lock_drawn:
            return {"RETURN": message("E", "ZSIM", "004", "Order &1 is locked by user &2", original.order, LOCK_USER),
                    "LOCKED": "X"}
        ctx.pause()
        with ctx.state.lock:
            if original.reversed or original.reversal_of:
                word = "has already been cancelled" if original.reversed else "is a cancellation itself"
                return {"RETURN": message("E", "ZSIM", "022", f"Confirmation &1/&2 {word}", *original.key)}
            reversal_doc: tuple[str, str] | None = None
            problem = ctx.settings.period_closed(posting_date)
            if problem is None:
                reversal_doc, problem = _cancel_goods(ctx, original, posting_date)
            if problem is not None and is_error(problem):
                return {"RETURN": problem}
            cancellation = Confirmation(
                conf_no=original.conf_no, counter=ctx.state.next_counter(original.conf_no), order=original.order,
                operation=original.operation, sequence=original.sequence, yield_=original.yield_,
                scrap=original.scrap, unit=original.unit, posting_date=posting_date,
                text=params.get("CONF_TEXT") or original.text, reversal_of=original.counter,
                material_document=reversal_doc,
                document_items=tuple(range(len(original.document_items))) if reversal_doc else (),
            )
            ctx.state.add_confirmation(cancellation)
            original.reversed = True
            order = ctx.state.orders[original.order]
            order.confirmed_yield -= original.yield_
            order.confirmed_scrap -= original.scrap
    return {"RETURN": message("S", "ZSIM", "030", "Confirmation &1/&2 cancelled", *original.key),
            "CREATED_CONF_NO": cancellation.conf_no, "CREATED_CONF_COUNT": cancellation.counter}
