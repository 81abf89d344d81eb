"""What every API of the simulator works on: the store, one lock, the clock and the tenant's
constants; the lookups the APIs share (materials by id or code, documents by id or code)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.yonyou.simulator.store import Store
from adapters.yonyou.simulator.times import Clock, later, now_text

__all__ = ["ApiReply", "ApiRequest", "SimState", "number", "ok"]

TENANT = "2400000000000001"
CREATOR = "OpenAPI"


@dataclass
class ApiRequest:
    """One call to a business API, authenticated."""

    method: str
    path: str
    params: dict[str, str]
    body: Any


@dataclass
class ApiReply:
    """A business API's answer: the JSON body, and whether it changed anything (a write whose
    reply the ``lose_reply_rate`` fault may then drop)."""

    body: Any
    committed: bool = False
    status: int = 200
    document_id: int | None = field(default=None, repr=False)


def ok(data: Any, code: Any = "200", message: str = "操作成功") -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def number(value: Any) -> int | float | None:
    """A quantity as the client sent it (a JSON number or a numeric text), as a JSON number;
    None when it is not a number."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)


class SimState:
    """The tenant the simulator plays."""

    def __init__(self, store: Store, clock: Clock, *, contradict_counts: bool = False,
                 resubmit_window_s: float = 3600.0) -> None:
        self.store, self.clock = store, clock
        self.contradict_counts = contradict_counts
        self.resubmit_window_s = resubmit_window_s
        self.lock = threading.RLock()

    def now(self) -> str:
        return now_text(self.clock)

    def today(self) -> str:
        return self.now()[:10] + " 00:00:00"

    def stamp(self, doc: dict[str, Any]) -> str:
        """Give ``doc`` a new ``pubts`` (later than its last one) and return it."""
        doc["pubts"] = later(self.clock, doc.get("pubts"))
        return doc["pubts"]

    def new_code(self, prefix: str) -> str:
        return self.store.new_code(prefix, self.now()[:10].replace("-", ""))

    # -- lookups -------------------------------------------------------------------------
    def material(self, value: Any) -> dict[str, Any] | None:
        """A material (product) by its id or its code."""
        if value in (None, ""):
            return None
        text = str(value)
        return next((p for p in self.store.all("product") if str(p["id"]) == text or p.get("code") == text), None)

    def find(self, kind: str, ref: Mapping[str, Any]) -> dict[str, Any] | None:
        """A document by ``id`` (first, as the API pages say: "以id为准") or ``code``."""
        doc_id = ref.get("id")
        if doc_id not in (None, "", 0, "0"):
            return self.store.get(kind, doc_id)
        code = ref.get("code")
        if code in (None, ""):
            return None
        return next((d for d in self.store.all(kind) if d.get("code") == code), None)
