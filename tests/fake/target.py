"""An in-memory ERP: postings are not idempotent, and it can fail before or after posting."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.adapter import Adapter
from bridge.adapter.sink import Acknowledgement, DeliveryContext, DocumentRef, RemoteCall, SinkContext
from bridge.errors import PermanentError, TransientError
from bridge.sinks.base import SinkEvent

__all__ = ["FakeSink", "FakeTarget", "fake_adapter"]


@dataclass
class FakeTarget:
    """Postings by number; each keeps the ident it was sent with (as SAP keeps EX_IDENT)."""

    postings: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0  # calls refused before any effect (an outage)
    lose_next: int = 0  # calls posted whose reply is then lost
    refuse_orders: set[str] = field(default_factory=set)
    in_flight_per_order: dict[str, int] = field(default_factory=dict)
    most_in_flight_per_order: int = 0
    lookups: int = 0
    _numbers: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, operation: str, ident: str, order: str, data: Mapping[str, Any]) -> str:
        with self._lock:
            self.in_flight_per_order[order] = self.in_flight_per_order.get(order, 0) + 1
            self.most_in_flight_per_order = max(self.most_in_flight_per_order, self.in_flight_per_order[order])
        try:
            with self._lock:
                if self.fail_next:
                    self.fail_next -= 1
                    raise TransientError("fake target: 503 Service Unavailable")
                if order in self.refuse_orders:
                    raise PermanentError(f"fake target: E ZF 001 order {order} is not released")
                number = f"{next(self._numbers):010d}"
                self.postings.append({"number": number, "operation": operation, "ident": ident, "order": order, **data})
                if self.lose_next:
                    self.lose_next -= 1
                    raise TransientError("fake target: connection reset after posting (reply lost)")
                return number
        finally:
            with self._lock:
                self.in_flight_per_order[order] -= 1

    def find(self, ident: str) -> str | None:
        with self._lock:
            self.lookups += 1
            return next((p["number"] for p in self.postings if p["ident"] == ident), None)

    def count(self, ident_prefix: str = "") -> int:
        return sum(1 for p in self.postings if p["ident"].startswith(ident_prefix))


@dataclass
class FakeSink:
    """A remote sink over :class:`FakeTarget`: a report is a confirmation plus a goods receipt."""

    target: FakeTarget
    name: str = "fake"
    in_flight: int = 4
    mode: Literal["remote"] = "remote"
    sent: list[str] = field(default_factory=list)

    def serial_key(self, event: SinkEvent) -> str:
        return str(event.envelope["payload"].get("order_id", ""))

    def plan(self, event: SinkEvent, context: DeliveryContext) -> Sequence[RemoteCall]:
        payload = event.envelope["payload"]
        report_id, order = payload["report_id"], payload["order_id"]
        facts = context.order(order) or {}
        calls = [
            RemoteCall(f"{report_id}/confirmation", "confirmation", {"order": order, "plant": facts.get("site")}, f"{report_id}:C")
        ]
        if payload.get("produced"):
            calls.append(RemoteCall(f"{report_id}/receipt", "receipt", {"order": order}, f"{report_id}:R"))
        return calls

    def lookup(self, call: RemoteCall) -> Acknowledgement | None:
        number = self.target.find(call.ident)
        return Acknowledgement((DocumentRef(call.operation, number),), found_by_lookup=True) if number else None

    def send(self, call: RemoteCall, earlier: Mapping[str, Acknowledgement]) -> Acknowledgement:
        self.sent.append(call.key)
        number = self.target.post(call.operation, call.ident, str(call.request["order"]), dict(call.request))
        return Acknowledgement((DocumentRef(call.operation, number),))

    def close(self) -> None:
        """Nothing held."""


TARGET = FakeTarget()


def make_fake_sink(context: SinkContext) -> FakeSink:
    return FakeSink(TARGET, context.route)


fake_adapter = Adapter(name="fake", sink=make_fake_sink)
