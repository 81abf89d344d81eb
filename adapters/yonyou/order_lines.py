"""What the Yonyou sink reads back from YonBIP: the production order line an order_id names
(``<code>-<lineNo>``), with its components, and the documents carrying a report's key."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import PermanentError

__all__ = ["OrderLine", "OrderLines", "split_order_id"]

_ORDER_ID = re.compile(r"^(?P<code>.+)-(?P<line>[0-9]{1,6})$")


def split_order_id(order_id: str) -> tuple[str, int]:
    """``SCDD20261201000101-10`` -> (``SCDD20261201000101``, 10).

    Raises:
        PermanentError: the order id is not ``<code>-<lineNo>``.
    """
    match = _ORDER_ID.fullmatch(order_id)
    if match is None:
        raise PermanentError(
            f"order {order_id!r} is not a YonBIP order line: expected <code>-<lineNo> (e.g. SCDD20261201000101-10), "
            "as the bridge delivers production order lines"
        )
    return match["code"], int(match["line"])


@dataclass(frozen=True)
class OrderLine:
    """A production order line: its order's id and code, the line's id and number, and facts."""

    order_id: str
    code: str
    line_id: str
    line_no: int
    org_id: str
    org_code: str
    department_id: str
    department_code: str
    material: str
    components: Mapping[str, str] = field(default_factory=dict)  # material code -> orderMaterial id


class OrderLines:
    """Reads for one route; lines are cached (their ids do not change)."""

    def __init__(self, client: Any, cache_size: int = 10_000) -> None:
        self.client, self.cache_size = client, cache_size
        self._lines: OrderedDict[str, OrderLine] = OrderedDict()
        self._lock = threading.Lock()

    def line(self, order_id: str) -> OrderLine:
        """The line of ``order_id``.

        Raises:
            PermanentError: not an order line id, or YonBIP has no such line.
        """
        with self._lock:
            found = self._lines.get(order_id)
            if found is not None:
                self._lines.move_to_end(order_id)
                return found
        code, line_no = split_order_id(order_id)
        reply = self.client.post("/yonbip/mfg/productionorder/list", {
            "pageIndex": 1, "pageSize": 100, "isShowMaterial": True,
            "simpleVOs": [{"field": "code", "op": "eq", "value1": code}]})
        rows = ((reply.get("data") or {}).get("recordList") or []) if isinstance(reply, Mapping) else []
        row = next((r for r in rows if str(r.get("code")) == code and str(r.get("OrderProduct_lineNo")) == str(line_no)), None)
        if row is None:
            raise PermanentError(f"order {order_id}: YonBIP has no production order {code} with line {line_no}")
        components = {str(m.get("materialCode")): str(m.get("id")) for m in row.get("orderMaterial") or []
                      if isinstance(m, Mapping)}
        line = OrderLine(str(row.get("id")), code, str(row.get("orderProduct_id")), line_no, str(row.get("orgId") or ""),
                         str(row.get("orgCode") or ""), str(row.get("productionDepartmentId") or ""),
                         str(row.get("productionDepartmentCode") or ""), str(row.get("OrderProduct_materialCode") or ""),
                         components)
        with self._lock:
            self._lines[order_id] = line
            while len(self._lines) > self.cache_size:
                self._lines.popitem(last=False)
        return line

    def by_key(self, path: str, key_field: str, key: str) -> list[Mapping[str, Any]]:
        """The documents of the list API at ``path`` whose ``key_field`` is ``key``."""
        reply = self.client.post(path, {"pageIndex": 1, "pageSize": 50,
                                        "simpleVOs": [{"field": key_field, "op": "eq", "value1": key}]})
        rows = ((reply.get("data") or {}).get("recordList") or []) if isinstance(reply, Mapping) else []
        seen: dict[str, Mapping[str, Any]] = {}
        for row in rows:  # list rows are line-level: one document per id
            if isinstance(row, Mapping) and str(row.get(key_field)) == key:
                seen.setdefault(str(row.get("id")), row)
        return list(seen.values())
