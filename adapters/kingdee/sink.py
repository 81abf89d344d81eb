"""The Kingdee sink: canonical reports and lot decisions posted to K/3 Cloud, exactly once.

A remote sink (bridge.adapter.sink): :mod:`adapters.kingdee.bill_calls` plans the calls, this
module makes them and answers the ledger's lookups of calls in doubt. A bill is saved with the
report's key in the route's ``key_field`` and linked to its source the way K/3 Cloud links a
pushed bill (``FEntity_Link`` rows naming the conversion rule, the PRD_MO or PRD_PPBOM bill and
entry), so that the order's reported, stocked-in and picked quantities move as they do in the
ERP. A submit or audit refused with MsgCode 11 counts as done when the bill's FDocumentStatus
shows the step was made (an in-doubt audit that did happen); anything else refused is the ERP's
error, its text in the error (and so in the dead letter's headers).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from adapters.kingdee.bill_calls import plan_lot, plan_report, plan_reversal
from adapters.kingdee.bills import BillReader, BillRow, MoEntry
from adapters.kingdee.client import failed, messages, response_status
from adapters.kingdee.target import KingdeeTargetSettings
from bridge.adapter.sink import (
    Acknowledgement,
    DeliveryContext,
    DocumentRef,
    RemoteCall,
    SinkContext,
    order_serial_key,
    route_mappings,
)
from bridge.errors import PermanentError, TransientError
from bridge.sinks.base import SinkEvent

__all__ = ["KingdeeSink", "make_kingdee_sink"]

#: The FDocumentStatus values at which a step counts as made.
_REACHED = {"submit": ("B", "C"), "audit": ("C",)}
_SOURCE_TABLE = {"PRD_MO": "T_PRD_MOENTRY", "PRD_PPBOM": "T_PRD_PPBOMENTRY"}


def _ref(form: str, row: BillRow | None = None, number: str = "", fid: str = "") -> DocumentRef:
    return DocumentRef(form, row.number if row else number, counter=row.fid if row else fid)


class KingdeeSink:
    """Posts to one K/3 Cloud data center (one route)."""

    mode: Literal["remote"] = "remote"

    def __init__(self, name: str, settings: KingdeeTargetSettings, client: Any, mappings: Mapping[str, Any]) -> None:
        self.name, self.settings, self.client, self.mappings = name, settings, client, mappings
        self.in_flight = settings.in_flight
        self.call_timeout_s = settings.timeout_s
        self.reader = BillReader(client, settings.key_field, settings.order_cache)

    def serial_key(self, event: SinkEvent) -> str:
        return order_serial_key(event)

    def plan(self, event: SinkEvent, context: DeliveryContext) -> Sequence[RemoteCall]:
        envelope = event.envelope
        if event.entity == "lot":
            return plan_lot(envelope, self.settings)
        if event.entity != "report":
            raise PermanentError(f"route {self.name}: K/3 Cloud takes reports and lots, not {event.entity} events")
        if event.event == "reversed":
            return plan_reversal(envelope, self.settings)
        return plan_report(envelope, self.settings, lambda form: self.mappings[form].render(envelope))

    # -- the calls ---------------------------------------------------------------------------
    def send(self, call: RemoteCall, earlier: Mapping[str, Acknowledgement]) -> Acknowledgement:
        request = call.request
        if call.operation == "save":
            return self._save(request)
        if call.operation in _REACHED:
            saved = earlier[call.needs[0]].documents[0]
            return self._step(call.operation, request["form"], saved)
        if call.operation == "reverse":
            return self._reverse(request["form"], request["key"])
        if call.operation == "lot_status":
            return self._lot_status(request)
        raise PermanentError(f"route {self.name}: unknown call {call.operation}")

    def lookup(self, call: RemoteCall) -> Acknowledgement | None:
        request = call.request
        if call.operation == "reverse":
            return None  # reversing again finds what is left to undo
        if call.operation == "lot_status":
            return self._lot_reached(request)
        rows = self.reader.by_key(request["form"], request["key"])
        if len(rows) > 1:
            raise PermanentError(f"{request['form']}: {len(rows)} bills carry {request['key']} "
                                 f"({', '.join(r.number for r in rows)}); resolve by hand in K/3 Cloud")
        if not rows:
            return None
        row = rows[0]
        if call.operation in _REACHED and row.status not in _REACHED[call.operation]:
            return None
        return Acknowledgement((_ref(request["form"], row),), (f"{request['form']} {row.number} found by its key",),
                               found_by_lookup=True)

    def _save(self, request: Mapping[str, Any]) -> Acknowledgement:
        form = request["form"]
        model = self._linked(form, request["model"], self.reader.mo_entry(request["order_id"]))
        model[self.settings.key_field] = request["key"]
        reply = self.client.form("Save", form, {
            "NeedUpDateFields": [], "NeedReturnFields": [], "IsDeleteEntry": "false", "SubSystemId": "",
            "IsVerifyBaseDataField": "false", "IsEntryBatchFill": "true", "ValidateFlag": "true", "NumberSearch": "true",
            "IsAutoAdjustField": "false", "InterationFlags": "", "IgnoreInterationFlag": "", "Model": model})
        status = self._judged(reply, f"Save of {form} for {request['key']}")
        entity = (status.get("SuccessEntitys") or [{}])[0]
        result = reply.get("Result") if isinstance(reply, Mapping) else None
        fid = str(entity.get("Id") or (result or {}).get("Id") or "")
        number = str(entity.get("Number") or (result or {}).get("Number") or "")
        if not fid:
            raise TransientError(f"Kingdee Save of {form}: the reply names no Id (in doubt: looked up by its key)")
        return Acknowledgement((_ref(form, number=number, fid=fid),), (f"{form} {number} saved",))

    def _linked(self, form: str, rendered: Mapping[str, Any], mo: MoEntry) -> dict[str, Any]:
        """The model with the order's ids and the link rows K/3 Cloud keeps a pushed bill by."""
        model = copy.deepcopy(dict(rendered))
        if not model.get("FPrdOrgId") and mo.org:
            model["FPrdOrgId"] = {"FNumber": mo.org}
        if form in ("PRD_INSTOCK", "PRD_PickMtrl") and not model.get("FStockOrgId") and mo.org:
            model["FStockOrgId"] = {"FNumber": mo.org}
        rule = self.settings.link_rules.get(form, "")
        components = self.reader.ppbom_entries(mo) if form == "PRD_PickMtrl" else {}
        for entry in model.get("FEntity") or []:
            entry.setdefault("FMoBillNo", mo.bill_no)
            entry.setdefault("FMoEntrySeq", mo.seq)
            entry["FMoId"], entry["FMoEntryId"] = int(mo.fid), int(mo.entry_id)
            source_form, source = "PRD_MO", (mo.fid, mo.entry_id)
            stock, unit = mo.stock, mo.unit
            if form == "PRD_PickMtrl":
                material = str((entry.get("FMaterialId") or {}).get("FNumber") or "")
                if material not in components:
                    raise PermanentError(f"order {mo.bill_no}-{mo.seq}: material {material} is not a component "
                                         f"of its PRD_PPBOM ({', '.join(sorted(components)) or 'none found'})")
                component = components[material]
                source_form, source = "PRD_PPBOM", (component.fid, component.entry_id)
                stock, unit = component.stock, component.unit
                entry["FPPBomEntryId"] = int(component.entry_id)
            elif not entry.get("FMaterialId") and mo.material:  # a report that names no produced item
                entry["FMaterialId"] = {"FNumber": mo.material}
            if not entry.get("FStockId") and stock and form != "PRD_MORPT":
                entry["FStockId"] = {"FNumber": stock}  # where the order (or its material list) says
            if not entry.get("FUnitID") and unit:
                entry["FUnitID"] = {"FNumber": unit}
            if rule:
                entry["FEntity_Link"] = [{"FEntity_Link_FRuleId": rule, "FEntity_Link_FSTableName": _SOURCE_TABLE[source_form],
                                          "FEntity_Link_FSBillId": int(source[0]), "FEntity_Link_FSId": int(source[1])}]
        return model

    def _step(self, step: str, form: str, saved: DocumentRef) -> Acknowledgement:
        operation = step.capitalize()
        reply = self.client.form(operation, form, {"CreateOrgId": 0, "Numbers": [], "Ids": saved.counter,
                                                    "InterationFlags": "", "IgnoreInterationFlag": ""})
        status = response_status(reply)
        if failed(status):
            assert status is not None
            if str(status.get("MsgCode")) == "11" and self.reader.status(form, saved.counter) in _REACHED[step]:
                return Acknowledgement((saved,), (f"{form} {saved.number}: already {step}ed ({messages(status)})",))
            raise self.client.refusal(status, f"{operation} of {form} {saved.number}")
        return Acknowledgement((saved,), (f"{form} {saved.number} {step}ed",))

    def _reverse(self, form: str, key: str) -> Acknowledgement:
        undone: list[DocumentRef] = []
        for row in self.reader.by_key(form, key):
            if row.status == "C":
                self._judged(self.client.form("UnAudit", form, {"Ids": row.fid, "Numbers": []}), f"UnAudit of {form} {row.number}")
            elif row.status == "B":
                self._judged(self.client.form("CancelAssign", form, {"Ids": row.fid, "Numbers": []}),
                             f"CancelAssign of {form} {row.number}")
            self._judged(self.client.form("Delete", form, {"Ids": row.fid, "Numbers": []}), f"Delete of {form} {row.number}")
            undone.append(_ref(form, row))
        if not undone:
            return Acknowledgement((), (f"no {form} carries {key}: nothing to reverse",))
        return Acknowledgement(tuple(undone), tuple(f"{form} {d.number} un-audited and deleted" for d in undone))

    def _lot_rows(self, request: Mapping[str, Any]) -> list[list[Any]]:
        lot, material = request["lot"], request["material"]
        if "'" in lot + material:
            raise PermanentError(f"lot {lot!r} of {material!r} cannot be looked up in K/3 Cloud (a quote)")
        return self.client.execute_bill_query(
            "BD_BatchMainFile", "FLOTID,FNumber,FForbidStatus",
            filter_string=f"FNumber = '{lot}' AND FMaterialId.FNumber = '{material}'", limit=2)

    def _lot_reached(self, request: Mapping[str, Any]) -> Acknowledgement | None:
        rows = self._lot_rows(request)
        wanted = "B" if request["operation"] == "Forbid" else "A"
        if rows and str(rows[0][2]) == wanted:
            return Acknowledgement((DocumentRef("BD_BatchMainFile", str(rows[0][1]), counter=str(rows[0][0])),),
                                   found_by_lookup=True)
        return None

    def _lot_status(self, request: Mapping[str, Any]) -> Acknowledgement:
        rows = self._lot_rows(request)
        if not rows:
            raise PermanentError(f"lot {request['lot']} of material {request['material']}: K/3 Cloud has no such "
                                 "BD_BatchMainFile (批号主档)")
        lot_id, number = str(rows[0][0]), str(rows[0][1])
        reply = self.client.form("ExcuteOperation", "BD_BatchMainFile", {"Ids": lot_id, "Numbers": []},
                                 op_number=request["operation"])
        status = response_status(reply)
        if failed(status) and self._lot_reached(request) is None:
            assert status is not None
            raise self.client.refusal(status, f"{request['operation']} of lot {number}")
        return Acknowledgement((DocumentRef("BD_BatchMainFile", number, counter=lot_id),),
                               (f"lot {number} of {request['material']}: {request['operation']} ({request['status']})",))

    def _judged(self, reply: Any, what: str) -> Mapping[str, Any]:
        status = response_status(reply)
        if status is None:
            raise TransientError(f"Kingdee {what}: the reply carries no ResponseStatus")
        if failed(status):
            raise self.client.refusal(status, what)
        return status

    def close(self) -> None:
        self.client.close()


def make_kingdee_sink(context: SinkContext) -> KingdeeSink:
    """The sink of a route whose ``sink`` is ``kingdee``.

    Raises:
        ConfigError: a secret's variable is not set, or a bill's mapping is unknown.
    """
    settings: KingdeeTargetSettings = context.settings
    mappings = route_mappings(context, settings.bills, settings.mappings, "Kingdee")
    client = settings.client(f"route {context.route}", context.extra.get("env"))
    return KingdeeSink(context.route, settings, client, mappings)
