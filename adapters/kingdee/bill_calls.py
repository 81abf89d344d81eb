"""A canonical event as the K/3 Cloud calls that post it (planned; made by adapters.kingdee.sink).

A work report makes up to three bills, in the route's ``bills`` order: the production report
PRD_MORPT (生产汇报单), the production stock-in PRD_INSTOCK (生产入库单, when the report
produced something) and the production pick PRD_PickMtrl (生产领料单, when it consumed
something). Each bill is one ``save`` call and, as ``workflow`` says, a ``submit`` and an
``audit`` call, each settled on its own: a bill saved before a crash is submitted after it,
never saved twice. Every bill carries the report's key (:func:`report_key`) in the route's
``key_field``, which ExecuteBillQuery filters on: a save in doubt is looked up by it before any
re-save, a submit or audit in doubt by the bill's FDocumentStatus.

A ``reversed`` report undoes what its ``reversal_of`` made, bill by bill in reverse order
(``reverse`` calls: un-audit when audited, then delete), found by that report's key, so a
second reversal finds nothing left to undo.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from adapters.kingdee.target import KingdeeTargetSettings
from bridge.adapter.sink import RemoteCall
from bridge.errors import PermanentError

__all__ = ["STEPS", "plan_lot", "plan_report", "plan_reversal", "report_key", "split_order_id"]

#: The workflow steps after ``save``, by how far a bill is taken.
STEPS = {"save": (), "submit": ("submit",), "audit": ("submit", "audit")}
_SAFE = re.compile(r"^[A-Za-z0-9._:/-]{1,80}$")
_ORDER_ID = re.compile(r"^(?P<bill>.+)-(?P<seq>[0-9]{1,6})$")


def report_key(report_id: str) -> str:
    """The report's key in a bill's text field: ``MES:<report_id>`` when it is short and plain,
    else ``MES:`` and a digest of it (never a quote: it goes into a FilterString)."""
    if _SAFE.fullmatch(report_id):
        return f"MES:{report_id}"
    return "MES:" + hashlib.sha256(report_id.encode("utf-8")).hexdigest()[:40]


def split_order_id(order_id: str) -> tuple[str, int]:
    """``MO000123-2`` -> (``MO000123``, 2): the PRD_MO bill and entry row an order is.

    Raises:
        PermanentError: the order id is not ``<FBillNo>-<FSeq>``.
    """
    match = _ORDER_ID.fullmatch(order_id)
    if match is None:
        raise PermanentError(
            f"order {order_id!r} is not a K/3 Cloud order row: expected <FBillNo>-<FSeq> (e.g. MO000123-1), "
            "as the bridge delivers PRD_MO entry rows"
        )
    return match["bill"], int(match["seq"])


def _entries(model: Mapping[str, Any]) -> list[Any]:
    entries = model.get("FEntity")
    return entries if isinstance(entries, list) else []


def plan_report(
    envelope: Mapping[str, Any], settings: KingdeeTargetSettings, render: Callable[[str], Mapping[str, Any]],
) -> list[RemoteCall]:
    """The calls of a ``created`` report: each bill's save and workflow steps."""
    payload = envelope.get("payload") or {}
    report_id, order_id = str(payload.get("report_id") or ""), str(payload.get("order_id") or "")
    if not report_id:
        raise PermanentError("a report without report_id cannot be posted to K/3 Cloud")
    split_order_id(order_id)
    key = report_key(report_id)
    calls: list[RemoteCall] = []
    for form in settings.bills:
        model = dict(render(form))
        if not _entries(model):
            continue  # nothing of this kind in the report (no produced or consumed lot)
        save_key = f"{report_id}/{form}/save"
        request = {"form": form, "model": model, "order_id": order_id, "key": key}
        calls.append(RemoteCall(save_key, "save", request, ident=key))
        for step in STEPS[settings.workflow]:
            calls.append(RemoteCall(f"{report_id}/{form}/{step}", step, {"form": form, "key": key, "order_id": order_id},
                                    ident=key, needs=(save_key,)))
    if not calls:
        raise PermanentError(f"report {report_id}: the mappings rendered no bill with entries for K/3 Cloud")
    return calls


def plan_reversal(envelope: Mapping[str, Any], settings: KingdeeTargetSettings) -> list[RemoteCall]:
    """The calls of a ``reversed`` report: undo each bill its original made, last bill first."""
    payload = envelope.get("payload") or {}
    original = str(payload.get("reversal_of") or "")
    if not original:
        raise PermanentError(f"reversed report {payload.get('report_id')!r} names no reversal_of")
    key = report_key(original)
    return [RemoteCall(f"{original}/{form}/reverse", "reverse", {"form": form, "key": key,
                                                                 "order_id": str(payload.get("order_id") or "")},
                       ident=key)
            for form in reversed(settings.bills)]


def plan_lot(envelope: Mapping[str, Any], settings: KingdeeTargetSettings) -> list[RemoteCall]:
    """A lot's status change as the operation the route maps it to (Forbid / Enable)."""
    payload = envelope.get("payload") or {}
    status = str(payload.get("status") or "")
    operation = settings.lot_status.get(status)
    lot, material = str(payload.get("lot_id") or ""), str(payload.get("material_id") or "")
    if operation is None:
        raise PermanentError(
            f"lot {lot} of {material}: status {status!r} has no K/3 Cloud operation (BD_BatchMainFile "
            f"offers Forbid and Enable; the route maps {', '.join(sorted(settings.lot_status)) or 'none'})"
        )
    message_id = str(envelope.get("message_id") or "")
    return [RemoteCall(f"{message_id}/lot", "lot_status", {"lot": lot, "material": material, "operation": operation,
                                                           "status": status}, ident=f"{material}/{lot}")]
