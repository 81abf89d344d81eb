"""Production orders (生产订单): ``/yonbip/mfg/productionorder/list``, ``/detail``, ``/save``, ``/audit``.

An order is kept as the detail API returns it: the header, ``orderProduct`` lines (material,
``quantity``, ``completedQuantity``, ``incomingQuantity`` (stocked in), ``startDate``,
``finishDate``) and under each line its ``orderMaterial`` (components: ``recipientQuantity`` to
issue, ``receivedQuantity`` issued). The list returns one row per order line, the header's fields
beside the line's as ``OrderProduct_<field>`` and its id as ``orderProduct_id`` (as the real list
does), the components as ``orderMaterial`` when ``isShowMaterial`` is set; rows come by
``pubts``, order id and line number. save takes the 简版 body (``data`` with ``orderProduct``
lines); ``"_status": "Update"`` and the order's ``id`` (or ``code``) change an order that is not
audited yet, lines by their ``id`` (``"_status": "Delete"`` removes one).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

from adapters.yonyou.simulator.query import list_data, select
from adapters.yonyou.simulator.state import CREATOR, TENANT, ApiReply, ApiRequest, SimState, number, ok
from adapters.yonyou.simulator.times import epoch_ms, to_text

__all__ = ["audit_order", "build_order", "list_orders", "material_line", "order_detail", "order_line", "order_rows",
           "ref_id", "save_order"]

_NESTED = ("orderMaterial", "orderByProduct", "orderProcess", "orderActivity")
_SHOW = {"orderMaterial": "isShowMaterial", "orderByProduct": "isShowByProduct", "orderProcess": "isShowProcess",
         "orderActivity": "isShowActivity"}
RENAMES = {"orderProduct.productId.code": ("OrderProduct_materialCode", "in")}
_SKIP = ("_status", "resubmitCheckKey", "orderProduct")


def ref_id(code: str) -> str:
    """A stable 16-digit id for a reference the client names only by code (organisation, department)."""
    return str(1_800_000_000_000_000 + int(hashlib.sha1(code.encode()).hexdigest()[:12], 16) % 10**14)


def _material_fields(state: SimState, row: Mapping[str, Any], where: str) -> tuple[dict[str, Any] | None, str | None]:
    given = next((row[k] for k in ("materialId", "materialCode", "productId", "productCode") if row.get(k) not in (None, "")), None)
    if given is None:
        return None, f"{where}materialId和materialCode不能同时为空"
    material = state.material(given)
    if material is None:
        return None, f"{where}materialCode：物料[{given}]不存在"
    return {"materialId": material["id"], "materialCode": material["code"], "materialName": material["name"],
            "productId": material["id"], "skuId": material["skuId"], "skuCode": material["code"],
            "skuName": material["name"], "mainUnit": material["unitId"], "mainUnitName": material["unitName"],
            "isBatchManage": material["isBatchManage"], "isExpiryDateManage": material["isExpiryDateManage"]}, None


def _component(state: SimState, order_line: dict[str, Any], row: Mapping[str, Any], n: int,
               old: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    fields, problem = _material_fields(state, row, f"orderMaterial第{n}行") if old is None or any(
        k in row for k in ("materialId", "materialCode")) else ({}, None)
    if problem:
        return None, problem
    given = number(row.get("recipientQuantity", 0 if old is None else old["recipientQuantity"]))
    if given is None:
        return None, f"orderMaterial第{n}行recipientQuantity：[{row.get('recipientQuantity')}]不是有效的数字"
    line = old or {"id": state.store.new_id(), "lineNo": n * 10, "receivedQuantity": 0, "auxiliaryReceivedQuantity": 0,
                   "supplyType": "0", "changeRate": 1}
    line.update({k: v for k, v in row.items() if k not in ("_status", "id")}, **(fields or {}))
    line.update(orderProductId=order_line["id"], recipientQuantity=given, auxiliaryRecipientQuantity=given,
                stockUnitId=line.get("mainUnit"), stockUnitName=line.get("mainUnitName"), orgId=order_line.get("orgId"),
                requirementDate=to_text(line.get("requirementDate")) or order_line["startDate"])
    return line, None


def _line(state: SimState, header: dict[str, Any], row: Mapping[str, Any], n: int,
          old: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    where = f"orderProduct第{n}行"
    fields, problem = _material_fields(state, row, where) if old is None or any(
        k in row for k in ("materialId", "materialCode", "productId", "productCode")) else ({}, None)
    if problem:
        return None, problem
    quantity = number(row.get("quantity", old["quantity"] if old else None))
    if quantity is None or quantity <= 0:
        return None, f"{where}quantity：[{row.get('quantity')}]不是有效的数量"
    line = old or {"id": state.store.new_id(), "completedQuantity": 0, "incomingQuantity": 0, "changeRate": 1,
                   "materialApplyFlag": False, "completedFlag": False, "materialApplyStatus": 0, "materialStatus": 0,
                   "finishedWorkApplyStatus": 0, "stockStatus": 0, "retMaterialApplyFlag": 0, "orderMaterial": []}
    line.update({k: v for k, v in row.items() if k not in ("_status", "id", *_NESTED)}, **(fields or {}))
    line.update(orderId=header["id"], quantity=quantity, auxiliaryQuantity=quantity, mrpQuantity=quantity,
                productionUnitId=line["mainUnit"], productUnitName=line["mainUnitName"], orgId=header["orgId"],
                startDate=to_text(line.get("startDate")) or state.today(),
                finishDate=to_text(line.get("finishDate")) or state.today())
    components = {c["id"]: c for c in line["orderMaterial"]}
    for index, given in enumerate(row.get("orderMaterial") or [], 1):
        old_component = components.get(_int(given.get("id")))
        if str(given.get("_status")) == "Delete" and old_component is not None:
            del components[old_component["id"]]
            continue
        component, problem = _component(state, line, given, index, old_component)
        if problem or component is None:
            return None, problem
        components[component["id"]] = component
    line["orderMaterial"] = sorted(components.values(), key=lambda c: c["lineNo"])
    return line, None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def build_order(state: SimState, data: Mapping[str, Any], old: dict[str, Any] | None = None,
                *, status: int = 0) -> tuple[dict[str, Any] | None, str | None]:
    """An order from the save API's ``data`` (or a seed), merged into ``old`` when it is an update;
    or the reason it is refused (naming the field)."""
    doc = copy.deepcopy(old) if old else {
        "id": state.store.new_id(), "status": status, "verifystate": 2 if status in (1, 5) else 0,
        "isWfControlled": False, "isHold": False, "returncount": 0, "creator": CREATOR, "creatorId": 2400000000000002,
        "createTime": state.now(), "createDate": state.today(), "tenant": TENANT, "orderProduct": []}
    doc.update({k: v for k, v in data.items() if k not in _SKIP and not (k == "code" and v in (None, ""))})
    for key, name in (("org", "工厂"), ("transType", "交易类型")):
        code = doc.get(f"{key}Code") or ""
        if not doc.get(f"{key}Id") and not code:
            return None, f"{key}Id和{key}Code不能同时为空（{name}）"
        doc[f"{key}Id"] = str(doc.get(f"{key}Id") or ref_id(code))
    doc.setdefault("orgName", doc.get("orgCode") or doc["orgId"])
    doc.setdefault("transTypeCode", "PO-001")
    doc.setdefault("transTypeName", "标准生产")
    dept = doc.get("productionDepartmentCode") or ""
    doc["productionDepartmentId"] = str(doc.get("productionDepartmentId") or (ref_id(dept) if dept else ""))
    doc.setdefault("departmentName", dept)
    doc["vouchdate"] = to_text(doc.get("vouchdate")) or state.today()
    if not doc.get("code"):
        doc["code"] = state.new_code("SCDD")
    lines = {line["id"]: line for line in doc["orderProduct"]}
    for n, row in enumerate(data.get("orderProduct") or [], 1):
        old_line = lines.get(_int(row.get("id"))) if isinstance(row, Mapping) else None
        if not isinstance(row, Mapping):
            return None, f"orderProduct第{n}行不是对象"
        if str(row.get("_status")) == "Delete" and old_line is not None:
            del lines[old_line["id"]]
            continue
        line, problem = _line(state, doc, row, n, old_line)
        if problem or line is None:
            return None, problem
        if old_line is None and "lineNo" not in row:
            line["lineNo"] = max((x["lineNo"] for x in lines.values()), default=0) + 10
        lines[line["id"]] = line
    if not lines:
        return None, "orderProduct不能为空"
    doc["orderProduct"] = sorted(lines.values(), key=lambda x: x["lineNo"])
    stamp = state.stamp(doc)
    for line in doc["orderProduct"]:
        line["pubts"] = stamp
        for component in line["orderMaterial"]:
            component["pubts"] = stamp
    return doc, None


def order_line(state: SimState, line_id: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The order and its line of that id."""
    wanted = _int(line_id)
    for order in state.store.all("productionorder"):
        for line in order["orderProduct"]:
            if line["id"] == wanted:
                return order, line
    return None


def material_line(state: SimState, component_id: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The order and its component (orderMaterial) line of that id."""
    wanted = _int(component_id)
    for order in state.store.all("productionorder"):
        for line in order["orderProduct"]:
            for component in line["orderMaterial"]:
                if component["id"] == wanted:
                    return order, component
    return None


def order_rows(doc: Mapping[str, Any], shown: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The list rows of one order: one per line."""
    header = {k: v for k, v in doc.items() if k != "orderProduct"}
    rows = []
    for line in doc["orderProduct"]:
        row = dict(header)
        row.update({f"OrderProduct_{k}": v for k, v in line.items() if k not in ("id", *_NESTED)})
        row["orderProduct_id"] = line["id"]
        row.update({name: copy.deepcopy(line[name]) for name in _NESTED if name in shown and line.get(name)})
        rows.append(row)
    return rows


def list_orders(state: SimState, request: ApiRequest) -> ApiReply:
    body = request.body if isinstance(request.body, Mapping) else {}
    shown = frozenset(name for name, flag in _SHOW.items() if body.get(flag) in (True, 1, "1", "true"))
    orders = sorted(state.store.all("productionorder"), key=lambda d: (d["pubts"], d["id"]))
    rows = [row for doc in orders for row in order_rows(doc, shown)]
    return ApiReply(ok(list_data(select(rows, body, RENAMES), body, state.now())))


def order_detail(state: SimState, request: ApiRequest) -> ApiReply:
    doc = state.store.get("productionorder", request.params.get("id"))
    return ApiReply(ok(copy.deepcopy(doc), code=200) if doc else {"code": "1002", "message": "数据不存在"})


def _echo(doc: Mapping[str, Any]) -> dict[str, Any]:
    # the save reply echoes times as epoch milliseconds (official sample), the detail as text
    echoed = copy.deepcopy(dict(doc))
    for name in ("vouchdate", "createTime", "createDate", "pubts"):
        echoed[name] = epoch_ms(echoed.get(name))
    for line in echoed["orderProduct"]:
        for name in ("startDate", "finishDate", "pubts"):
            line[name] = epoch_ms(line.get(name))
        for component in line["orderMaterial"]:
            component["requirementDate"], component["pubts"] = epoch_ms(component.get("requirementDate")), epoch_ms(component.get("pubts"))
    echoed["yTenantId"] = "sim0tnt1"
    return echoed


def save_order(state: SimState, request: ApiRequest) -> ApiReply:
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    if not isinstance(data, Mapping):
        return ApiReply({"code": "999", "message": "data不能为空"})
    old, problem = None, None
    if str(data.get("_status")) == "Update":
        old = state.find("productionorder", data)
        if old is None:
            problem = f"id：生产订单[{data.get('id') or data.get('code')}]不存在"
        elif old["status"] != 0:
            problem = f"生产订单[{old['code']}]已审核，不能修改"
    doc = None
    if problem is None:
        doc, problem = build_order(state, data, old)
    if doc is None:
        failed = {"sucessCount": 0, "failCount": 1, "count": 1, "messages": [{"rowNum": "1", "message": problem}],
                  "infos": [{"code": 999, "rowNum": 1, "message": problem}]}
        return ApiReply(ok(failed))
    state.store.put("productionorder", doc)
    counts = {"sucessCount": 0, "failCount": 1} if state.contradict_counts else {"sucessCount": 1, "failCount": 0}
    saved = {**counts, "count": 1, "messages": [{"rowNum": "1", "message": "操作成功"}],
             "infos": [{"code": 200, "rowNum": 1, "message": "操作成功", "data": _echo(doc)}]}
    return ApiReply(ok(saved), committed=True, document_id=doc["id"])


def audit_order(state: SimState, request: ApiRequest) -> ApiReply:
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    doc = state.find("productionorder", data) if isinstance(data, Mapping) else None
    if doc is None:
        return ApiReply({"code": "1002", "message": "数据不存在"})
    if doc["status"] != 0:
        return ApiReply({"code": "999", "message": f"生产订单[{doc['code']}]已审核，不能重复审核"})
    now = state.now()
    doc.update(status=1, verifystate=2, auditor=CREATOR, auditorId=2400000000000002, auditTime=now, auditDate=now[:10] + " 00:00:00")
    state.stamp(doc)
    state.store.put("productionorder", doc)
    keys = ("verifystate", "code", "isWfControlled", "auditor", "auditorId", "auditTime", "transTypeId", "id", "pubts",
            "tenant", "status", "auditDate")
    return ApiReply(ok({k: doc.get(k) for k in keys}, code=200), committed=True, document_id=doc["id"])
