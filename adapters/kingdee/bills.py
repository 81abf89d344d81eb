"""What the Kingdee sink reads back from K/3 Cloud with ExecuteBillQuery: the PRD_MO entry row
an order is, the PRD_PPBOM rows of its components, and the bills carrying a report's key."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from adapters.kingdee.bill_calls import split_order_id
from bridge.errors import PermanentError

__all__ = ["BillReader", "BillRow", "Component", "MoEntry"]


def _quoted(value: str, what: str) -> str:
    if "'" in value or "\n" in value:
        raise PermanentError(f"{what} {value!r} cannot be looked up in K/3 Cloud (a quote or line break)")
    return f"'{value}'"


@dataclass(frozen=True)
class MoEntry:
    """A PRD_MO entry row: its bill's FID and number, the row's FEntryID and seq, and facts."""

    fid: str
    bill_no: str
    entry_id: str
    seq: int
    org: str
    material: str
    unit: str
    stock: str = ""


@dataclass(frozen=True)
class Component:
    """A PRD_PPBOM entry row of an order row: where its material is picked from."""

    fid: str
    entry_id: str
    stock: str = ""
    unit: str = ""


@dataclass(frozen=True)
class BillRow:
    """A bill found by a report's key."""

    fid: str
    number: str
    status: str


class BillReader:
    """Reads for one route; PRD_MO rows are cached (they do not change identity)."""

    def __init__(self, client: Any, key_field: str, cache_size: int = 10_000) -> None:
        self.client, self.key_field, self.cache_size = client, key_field, cache_size
        self._orders: OrderedDict[str, MoEntry] = OrderedDict()
        self._lock = threading.Lock()

    def mo_entry(self, order_id: str) -> MoEntry:
        """The PRD_MO entry row of ``order_id`` (``<FBillNo>-<FSeq>``).

        Raises:
            PermanentError: the order id is not of that form, or K/3 Cloud has no such row.
        """
        with self._lock:
            found = self._orders.get(order_id)
            if found is not None:
                self._orders.move_to_end(order_id)
                return found
        bill, seq = split_order_id(order_id)
        rows = self.client.execute_bill_query(
            "PRD_MO", "FID,FBillNo,FTreeEntity_FEntryId,FTreeEntity_FSeq,FPrdOrgId.FNumber,FMaterialId.FNumber,"
            "FUnitId.FNumber,FStockId.FNumber",
            filter_string=f"FBillNo = {_quoted(bill, 'order')} AND FTreeEntity_FSeq = {seq}", limit=2)
        if not rows:
            raise PermanentError(f"order {order_id}: K/3 Cloud has no PRD_MO {bill} with entry row {seq}")
        fid, number, entry_id, row_seq, org, material, unit, stock = (rows[0] + [None] * 8)[:8]
        entry = MoEntry(str(fid), str(number), str(entry_id), int(row_seq or seq), str(org or ""), str(material or ""),
                        str(unit or ""), str(stock or ""))
        with self._lock:
            self._orders[order_id] = entry
            while len(self._orders) > self.cache_size:
                self._orders.popitem(last=False)
        return entry

    def ppbom_entries(self, entry: MoEntry) -> dict[str, Component]:
        """The order row's components in PRD_PPBOM, by material number."""
        rows = self.client.execute_bill_query(
            "PRD_PPBOM", "FID,FEntity_FEntryID,FMaterialID2.FNumber,FStockID.FNumber,FUnitID2.FNumber",
            filter_string=f"FMOBillNO = {_quoted(entry.bill_no, 'order')} AND FMOEntrySeq = {entry.seq}")
        return {str(r[2]): Component(str(r[0]), str(r[1]), str(r[3] or ""), str(r[4] or "")) for r in rows if len(r) >= 5}

    def by_key(self, form: str, key: str) -> list[BillRow]:
        """The bills of ``form`` carrying ``key`` in the key field."""
        rows = self.client.execute_bill_query(
            form, "FID,FBillNo,FDocumentStatus", filter_string=f"{self.key_field} = {_quoted(key, 'key')}",
            order_string="FID ASC", limit=50)
        return [BillRow(str(r[0]), str(r[1]), str(r[2])) for r in rows if len(r) >= 3]

    def status(self, form: str, fid: str) -> str | None:
        rows = self.client.execute_bill_query(form, "FDocumentStatus", filter_string=f"FID = {int(fid)}", limit=1)
        return str(rows[0][0]) if rows and rows[0] else None
