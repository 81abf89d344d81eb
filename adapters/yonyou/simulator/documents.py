"""Reading and approving the written documents: ``/detail`` (GET ``id``), ``/list`` (one row per
line), ``/yonbip/mfg/finishedreport/audit`` and ``/batchunaudit``, the scm documents' ``/batchaudit``.

A list row carries the header's fields, the line's fields under their own names (where the header
has no field of that name) and all of them as ``<lines>_<field>`` (``materOuts_product``,
``storeProRecords_id``), as the scm list samples show. finishedreport/list has no API page in the
corpus (third-party code calls it); it is served in the shape of the other lists.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from adapters.yonyou.simulator.query import list_data, select
from adapters.yonyou.simulator.state import CREATOR, ApiReply, ApiRequest, SimState, ok
from adapters.yonyou.simulator.writes import KINDS

__all__ = ["approve", "audit_report", "detail", "list_rows", "listing"]

NOT_FOUND = {"code": "1002", "message": "数据不存在"}


def list_rows(doc: Mapping[str, Any], lines: str) -> list[dict[str, Any]]:
    header = {k: v for k, v in doc.items() if k != lines}
    rows = []
    for line in doc[lines]:
        row = dict(header)
        row.update({k: v for k, v in line.items() if k not in header})
        row.update({f"{lines}_{k}": v for k, v in line.items()})
        rows.append(row)
    return rows


def listing(state: SimState, request: ApiRequest, kind: str) -> ApiReply:
    body = request.body if isinstance(request.body, Mapping) else {}
    lines = KINDS[kind].lines
    docs = sorted(state.store.all(kind), key=lambda d: (d["pubts"], d["id"]))
    rows = [row for doc in docs for row in list_rows(doc, lines)]
    return ApiReply(ok(list_data(select(rows, body), body, state.now())))


def detail(state: SimState, request: ApiRequest, kind: str) -> ApiReply:
    doc = state.store.get(kind, request.params.get("id"))
    if doc is None:
        return ApiReply(NOT_FOUND if request.params.get("id") else {"code": "999", "message": "id不能为空"})
    return ApiReply(ok(copy.deepcopy(doc), code=200 if kind == "finishedreport" else "200"))


def _set_audited(state: SimState, doc: dict[str, Any], audited: bool) -> None:
    now = state.now()
    if audited:
        doc.update(status=1, verifystate=2, auditor=CREATOR, auditorId=2400000000000002, auditTime=now,
                   auditDate=now[:10] + " 00:00:00")
    else:
        doc.update(status=0, verifystate=0, auditor="", auditorId=None, auditTime="", auditDate="")
    state.stamp(doc)


def audit_report(state: SimState, request: ApiRequest) -> ApiReply:
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    doc = state.find("finishedreport", data) if isinstance(data, Mapping) else None
    if doc is None:
        return ApiReply(NOT_FOUND)
    if doc["status"] == 1:
        return ApiReply({"code": "999", "message": f"完工报告[{doc['code']}]已审核，不能重复审核"})
    _set_audited(state, doc, True)
    state.store.put("finishedreport", doc)
    keys = ("id", "code", "transTypeId", "status", "verifystate", "auditor", "auditorId", "auditTime", "auditDate",
            "tenant", "pubts")
    reply = {k: doc.get(k) for k in keys}
    reply["isWfControlled"] = [False]  # so in the official sample
    return ApiReply(ok(reply), committed=True, document_id=doc["id"])


def _stocked_in(state: SimState, report: Mapping[str, Any]) -> bool:
    ids = {str(line["id"]) for line in report["finishedReportDetail"]}
    return any(str(line.get("sourceautoid")) in ids for doc in state.store.all("storeprorecord")
               for line in doc["storeProRecords"])


def approve(state: SimState, request: ApiRequest, kind: str, audited: bool) -> ApiReply:
    """Audit (or un-audit) each document ``data`` names (``[{"id"} or {"code"}]``); the reply in
    the shape of the batchunaudit page: counts, failures in ``messages``, the rest in ``infos``."""
    data = request.body.get("data") if isinstance(request.body, Mapping) else None
    refs = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else []
    messages, infos = [], []
    for ref in refs:
        doc = state.find(kind, ref) if isinstance(ref, Mapping) else None
        if doc is None:
            messages.append(f"{(ref or {}).get('id') or (ref or {}).get('code') or ''}数据不存在")
        elif audited and doc["status"] == 1:
            messages.append(f"{doc['code']}已审核，不能重复审核")
        elif not audited and doc["status"] != 1:
            messages.append(f"{doc['code']}未审核，无法进行弃审操作")
        elif not audited and kind == "finishedreport" and _stocked_in(state, doc):
            messages.append(f"{doc['code']}已经入库处理，无法进行弃审操作")
        else:
            _set_audited(state, doc, audited)
            state.store.put(kind, doc)
            infos.append({"id": doc["id"], "code": doc["code"], "status": doc["status"], "transTypeId": doc.get("transTypeId"),
                          "isWfControlled": "false", "verifystate": doc["verifystate"], "tenant": doc.get("tenant"),
                          "pubts": doc["pubts"]})
    counts = {"successCountAI": len(infos), "failCountAI": len(messages), "count": len(refs),
              "sucessCount": len(infos), "failCount": len(messages)}
    return ApiReply(ok({**counts, "messages": messages, "infos": infos}), committed=bool(infos))
