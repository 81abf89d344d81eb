"""BAPI_BATCH_CHANGE: batch master attributes, and the batch status restricted <-> unrestricted.

Changing RESTRICTED (flagged X in BATCHATTRIBUTESX) moves the batch's whole unrestricted stock
to restricted-use stock (an automatic 341 material document) or back (342), as SAP's batch
status management does (reference §8.6).
"""

from __future__ import annotations

from typing import Any

from adapters.sap.simulator.context import LOCK_USER, CallContext, today_iso
from adapters.sap.simulator.messages import message
from adapters.sap.simulator.state import GoodsLine, alpha_material

__all__ = ["batch_change"]


def _status_move(ctx: CallContext, key: tuple[str, str, str], restricted: bool) -> None:
    material, plant, batch = key
    source = "U" if restricted else "R"
    amount = ctx.state.stock.get((*key, source))
    if not amount:
        return
    line = GoodsLine(material=material, plant=plant, batch=batch, move_type="341" if restricted else "342",
                     quantity=amount, automatic=True)
    ctx.state.post_goods([line], posting_date=today_iso(), header_text="Batch status change", username=ctx.user)


def batch_change(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    material, batch = alpha_material(params["MATERIAL"]), params["BATCH"].upper()
    plant = params.get("PLANT", "")
    attributes = params.get("BATCHATTRIBUTES", {})
    flags = params.get("BATCHATTRIBUTESX", {})
    with ctx.state.lock:
        keys = [k for k in ctx.state.batches if k[0] == material and k[2] == batch and (not plant or k[1] == plant)]
    if not keys:
        return {"RETURN": [message("E", "ZSIM", "050", "Batch &1 of material &2 does not exist", batch, material)]}
    if ctx.lock_drawn:
        return {"RETURN": [message("E", "M3", "024", "Plant data of material &1 is locked by user &2", material,
                                   LOCK_USER)]}
    ctx.pause()
    with ctx.state.lock:
        for key in keys:
            record = ctx.state.batches[key]
            was_restricted = record.get("RESTRICTED") == "X"
            for name, flag in flags.items():
                if flag == "X":
                    record[name] = attributes.get(name, "")
            now_restricted = record.get("RESTRICTED") == "X"
            if now_restricted != was_restricted:
                _status_move(ctx, key, now_restricted)
        shown = dict(ctx.state.batches[keys[0]])
    return {"BATCHATTRIBUTES": shown,
            "RETURN": [message("S", "ZSIM", "051", "Batch &1 of material &2 changed", batch, material)]}
