"""The writes the bridge makes: completion reports (``/yonbip/mfg/finishedreport/save``, its full
form ``/new/save``), material issues (``/yonbip/scm/materialout/save``) and stock-ins
(``/yonbip/scm/storeprorecord/save``).

Each saves one document, all its lines or none. A line is refused, naming the field, for an
unknown material, a missing required field, a quantity that is not a number, a batch-managed
material without a lot (a material issue's lot must exist and not be stopped; a stock-in's new lot
is created), or a source it cannot use (:mod:`adapters.yonyou.simulator.links`). A refusal is a
reply with ``failCount`` 1 and the message in ``messages`` (and, where the API's rows carry a code,
a row with code 999); nothing is written. The document keeps every field the client sent
(``remark``/``memo``, ``out_sys_*``, ``define`` fields, ``headItem``), so the list APIs find it by
them. Document codes are always numbered by the server ("自动编号时输入无效").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.yonyou.simulator import links
from adapters.yonyou.simulator.masters import batch_problem, find_batch, new_batch
from adapters.yonyou.simulator.orders import ref_id
from adapters.yonyou.simulator.state import CREATOR, TENANT, ApiReply, ApiRequest, SimState, number, ok
from adapters.yonyou.simulator.times import epoch_ms, to_text

__all__ = ["KINDS", "WriteKind", "save"]


@dataclass(frozen=True)
class WriteKind:
    """How one kind of write names its parts."""

    name: str
    lines: str
    prefix: str
    pairs: tuple[str, ...]  # header references required as <x>Id or <x>Code
    singles: tuple[str, ...]  # header fields required as they are
    material: tuple[str, ...]  # line fields naming the material (an id or a code)
    quantity: str
    batch: str


KINDS = {
    "finishedreport": WriteKind("finishedreport", "finishedReportDetail", "WGBG", ("org", "transType", "productionDepartment"),
                                (), ("materialId", "materialCode", "productId", "productCode"), "quantity", "batchNo"),
    "materialout": WriteKind("materialout", "materOuts", "CLCK", (), ("org", "warehouse"), ("product",), "qty", "batchno"),
    "storeprorecord": WriteKind("storeprorecord", "storeProRecords", "CPRK", (), ("org", "warehouse"), ("product",), "qty",
                                "batchno"),
}
_DROP = ("_status", "resubmitCheckKey")
_EXTRA_QUANTITIES = ("qualifiedQuantity", "scrapQuantity", "returnQuantity")


def _header_problem(kind: WriteKind, data: Mapping[str, Any]) -> str | None:
    for pair in kind.pairs:
        if data.get(f"{pair}Id") in (None, "") and data.get(f"{pair}Code") in (None, ""):
            return f"{pair}Id和{pair}Code不能同时为空"
    for name in kind.singles:
        if data.get(name) in (None, ""):
            return f"{name}不能为空"
    rows = data.get(kind.lines)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, Mapping) for r in rows):
        return f"{kind.lines}不能为空"
    if str(data.get("_status") or "Insert") not in ("Insert", ""):
        return f"_status：[{data.get('_status')}]不支持，只能新增"
    return None


def _material_line(kind: WriteKind, material: Mapping[str, Any]) -> dict[str, Any]:
    if kind.name == "finishedreport":
        return {"materialId": material["id"], "materialCode": material["code"], "materialName": material["name"],
                "productId": material["id"], "skuId": material["skuId"], "skuCode": material["code"],
                "mainUnit": material["unitId"], "mainUnitName": material["unitName"], "productionUnitId": material["unitId"]}
    return {"product": str(material["id"]), "product_cCode": material["code"], "product_cName": material["name"],
            "productsku": str(material["skuId"]), "productsku_cCode": material["code"], "productsku_cName": material["name"],
            "unit": material["unitId"], "product_unitName": material["unitName"], "stockUnitId": material["unitId"],
            "stockUnit_name": material["unitName"], "invExchRate": 1}


def _line(state: SimState, kind: WriteKind, row: Mapping[str, Any], n: int
          ) -> tuple[dict[str, Any] | None, links.Link | None, str | None]:
    where = f"{kind.lines}第{n}行"
    given = next((row[k] for k in kind.material if row.get(k) not in (None, "")), None)
    if given is None:
        return None, None, f"{where}{'和'.join(kind.material[:2])}不能同时为空"
    material = state.material(given)
    if material is None:
        return None, None, f"{where}{next(k for k in kind.material if row.get(k) == given)}：物料[{given}]不存在"
    if row.get(kind.quantity) in (None, ""):
        return None, None, f"{where}{kind.quantity}不能为空"
    quantity = number(row.get(kind.quantity))
    if quantity is None:
        return None, None, f"{where}{kind.quantity}：[{row.get(kind.quantity)}]不是有效的数字"
    for name in _EXTRA_QUANTITIES if kind.name == "finishedreport" else ():
        if row.get(name) not in (None, "") and number(row[name]) is None:
            return None, None, f"{where}{name}：[{row[name]}]不是有效的数字"
    lot = str(row.get(kind.batch) or "")
    if material["isBatchManage"]:
        if not lot:
            return None, None, f"{where}{kind.batch}：物料[{material['code']}]启用批次管理，批次号不能为空"
        batch = find_batch(state, material, lot)
        if kind.name == "materialout" and batch is None:
            return None, None, f"{where}{kind.batch}：批次号[{lot}]不存在"
        if kind.name == "materialout" and batch is not None and batch["stopstatus"]:
            return None, None, f"{where}{kind.batch}：批次号[{lot}]已停用"
        if kind.name == "storeprorecord" and batch is None:
            problem = batch_problem(state, {**row, "product": material["id"], "batchno": lot}, material)
            if problem:
                return None, None, f"{where}{problem}"
    link, problem = links.resolve(state, kind.name, row, material, where)
    if problem:
        return None, None, problem
    line = {k: copy.deepcopy(v) for k, v in row.items() if k not in _DROP}
    line.update(_material_line(kind, material), id=state.store.new_id(), isBatchManage=material["isBatchManage"],
                isExpiryDateManage=material["isExpiryDateManage"], **(link.source_fields(kind.name) if link else {}))
    line[kind.quantity] = quantity
    if kind.name == "finishedreport":
        line.update(lineNo=n * 10, productionType=str(row.get("productionType") or "0"), auxiliaryQuantity=quantity,
                    finishDate=to_text(row.get("finishDate")) or state.now(), changeRate=1, changeType="0")
        for name in _EXTRA_QUANTITIES:
            line[name] = number(row.get(name)) if row.get(name) not in (None, "") else (quantity if name == "qualifiedQuantity" else 0)
        line["qualifiedAuxiliaryQuantity"] = line["qualifiedQuantity"]
    else:
        line["subQty"] = quantity
        for name in ("producedate", "invaliddate"):
            if row.get(name) not in (None, ""):
                line[name] = to_text(row[name]) or row[name]
    return line, link, None


def _document(state: SimState, kind: WriteKind, data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list, str | None]:
    problem = _header_problem(kind, data)
    if problem:
        return None, [], problem
    lines, linked = [], []
    for n, row in enumerate(data[kind.lines], 1):
        line, link, problem = _line(state, kind, row, n)
        if problem or line is None:
            return None, [], problem
        lines.append(line)
        if link is not None:
            linked.append((link, line[kind.quantity]))
    now = state.now()
    doc = {k: copy.deepcopy(v) for k, v in data.items() if k not in (*_DROP, kind.lines, "id", "code")}
    doc.update(id=state.store.new_id(), code=state.new_code(kind.prefix), vouchdate=to_text(data.get("vouchdate")) or state.today(),
               status=0, verifystate=0, isWfControlled=False, creator=CREATOR, creatorId=2400000000000002,
               createTime=now, createDate=now[:10] + " 00:00:00", tenant=TENANT)
    for pair in kind.pairs:
        doc[f"{pair}Id"] = str(data.get(f"{pair}Id") or ref_id(str(data.get(f"{pair}Code"))))
    if kind.name != "finishedreport":
        doc.setdefault("accountOrg", doc.get("org"))
        doc["totalQuantity"] = number(sum(float(line[kind.quantity]) for line in lines))
    for line in lines:
        line["finishedReportId" if kind.name == "finishedreport" else "mainid"] = doc["id"]
    doc[kind.lines] = lines
    stamp = state.stamp(doc)
    for line in lines:
        line["pubts"] = stamp
    return doc, linked, None


def _commit(state: SimState, kind: WriteKind, doc: dict[str, Any], linked: list) -> None:
    if kind.name == "storeprorecord":
        for line in doc[kind.lines]:
            material = state.material(line["product"])
            if material and material["isBatchManage"] and find_batch(state, material, str(line[kind.batch])) is None:
                new_batch(state, {"product": material["id"], "batchno": line[kind.batch], "firstStoredDate": doc["vouchdate"],
                                  **{k: line[k] for k in ("producedate", "invaliddate") if k in line}})
    links.apply(state, kind.name, linked)
    state.store.put(kind.name, doc)


def _simple_echo(doc: Mapping[str, Any]) -> dict[str, Any]:
    # finishedreport/save's official reply: header times as epoch-ms text, line times as numbers,
    # scrap and return quantities as text
    echoed = copy.deepcopy(dict(doc))
    for name in ("vouchdate", "createTime", "createDate", "pubts"):
        echoed[name] = str(epoch_ms(echoed[name]))
    echoed["isWfControlled"] = "false"
    for line in echoed["finishedReportDetail"]:
        line["finishDate"], line["pubts"] = epoch_ms(line["finishDate"]), epoch_ms(line["pubts"])
        for name in ("scrapQuantity", "returnQuantity"):
            line[name] = line[f"{name[:-8]}AuxiliaryQuantity"] = str(line[name])
    return echoed


def _reply(state: SimState, api: str, doc: dict[str, Any] | None, problem: str | None) -> dict[str, Any]:
    saved = doc is not None
    counts = {"count": 1, "sucessCount": 1 if saved else 0, "failCount": 0 if saved else 1}
    if saved and state.contradict_counts:  # the official finishedreport/save sample's contradiction
        counts.update(sucessCount=0, failCount=1)
    if api == "/yonbip/mfg/finishedreport/save":
        assert problem is not None or doc is not None
        row = ({"code": "200", "rowNum": "1", "message": "操作成功", "data": _simple_echo(doc)} if doc
               else {"code": "999", "rowNum": "1", "message": problem})
        return ok({**counts, "messages": [{"rowNum": "1", "message": "操作成功" if saved else problem}], "infos": [row]}, code=200)
    if api == "/yonbip/mfg/finishedreport/new/save":
        echoed = copy.deepcopy(doc) if doc else {}
        for line in echoed.get("finishedReportDetail", []):
            line["pubts"] = str(epoch_ms(line["pubts"]))
        return ok({**counts, "messages": {} if saved else [problem], "infos": echoed})
    fail_infos = {} if saved else [{"rowNum": "1", "message": problem}]
    return ok({**counts, "messages": [""] if saved else [problem], "infos": [copy.deepcopy(doc)] if doc else [],
               "failInfos": fail_infos})


def save(state: SimState, request: ApiRequest, kind_name: str) -> ApiReply:
    """Save one document of ``kind_name`` from ``request.body["data"]``."""
    kind = KINDS[kind_name]
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    if not isinstance(data, Mapping):
        return ApiReply({"code": "999", "message": "data不能为空"})
    doc, linked, problem = _document(state, kind, data)
    if doc is not None:
        _commit(state, kind, doc, linked)
    return ApiReply(_reply(state, request.path, doc, problem), committed=doc is not None,
                    document_id=doc["id"] if doc else None)
