"""How a write's line reaches the production order it reports on, and what it does to it.

A line names its source by ``sourceautoid`` (the source line's id: an order line for completion
reports and stock-ins, a completion report's line for a stock-in made from it (then the report
stays the stock-in's source, ``source`` ``po_finishedreport``, and its order line is counted), an order's
component (orderMaterial) line for a material issue), or by ``upcode`` (the order's code) with
the line's material picking the order line or component (refused when two of them have that
material: then ``sourceautoid`` is needed). The write API lines have no documented field for the
order line's number, so "order code + line number" comes as ``upcode`` + the line's material.

The effects: a completion report adds its ``quantity`` to the order line's ``completedQuantity``
(``OrderProduct_completedQuantity`` in the list), a stock-in its ``qty`` to ``incomingQuantity``,
a material issue its ``qty`` to the component's ``receivedQuantity``; each gives the order a new
``pubts``. The source order must be audited (status 1) or started (5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.yonyou.simulator.orders import material_line, order_line
from adapters.yonyou.simulator.state import SimState, number

__all__ = ["Link", "apply", "resolve"]

#: the quantity field of the order (line or component) each kind adds to
TARGET_FIELD = {"finishedreport": "completedQuantity", "storeprorecord": "incomingQuantity",
                "materialout": "receivedQuantity"}
_STATUS = {0: "未审核", 2: "已关闭", 3: "审核中", 4: "已锁定"}


@dataclass
class Link:
    """One write line's source: the order, and the line or component whose quantity it moves."""

    order: dict[str, Any]
    target: dict[str, Any]
    report: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None  # a stock-in's completion report, line

    def source_fields(self, kind: str) -> dict[str, Any]:
        if self.report is not None:  # the source the stock-in names stays its source
            report, line = self.report
            return {"source": "po_finishedreport", "sourceid": report["id"], "sourceautoid": line["id"],
                    "upcode": report["code"]}
        fields = {"source": "po_production_order", "sourceid": self.order["id"], "sourceautoid": self.target["id"],
                  "upcode": self.order["code"]}
        if kind == "finishedreport":
            fields.update(sourceType="4", makeRuleCode="productionOrderToFinishedReport")
        return fields


def _report_line(state: SimState, line_id: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    text = str(line_id)
    for report in state.store.all("finishedreport"):
        for line in report["finishedReportDetail"]:
            if str(line["id"]) == text:
                return report, line
    return None


def _by_code(state: SimState, kind: str, code: str, material_id: Any, where: str) -> tuple[Link | None, str | None]:
    order = next((o for o in state.store.all("productionorder") if o.get("code") == code), None)
    if order is None:
        return None, f"{where}upcode：生产订单[{code}]不存在"
    if kind == "materialout":
        candidates = [c for line in order["orderProduct"] for c in line["orderMaterial"]]
    else:
        candidates = list(order["orderProduct"])
    hits = [c for c in candidates if c.get("materialId") == material_id]
    if not hits:
        return None, f"{where}upcode：生产订单[{code}]没有该物料的{'材料' if kind == 'materialout' else '产品'}行"
    if len(hits) > 1:
        return None, f"{where}upcode：生产订单[{code}]有多行该物料，请传sourceautoid"
    return Link(order, hits[0]), None


def resolve(state: SimState, kind: str, row: Mapping[str, Any], material: Mapping[str, Any],
            where: str) -> tuple[Link | None, str | None]:
    """The source of one write line (None: it has none), or why it is refused."""
    source = row.get("sourceautoid")
    link: Link | None = None
    if source not in (None, "", 0, "0"):
        found = material_line(state, source) if kind == "materialout" else order_line(state, source)
        via = _report_line(state, source) if found is None and kind == "storeprorecord" else None
        if via is not None and via[1].get("source") == "po_production_order":
            found = order_line(state, via[1]["sourceautoid"])
        if found is None and via is not None:
            return None, None  # a report made without an order: nothing to count on
        if found is None:
            return None, f"{where}sourceautoid：来源单据行[{source}]不存在"
        link = Link(*found, report=via)
    elif row.get("upcode") not in (None, ""):
        link, problem = _by_code(state, kind, str(row["upcode"]), material["id"], where)
        if problem:
            return None, problem
    if link is None:
        return None, None
    status = link.order.get("status")
    if status not in (1, 5):
        return None, f"{where}来源生产订单[{link.order['code']}]{_STATUS.get(status, '状态不允许')}"
    if link.target.get("materialId") != material["id"]:
        return None, (f"{where}物料[{material['code']}]与来源生产订单[{link.order['code']}]行的物料"
                      f"[{link.target.get('materialCode')}]不一致")
    return link, None


def apply(state: SimState, kind: str, links: list[tuple[Link, Any]]) -> None:
    """Move each linked order's quantities by the lines' quantities; new ``pubts`` for each order."""
    field = TARGET_FIELD[kind]
    touched: dict[int, dict[str, Any]] = {}
    for link, quantity in links:
        total = Decimal(str(link.target.get(field) or 0)) + Decimal(str(quantity))
        link.target[field] = number(total)
        if kind == "materialout":
            link.target["auxiliaryReceivedQuantity"] = link.target[field]
        touched[link.order["id"]] = link.order
    for order in touched.values():
        stamp = state.stamp(order)
        for line in order["orderProduct"]:
            line["pubts"] = stamp
            for component in line["orderMaterial"]:
                component["pubts"] = stamp
        state.store.put("productionorder", order)
