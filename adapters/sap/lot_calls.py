"""A MES quality decision on a lot (``lot.status_changed``) as the SAP call the route configures.

Per status (reference §8.6; ``lot_status`` in the route's settings):

* ``batch_status``: BAPI_BATCH_CHANGE sets the batch's restricted flag (SAP then moves the stock
  between unrestricted and restricted-use itself; the site must use batch status management);
* ``transfer``: a stock transfer (BAPI_GOODSMVT_CREATE, GM_CODE 04) of the lot's quantity with
  the configured movement type: 344 unrestricted -> blocked, 343 back, 349/350 for QI stock.

Other lot events (created, changed) carry nothing SAP needs from the MES: receipts create the
batches. They are acknowledged without a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.sap.report_calls import ident
from adapters.sap.target import SapTargetSettings
from bridge.adapter.sink import RemoteCall
from bridge.errors import PermanentError

__all__ = ["plan_lot"]


def _material(material: str) -> str:
    return material.zfill(18) if material.isdigit() else material


def plan_lot(envelope: Mapping[str, Any], settings: SapTargetSettings) -> list[RemoteCall]:
    """The call that gives SAP the lot's new status (none for other lot events)."""
    if envelope.get("event") != "status_changed":
        return []
    payload = envelope["payload"]
    lot, status = str(payload["lot_id"]), str(payload.get("status", ""))
    move = settings.lot_status.get(status)
    if move is None:
        raise PermanentError(
            f"lot {lot}: status {status!r} has no SAP mechanism configured "
            f"(route lot_status has: {', '.join(sorted(settings.lot_status)) or 'none'})"
        )
    material = _material(str(payload["material_id"]))
    plant = payload.get("site") or settings.plant
    if not plant:
        raise PermanentError(f"lot {lot}: no plant: the lot names no site and the route sets no `plant`")
    version = str(envelope.get("version") or envelope.get("message_id"))
    key = f"lot/{material}/{lot}/{version}/{status}"
    posting_date = str(envelope.get("occurred_at") or "")[:10] or date.today().isoformat()
    if move.mechanism == "batch_status":
        flag = "X" if move.restricted else ""
        params = {
            "MATERIAL": material, "BATCH": lot, "PLANT": plant,
            "BATCHATTRIBUTES": {"RESTRICTED": flag}, "BATCHATTRIBUTESX": {"RESTRICTED": "X"},
        }
        return [RemoteCall(key, "lot_status", {"bapi": "BAPI_BATCH_CHANGE", "params": params, "lookup": {"idempotent": True}})]
    quantity = payload.get("quantity") or {}
    if not quantity.get("value"):
        raise PermanentError(f"lot {lot}: a transfer to status {status!r} ({move.move_type}) needs the lot's quantity")
    header_text = ident(f"{lot}@{version}", 25, "/S")
    item = {
        "MATERIAL": material, "PLANT": plant, "BATCH": lot, "MOVE_TYPE": move.move_type,
        "ENTRY_QNT": str(quantity["value"]), "ENTRY_UOM": str(quantity.get("unit") or ""),
    }
    if settings.receipt_storage_location:
        item["STGE_LOC"] = settings.receipt_storage_location
    params = {
        "GOODSMVT_HEADER": {"PSTNG_DATE": posting_date, "DOC_DATE": posting_date, "HEADER_TXT": header_text},
        "GOODSMVT_CODE": {"GM_CODE": "04"},
        "GOODSMVT_ITEM": [item],
    }
    lookup = {"move_types": [move.move_type], "posting_date": posting_date, "materials": [material]}
    return [RemoteCall(key, "lot_transfer", {"bapi": "BAPI_GOODSMVT_CREATE", "params": params, "lookup": lookup}, header_text)]
