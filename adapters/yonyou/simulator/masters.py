"""Materials and lots: ``/yonbip/digitalModel/product/listproductbycondition``,
``/yonbip/scm/batchno/report/list`` (and ``/report/listbatch``), ``/yonbip/scm/batchno/save``.

A lot is blocked by its ``stopstatus`` (true: 停用), the field the batch lists carry; batchno/save
with ``"_status": "Update"`` (the lot by ``id``, or by ``product`` + ``batchno``) changes it, its
dates and its ``define`` fields. A material that is not batch-managed takes no lots; an
expiry-managed one needs both dates ("效期管理的商品生产日期/有效期不能为空").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.yonyou.simulator.query import list_data, select
from adapters.yonyou.simulator.state import TENANT, ApiReply, ApiRequest, SimState, ok
from adapters.yonyou.simulator.times import to_text

__all__ = ["batch_problem", "find_batch", "list_batches", "list_products", "new_batch", "new_material", "save_batch"]

PRODUCT_RENAMES = {"productCode": ("code", "eq"), "productName": ("name", "like"), "beganTime": ("pubts", "egt"),
                   "endTime": ("pubts", "elt"), "erpCodeList": ("erpCode", "in"), "orgId": ("createOrgId", "eq")}
BATCH_RENAMES = {"freeKey": None}
_BATCH_FIELDS = ("producedate", "invaliddate", "firstStoredDate", "stopstatus", *(f"define{i}" for i in range(1, 31)))


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


def new_material(state: SimState, material: Mapping[str, Any]) -> dict[str, Any]:
    """A material as listproductbycondition returns it, from ``code``, ``name`` and optional
    ``unitCode``, ``unitName``, ``isBatchManage``, ``isExpiryDateManage`` and any other field.

    Raises:
        ValueError: no code, or a code another material has.
    """
    code = str(material.get("code") or "")
    if not code:
        raise ValueError("a material needs its code")
    if state.material(code) is not None:
        raise ValueError(f"material {code} exists already")
    doc = {"createOrgId": "666666", "id": state.store.new_id(), "name": code, "code": code, "unitId": state.store.new_id(),
           "unitCode": "PCS", "unitName": "件", "modelDescription": "", "model": "", "erpCode": code,
           "isBatchManage": False, "isExpiryDateManage": False, **dict(material)}
    doc["skuId"] = doc.get("skuId") or state.store.new_id()
    doc["isBatchManage"], doc["isExpiryDateManage"] = _flag(doc["isBatchManage"]), _flag(doc["isExpiryDateManage"])
    state.stamp(doc)
    state.store.put("product", doc)
    return doc


def list_products(state: SimState, request: ApiRequest) -> ApiReply:
    body = request.body if isinstance(request.body, Mapping) else {}
    rows = sorted(state.store.all("product"), key=lambda p: (p["pubts"], p["id"]))
    return ApiReply(ok(list_data(select(rows, body, PRODUCT_RENAMES), body, state.now()), message="处理成功"))


def batch_problem(state: SimState, data: Mapping[str, Any], product: dict[str, Any] | None) -> str | None:
    if product is None:
        return f"product：物料[{data.get('product') or ''}]不存在"
    if not product.get("isBatchManage"):
        return f"product：物料[{product['code']}]未启用批次管理"
    if not str(data.get("batchno") or ""):
        return "batchno：批次号不能为空"
    if product.get("isExpiryDateManage") and not (to_text(data.get("producedate")) and to_text(data.get("invaliddate"))):
        return "效期管理的商品生产日期/有效期不能为空"
    return None


def new_batch(state: SimState, data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A new lot of ``data["product"]`` (a material's id or code), or the reason it is refused."""
    product = state.material(data.get("product"))
    problem = batch_problem(state, data, product)
    if problem is None and product is not None and find_batch(state, product, str(data["batchno"])) is not None:
        problem = f"batchno：物料[{product['code']}]的批次号[{data['batchno']}]已存在"
    if problem is not None or product is None:
        return None, problem
    doc: dict[str, Any] = {
        "product": str(product["id"]), "product_cCode": product["code"], "product_cName": product["name"],
        "productsku": str(product["skuId"]), "productsku_cCode": product["code"], "productsku_skuName": product["name"],
        "batchno": str(data["batchno"]), "producedate": "", "invaliddate": "", "stopstatus": False,
        "expireDateNo": "", "expireDateUnit": "", "isBatchManage": True,
        "isExpiryDateManage": bool(product.get("isExpiryDateManage")), "firstStoredDate": "", "tenant": TENANT,
    }
    _apply(doc, data)
    doc["id"] = state.store.new_id()
    state.stamp(doc)
    state.store.put("batchno", doc)
    return doc, None


def _apply(doc: dict[str, Any], data: Mapping[str, Any]) -> None:
    for name in _BATCH_FIELDS:
        if name in data:
            value = data[name]
            if name == "stopstatus":
                doc[name] = _flag(value)
            elif name in ("producedate", "invaliddate", "firstStoredDate"):
                doc[name] = to_text(value) or ""
            else:
                doc[name] = value


def find_batch(state: SimState, product: Mapping[str, Any], batchno: str) -> dict[str, Any] | None:
    return next((b for b in state.store.all("batchno")
                 if b["product"] == str(product["id"]) and b["batchno"] == batchno), None)


def _echo(doc: Mapping[str, Any]) -> dict[str, Any]:
    # the official batchno/save sample echoes the two dates with quotes inside the text
    echoed = dict(doc)
    for name in ("producedate", "invaliddate"):
        if echoed.get(name):
            echoed[name] = f'"{echoed[name]}"'
    return echoed


def save_batch(state: SimState, request: ApiRequest) -> ApiReply:
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    if not isinstance(data, Mapping):
        return ApiReply({"code": "999", "message": "data不能为空"})
    if str(data.get("_status") or "Insert") == "Update":
        doc = state.store.get("batchno", data["id"]) if data.get("id") not in (None, "") else None
        product = state.material(data.get("product"))
        if doc is None and product is not None:
            doc = find_batch(state, product, str(data.get("batchno") or ""))
        problem = None if doc is not None else f"batchno：批次号[{data.get('batchno') or data.get('id') or ''}]不存在"
        if doc is not None:
            _apply(doc, data)
            state.stamp(doc)
            state.store.put("batchno", doc)
    else:
        doc, problem = new_batch(state, data)
    if doc is None:
        counts = {"successCountAI": 0, "failCountAI": 1, "count": 1, "sucessCount": 0, "failCount": 1}
        return ApiReply(ok({**counts, "messages": [problem], "infos": []}))
    counts = {"successCountAI": 1, "failCountAI": 0, "count": 1, "sucessCount": 1, "failCount": 0}
    if state.contradict_counts:
        counts.update(sucessCount=0, failCount=1)
    return ApiReply(ok({**counts, "messages": [""], "infos": [_echo(doc)]}), committed=True, document_id=doc["id"])


def list_batches(state: SimState, request: ApiRequest) -> ApiReply:
    body = dict(request.body) if isinstance(request.body, Mapping) else {}
    if body.get("product") not in (None, "", []):  # ids or codes
        wanted = body["product"] if isinstance(body["product"], list) else [body["product"]]
        body["product"] = [str(p["id"]) if (p := state.material(w)) else str(w) for w in wanted]
    rows = sorted(state.store.all("batchno"), key=lambda b: (b["pubts"], b["id"]))
    return ApiReply(ok(list_data(select(rows, body, BATCH_RENAMES), body, state.now())))
