"""The business services (``DynamicFormService.<Op>``): the request bodies every SDK sends turned
into a form and its ``data``, and each operation run under the data center's lock.

Bodies (reference kingdee-yonyou §1.1): the SDK v8's ``{"formid": F, "data": {...}}`` (form
operations; ``"opNumber"`` beside them for ExcuteOperation) and ``{"data": {"FormId": F, ...}}``
(queries), ``data`` an object or a JSON string; the older ``{"parameters": [formid, "<json>"]}``
(``[formid, opNumber, "<json>"]`` for ExcuteOperation, ``["<json>"]`` for a query); and form
fields ``FormId=...&data=<json>``. The SDK's polling mode (``"beginmethod": "BeginQueryImpl"``,
BatchSaveQuery) is answered at once as a completed task.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.operations import (
    STATUS_OPERATIONS,
    execute_operation,
    save_service,
    status_service,
)
from adapters.kingdee.simulator.push import push
from adapters.kingdee.simulator.query import execute_bill_query
from adapters.kingdee.simulator.replies import failure, wrapped
from adapters.kingdee.simulator.values import ci_get
from adapters.kingdee.simulator.view import render

__all__ = ["QUERIES", "SERVICES", "WRITES", "parse_body", "serve"]

WRITES = frozenset({"Save", "BatchSave", "Draft", *STATUS_OPERATIONS, "Push", "ExcuteOperation"})
QUERIES = frozenset({"ExecuteBillQuery", "BillQuery"})
SERVICES = WRITES | QUERIES | {"View"}


class BadRequest(ValueError):
    """The body cannot be read (MsgCode 8)."""


def parse_body(raw: bytes, content_type: str = "") -> Any:
    """The body as JSON, or as form fields when it is not JSON."""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "json" in content_type.lower():
            raise BadRequest("请求的数据格式不正确") from None
    fields = {k: v[0] for k, v in parse_qs(text).items()}
    if not fields:
        raise BadRequest("请求的数据格式不正确")
    return fields


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise BadRequest("data数据包的格式不正确，不是合法的JSON。") from None
    return value


def arguments(operation: str, body: Any) -> tuple[str, Any, str]:
    """(form id, data, opNumber) of a request body."""
    if not isinstance(body, Mapping):
        raise BadRequest("请求的数据格式不正确")
    params = body.get("parameters")
    if isinstance(params, list):
        if operation in QUERIES:
            data = _json(params[0]) if params else {}
            return str(data.get("FormId") or "") if isinstance(data, Mapping) else "", data, ""
        if operation == "ExcuteOperation":
            padded = [*params, "", "", ""][:3]
            return str(padded[0]), _json(padded[2]), str(padded[1])
        padded = [*params, "", ""][:2]
        return str(padded[0]), _json(padded[1]), ""
    lowered = {str(k).lower(): v for k, v in body.items()}
    data = _json(lowered.get("data", body if operation in QUERIES else {}))
    form_id = lowered.get("formid") or (data.get("FormId") if isinstance(data, Mapping) else "") or ""
    return str(form_id), data, str(lowered.get("opnumber") or "")


def _run(erp: Erp, operation: str, body: Any) -> Any:
    try:
        form_id, data, op_number = arguments(operation, body)
    except BadRequest as exc:
        reply = failure(str(exc), 8)
        return wrapped(reply) if operation in QUERIES else reply
    if operation in QUERIES:
        return execute_bill_query(erp, data, keyed=operation == "BillQuery")
    if not form_id:
        return failure("业务对象标识(formid)不能为空。", 5)
    form = erp.form(form_id)
    if form is None:
        return failure(f"标识为“{form_id}”的业务对象不存在，或者被删除。", 4)
    if not isinstance(data, Mapping):
        return failure("data数据包的格式不正确。", 8)
    if operation in ("Save", "BatchSave", "Draft"):
        return save_service(erp, form, data, batch=operation == "BatchSave", draft=operation == "Draft")
    if operation in STATUS_OPERATIONS:
        return status_service(erp, form, operation, data)
    if operation == "ExcuteOperation":
        return execute_operation(erp, form, op_number, data)
    if operation == "Push":
        return push(erp, form, data)
    return view_service(erp, form.form_id, data)


def view_service(erp: Erp, form_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    form = erp.forms[form_id]
    fid, number = str(ci_get(data, "Id") or "").strip(), str(ci_get(data, "Number") or "").strip()
    if fid and fid != "0":
        record, named = erp.by_fid(form_id, fid), f"内码为“{fid}”"
    elif number:
        record, named = erp.by_number(form_id, number), f"{form.number_label}为“{number}”"
    else:
        return failure("请传入单据内码(Id)或单据编码(Number)。", 8)
    if record is None:
        return failure(f"未找到{named}的{form.title}：单据不存在，或者已被删除。", 10, "")
    return {"Result": {"ResponseStatus": {"IsSuccess": True, "Errors": [], "SuccessEntitys": [], "SuccessMessages": [],
                                          "MsgCode": 0}, "Result": render(erp, record)}}


def serve(erp: Erp, operation: str, body: Any) -> Any:
    """The reply of one business service (``operation`` as in :data:`SERVICES`)."""
    with erp.lock:
        reply = _run(erp, operation, body)
    if isinstance(body, Mapping) and body.get("beginmethod") == "BeginQueryImpl":
        return {"Status": 2, "TaskId": uuid.uuid4().hex, "Result": reply}
    return reply
