"""The business APIs behind the simulated gateway (paths after ``/iuap-api-gateway``), and the
MDD idempotency of the saves.

``resubmitCheckKey`` (inside ``data``, or beside it as the parameter tables list it): at most 32
characters, else the call is refused (code 999) before anything is written. A key seen before on
the same API within ``resubmit_window_s`` (the docs: the gateway keeps a success for an hour)
gets the first call's reply again, word for word, and nothing new is written; after that window
it gets the repeated-submission code ``100004`` with only ``{"id"}`` (the idempotency page's
reply). Only a call that wrote something is remembered: a refused one may be sent again with the
same key. The real reply to a repeated key was not captured anywhere; the reference leaves it
open, and the simulator answers with the original result so that a client which lost a reply
can learn what it had written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from adapters.yonyou.simulator import documents, masters, orders, writes
from adapters.yonyou.simulator.query import QueryError
from adapters.yonyou.simulator.state import ApiReply, ApiRequest, SimState

__all__ = ["APIS", "Api", "call"]

MAX_KEY = 32
Handler = Callable[[SimState, ApiRequest], ApiReply]


@dataclass(frozen=True)
class Api:
    """One API: its method, its handler, whether it writes (faults on writes apply) and whether
    it honours ``resubmitCheckKey``."""

    method: str
    handler: Handler
    write: bool = False
    idempotent: bool = False


def _kind(handler: Callable[..., ApiReply], kind: str, **more: Any) -> Handler:
    return partial(handler, kind=kind, **more)


def _save(kind: str) -> Api:
    return Api("POST", partial(writes.save, kind_name=kind), write=True, idempotent=True)


APIS: dict[str, Api] = {
    "/yonbip/mfg/productionorder/list": Api("POST", orders.list_orders),
    "/yonbip/mfg/productionorder/detail": Api("GET", orders.order_detail),
    "/yonbip/mfg/productionorder/save": Api("POST", orders.save_order, write=True, idempotent=True),
    "/yonbip/mfg/productionorder/audit": Api("POST", orders.audit_order, write=True),
    "/yonbip/digitalModel/product/listproductbycondition": Api("POST", masters.list_products),
    "/yonbip/scm/batchno/report/list": Api("POST", masters.list_batches),
    "/yonbip/scm/batchno/report/listbatch": Api("POST", masters.list_batches),
    "/yonbip/scm/batchno/save": Api("POST", masters.save_batch, write=True, idempotent=True),
    "/yonbip/mfg/finishedreport/save": _save("finishedreport"),
    "/yonbip/mfg/finishedreport/new/save": _save("finishedreport"),
    "/yonbip/mfg/finishedreport/detail": Api("GET", _kind(documents.detail, "finishedreport")),
    "/yonbip/mfg/finishedreport/list": Api("POST", _kind(documents.listing, "finishedreport")),
    "/yonbip/mfg/finishedreport/audit": Api("POST", documents.audit_report, write=True),
    "/yonbip/mfg/finishedreport/batchunaudit": Api("POST", _kind(documents.approve, "finishedreport", audited=False),
                                                   write=True),
    "/yonbip/scm/materialout/save": _save("materialout"),
    "/yonbip/scm/materialout/list": Api("POST", _kind(documents.listing, "materialout")),
    "/yonbip/scm/materialout/detail": Api("GET", _kind(documents.detail, "materialout")),
    "/yonbip/scm/materialout/batchaudit": Api("POST", _kind(documents.approve, "materialout", audited=True), write=True),
    "/yonbip/scm/storeprorecord/save": _save("storeprorecord"),
    "/yonbip/scm/storeprorecord/list": Api("POST", _kind(documents.listing, "storeprorecord")),
    "/yonbip/scm/storeprorecord/detail": Api("GET", _kind(documents.detail, "storeprorecord")),
    "/yonbip/scm/storeprorecord/batchaudit": Api("POST", _kind(documents.approve, "storeprorecord", audited=True),
                                                 write=True),
}


def _key(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return None
    data = body.get("data")
    inner = data.get("resubmitCheckKey") if isinstance(data, Mapping) else None
    return inner if inner not in (None, "") else body.get("resubmitCheckKey")


def call(state: SimState, api: Api, request: ApiRequest) -> ApiReply:
    """Run one API call under the simulator's lock."""
    with state.lock:
        key = _key(request.body) if api.idempotent else None
        if key not in (None, ""):
            key = str(key)
            if len(key) > MAX_KEY:
                return ApiReply({"code": "999", "message": f"resubmitCheckKey长度不能超过{MAX_KEY}位"})
            seen = state.store.recall(request.path, key)
            if seen is not None:
                reply, doc_id, at = seen
                if state.clock() - at <= state.resubmit_window_s:
                    return ApiReply(copy.deepcopy(reply), document_id=doc_id)
                return ApiReply({"code": "100004", "message": "幂等接口，重复提交请求", "data": {"id": doc_id}},
                                document_id=doc_id)
        try:
            reply = api.handler(state, request)
        except QueryError as exc:
            return ApiReply({"code": "999", "message": str(exc)})
        if key not in (None, "") and reply.committed:
            state.store.remember(request.path, str(key), reply.body, reply.document_id, state.clock())
        return reply
