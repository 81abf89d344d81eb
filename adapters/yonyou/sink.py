"""The Yonyou sink: canonical reports and lot decisions posted to YonBIP, exactly once.

A work report makes up to three documents, in the route's ``documents`` order: the completion
report (完工报告, ``/yonbip/mfg/finishedreport/save``), the product stock-in (产品入库,
``/yonbip/scm/storeprorecord/save``, when it produced something) and the material issue (材料出库,
``/yonbip/scm/materialout/save``, when it consumed something), each linked to its order line as
YonBIP links them (``sourceautoid``: the order line, or for an issue the order's component line)
so the order's completed, stocked-in and received quantities move; then, with ``workflow:
audit``, each is audited in a call of its own.

Each save carries a ``resubmitCheckKey`` derived from the event's message id (32 hex digits, in
``data``), YonBIP's own guard against a repeated save, and the report's key in the route's
``key_field``, by which a save in doubt is looked up (the list API) before it is ever sent again.
Success is judged per row (:func:`adapters.yonyou.results.write_result`): ``code`` 200 with
``failCount`` 1 is no success, and when the rows and the counts disagree the document is read
back by its key before anything is decided; a row that truly failed is a permanent error naming
the row. A ``reversed`` report is refused with the reason: the simulator and the documented APIs
offer no delete of these documents (reverse it in YonBIP with a red document).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from adapters.yonyou.client import YonyouClient
from adapters.yonyou.errors import ERRORS
from adapters.yonyou.order_lines import OrderLine, OrderLines, split_order_id
from adapters.yonyou.results import write_result
from adapters.yonyou.target import DOCUMENTS, YonyouTargetSettings
from bridge.adapter.sink import (
    Acknowledgement,
    DeliveryContext,
    DocumentRef,
    RemoteCall,
    SinkContext,
    order_serial_key,
    route_mappings,
)
from bridge.errors import PermanentError
from bridge.sinks.base import SinkEvent

__all__ = ["YonyouSink", "make_yonyou_sink", "report_key", "resubmit_check_key"]

#: The rows of each document.
LINES = {"finishedreport": "finishedReportDetail", "storeprorecord": "storeProRecords", "materialout": "materOuts"}


def report_key(report_id: str) -> str:
    """The report's key in the key field: ``MES:<report_id>``, or ``MES:`` and a digest when long."""
    if len(report_id) <= 60 and report_id.isprintable() and "'" not in report_id:
        return f"MES:{report_id}"
    return "MES:" + hashlib.sha256(report_id.encode("utf-8")).hexdigest()[:40]


def resubmit_check_key(message_id: str, document: str) -> str:
    """YonBIP's resubmitCheckKey of one save: 32 hex digits from the event's message id."""
    return hashlib.sha256(f"{message_id}/{document}".encode()).hexdigest()[:32]


def _audited(row: Mapping[str, Any]) -> bool:
    return str(row.get("status")) == "1" or str(row.get("verifystate")) == "2"


class YonyouSink:
    """Posts to one YonBIP tenant (one route)."""

    mode: Literal["remote"] = "remote"

    def __init__(self, name: str, settings: YonyouTargetSettings, client: Any, mappings: Mapping[str, Any]) -> None:
        self.name, self.settings, self.client, self.mappings = name, settings, client, mappings
        self.in_flight = settings.in_flight
        self.call_timeout_s = settings.timeout_s
        self.lines = OrderLines(client)

    def serial_key(self, event: SinkEvent) -> str:
        return order_serial_key(event)

    # -- planning ----------------------------------------------------------------------------
    def plan(self, event: SinkEvent, context: DeliveryContext) -> Sequence[RemoteCall]:
        envelope = event.envelope
        payload = envelope.get("payload") or {}
        if event.entity == "lot":
            return self._plan_lot(envelope)
        if event.entity != "report":
            raise PermanentError(f"route {self.name}: YonBIP takes reports and lots, not {event.entity} events")
        if event.event == "reversed":
            raise PermanentError(
                f"route {self.name}: report {payload.get('report_id')} reverses {payload.get('reversal_of')}: YonBIP's "
                "open APIs offer no delete of completion reports, stock-ins or issues; reverse it in YonBIP (红字单据)")
        report_id, order_id = str(payload.get("report_id") or ""), str(payload.get("order_id") or "")
        split_order_id(order_id)
        key, calls = report_key(report_id), []
        for document in self.settings.documents:
            data = dict(self.mappings[document].render(envelope))
            if not data.get(LINES[document]):
                continue
            save_key = f"{report_id}/{document}/save"
            check = resubmit_check_key(str(envelope.get("message_id") or report_id), document)
            calls.append(RemoteCall(save_key, "save", {"document": document, "data": data, "order_id": order_id, "key": key,
                                                       "check": check}, ident=key))
            if self.settings.workflow == "audit":
                calls.append(RemoteCall(f"{report_id}/{document}/audit", "audit", {"document": document, "key": key},
                                        ident=key, needs=(save_key,)))
        if not calls:
            raise PermanentError(f"report {report_id}: the mappings rendered no YonBIP document with lines")
        return calls

    def _plan_lot(self, envelope: Mapping[str, Any]) -> list[RemoteCall]:
        payload = envelope.get("payload") or {}
        status = str(payload.get("status") or "")
        lot, material = str(payload.get("lot_id") or ""), str(payload.get("material_id") or "")
        if status not in self.settings.lot_status:
            raise PermanentError(
                f"lot {lot} of {material}: status {status!r} has no YonBIP equivalent (a batch number is stopped or "
                f"not: stopstatus; the route maps {', '.join(sorted(self.settings.lot_status))})")
        return [RemoteCall(f"{envelope.get('message_id')}/lot", "lot_status",
                           {"lot": lot, "material": material, "stop": self.settings.lot_status[status], "status": status},
                           ident=f"{material}/{lot}")]

    # -- the calls ---------------------------------------------------------------------------
    def send(self, call: RemoteCall, earlier: Mapping[str, Acknowledgement]) -> Acknowledgement:
        request = call.request
        if call.operation == "save":
            return self._save(request)
        if call.operation == "audit":
            return self._audit(request, earlier[call.needs[0]].documents[0])
        if call.operation == "lot_status":
            return self._lot_status(request)
        raise PermanentError(f"route {self.name}: unknown call {call.operation}")

    def lookup(self, call: RemoteCall) -> Acknowledgement | None:
        request = call.request
        if call.operation == "lot_status":
            batch = self._batch(request)
            if batch is not None and bool(batch.get("stopstatus")) == request["stop"]:
                return Acknowledgement((DocumentRef("batchno", request["lot"], counter=str(batch.get("id"))),),
                                       found_by_lookup=True)
            return None
        rows = self._by_key(request["document"], request["key"])
        if not rows or (call.operation == "audit" and not _audited(rows[0])):
            return None
        return Acknowledgement((self._ref(request["document"], rows[0]),),
                               (f"{request['document']} {rows[0].get('code')} found by its key",), found_by_lookup=True)

    def _by_key(self, document: str, key: str) -> list[Mapping[str, Any]]:
        rows = self.lines.by_key(f"/yonbip/{DOCUMENTS[document]}/list", self.settings.key_field, key)
        if len(rows) > 1:
            raise PermanentError(f"{document}: {len(rows)} documents carry {key} "
                                 f"({', '.join(str(r.get('code')) for r in rows)}); resolve by hand in YonBIP")
        return rows

    @staticmethod
    def _ref(document: str, row: Mapping[str, Any]) -> DocumentRef:
        return DocumentRef(document, str(row.get("code") or ""), counter=str(row.get("id") or ""))

    def _save(self, request: Mapping[str, Any]) -> Acknowledgement:
        document = request["document"]
        data = self._linked(document, request["data"], self.lines.line(request["order_id"]))
        data[self.settings.key_field] = request["key"]
        data["resubmitCheckKey"] = request["check"]
        reply = self.client.post(f"/yonbip/{DOCUMENTS[document]}/save", {"data": data})
        result = write_result(reply)
        if result.outcome == "ok" and result.documents:
            saved = result.documents[0]
            return Acknowledgement((self._ref(document, saved),), (f"{document} {saved.get('code') or saved.get('id')} saved",))
        rows = self._by_key(document, request["key"])  # the rows and the counts disagree: read it back
        if rows:
            return Acknowledgement((self._ref(document, rows[0]),),
                                   (f"{document} {rows[0].get('code')} saved (read back: {'; '.join(result.messages) or 'no message'})",))
        raise PermanentError(f"YonBIP {document}/save for {request['key']}: refused: "
                             f"{'; '.join(m for m in result.messages if m) or 'no row was saved and no message says why'}")

    def _linked(self, document: str, rendered: Mapping[str, Any], line: OrderLine) -> dict[str, Any]:
        """The data with the order line's links and the header facts the order gives."""
        data = copy.deepcopy(dict(rendered))
        if document == "finishedreport":
            data.setdefault("orgId", line.org_id) if not data.get("orgCode") else None
            if not data.get("productionDepartmentId") and not data.get("productionDepartmentCode"):
                data["productionDepartmentId"] = line.department_id
        else:
            if not data.get("org"):
                data["org"] = line.org_id
            if not data.get("warehouse") and self.settings.warehouse:
                data["warehouse"] = self.settings.warehouse
            if document in self.settings.bustypes and not data.get("bustype"):
                data["bustype"] = self.settings.bustypes[document]
        for row in data.get(LINES[document]) or []:
            row.setdefault("upcode", line.code)
            if document == "materialout":
                material = str(row.get("product") or "")
                if material not in line.components:
                    raise PermanentError(f"order {line.code}-{line.line_no}: material {material} is not a component of "
                                         f"the order line ({', '.join(sorted(line.components)) or 'none'})")
                row["sourceautoid"] = line.components[material]
            else:
                row["sourceautoid"] = line.line_id
            row["sourceid"] = line.order_id
        return data

    def _audit(self, request: Mapping[str, Any], saved: DocumentRef) -> Acknowledgement:
        document = request["document"]
        try:
            if document == "finishedreport":
                reply = self.client.post("/yonbip/mfg/finishedreport/audit", {"data": {"id": saved.counter, "code": saved.number}})
            else:
                reply = self.client.post(f"/yonbip/{DOCUMENTS[document]}/batchaudit", {"data": [{"id": saved.counter}]})
        except PermanentError:
            rows = self._by_key(document, request["key"])
            if rows and _audited(rows[0]):  # audited already (an audit whose reply was lost)
                return Acknowledgement((saved,), (f"{document} {saved.number} was audited already",))
            raise
        data = reply.get("data") if isinstance(reply, Mapping) else None
        failures = [m for m in (data or {}).get("messages") or [] if m] if isinstance(data, Mapping) else []
        if failures:
            rows = self._by_key(document, request["key"])
            if not (rows and _audited(rows[0])):
                raise PermanentError(f"YonBIP {document} audit of {saved.number}: {'; '.join(map(str, failures))}")
        return Acknowledgement((saved,), (f"{document} {saved.number} audited",))

    def _batch(self, request: Mapping[str, Any]) -> Mapping[str, Any] | None:
        reply = self.client.post("/yonbip/scm/batchno/report/list", {"product": request["material"], "batchno": request["lot"],
                                                                      "pageIndex": 1, "pageSize": 10})
        rows = ((reply.get("data") or {}).get("recordList") or []) if isinstance(reply, Mapping) else []
        return next((r for r in rows if str(r.get("batchno")) == request["lot"]), None)

    def _lot_status(self, request: Mapping[str, Any]) -> Acknowledgement:
        reply = self.client.post("/yonbip/scm/batchno/save", {"data": {
            "_status": "Update", "product": request["material"], "batchno": request["lot"], "stopstatus": request["stop"]}})
        result = write_result(reply)
        batch = self._batch(request) if result.outcome != "ok" else (result.documents[0] if result.documents else None)
        if batch is None or bool(batch.get("stopstatus")) != request["stop"]:
            raise PermanentError(f"YonBIP batchno/save of lot {request['lot']} of {request['material']}: "
                                 f"{'; '.join(m for m in result.messages if m) or 'the lot was not changed'}")
        return Acknowledgement((DocumentRef("batchno", request["lot"], counter=str(batch.get("id") or "")),),
                               (f"lot {request['lot']} of {request['material']}: "
                                f"{'stopped' if request['stop'] else 'in use'} ({request['status']})",))

    def close(self) -> None:
        self.client.close()


def make_yonyou_sink(context: SinkContext) -> YonyouSink:
    """The sink of a route whose ``sink`` is ``yonyou``.

    Raises:
        ConfigError: a secret's variable is not set, or a document's mapping is unknown.
    """
    settings: YonyouTargetSettings = context.settings
    mappings = route_mappings(context, settings.documents, settings.mappings, "Yonyou")
    errors = ERRORS.with_overrides(settings.errors, setting=f"route {context.route}: errors")
    client = YonyouClient(settings, env=context.extra.get("env"), errors=errors)
    return YonyouSink(context.route, settings, client, mappings)
