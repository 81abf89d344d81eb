"""The Kingdee and Yonyou loops as the integration tests drive them: a simulator seeded with
orders, the bridge's settings for it, and how to count what the ERP holds per report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.config import Settings
from tests.polling import free_port
from tests.unit import kingdee_support, yonyou_support

from .harness import AMQP_URL, MAPPINGS, unique_prefix

KINGDEE_FORMS = ("PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl")
YONYOU_KINDS = ("finishedreport", "storeprorecord", "materialout")


def settings_for(tmp_path: Path, system: str, source: dict[str, Any], route: dict[str, Any], *,
                 tiers: tuple[str, ...] = ("1s", "2s"), attempts: int = 2) -> Settings:
    prefix = unique_prefix()
    return Settings.model_validate({
        "amqp_url": AMQP_URL,
        "database_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "http_port": free_port(),
        "http_host": "127.0.0.1",
        "mappings_dir": str(MAPPINGS),
        "log_format": "text",
        "broker": {
            "prefix": prefix, "mes_exchange": f"{prefix}.mes.events", "feedback_exchange": f"{prefix}.mes.feedback",
            "retry_tiers": list(tiers), "delivery_limit": 60, "batch_wait_ms": 5, "in_process_attempts": attempts,
            "confirm_timeout_s": 10, "reconnect_max_wait_s": 2, "heartbeat_s": 10,
        },
        "sources": {system: {"timezone": "Asia/Shanghai", **source}, "mes": {"timezone": "Asia/Shanghai"}},
        "routes": [
            {"name": "mes", "sink": "mes", "events": ["order.*", "material.*", "lot.created", "lot.changed"]},
            {"name": system, "sink": system, "events": ["report.*", "lot.status_changed"], "timeout_s": 5, **route},
        ],
    })


@dataclass
class KingdeeLoop:
    """K/3 Cloud: PRD_MO rows as orders, reports as three audited bills."""

    sim: Any
    system: str = "kingdee"

    @classmethod
    def start(cls, orders: int = 0, **options: Any) -> KingdeeLoop:
        sim = kingdee_support.simulator(**options)
        for n in range(orders):
            sim.seed_bill("PRD_MO", {
                "FBillNo": f"MO9{n:05d}", "FDate": "2026-12-01", "FPrdOrgId": {"FNumber": "100"},
                "FTreeEntity": [{"FMaterialId": {"FNumber": "FG-100"}, "FQty": 1000, "FUnitId": {"FNumber": "Pcs"},
                                 "FStatus": "4", "FStockId": {"FNumber": "FG01"},
                                 "Components": [{"FMaterialID2": {"FNumber": "RM-200"}, "FUnitID2": {"FNumber": "kg"},
                                                 "FMustQty": 5000, "FStockID": {"FNumber": "RM01"}}]}]})
        sim.start()
        return cls(sim)

    seeded = ("MO001001-1", "MO001001-2")  # the test seed's order rows

    def order_ids(self, orders: int) -> list[str]:
        return [f"MO9{n:05d}-1" for n in range(orders)]

    def env(self) -> dict[str, str]:
        return {"KINGDEE_APP_SECRET": kingdee_support.APP_SECRET, "MES_FEEDBACK_TOKEN": "mes-token"}

    def connection(self) -> dict[str, Any]:
        return {"url": self.sim.url, "acct_id": kingdee_support.ACCT, "user": kingdee_support.USER,
                "app_id": kingdee_support.APP_ID}

    def source(self) -> dict[str, Any]:
        return {**self.connection(), "poll": {"poll_s": 0.3, "overlap_s": 5, "since": "2026-01-01 00:00:00",
                                              "forms": {"PRD_MO": {"filter": "FDocumentStatus = 'C'"}}}}

    def route(self, **more: Any) -> dict[str, Any]:
        return {**self.connection(), **more}

    def report(self, report_id: str, order: str) -> dict[str, Any]:
        return kingdee_support.report(report_id, order=order)

    def posted(self) -> Counter[tuple[str, str]]:
        """(form, report key) -> bills, audited ones only."""
        return Counter((form, b.get("FDescription", "")) for form in KINGDEE_FORMS for b in self.sim.bills(form)
                       if b["FDocumentStatus"] == "C")

    def all_bills(self) -> Counter[tuple[str, str]]:
        return Counter((form, b.get("FDescription", "")) for form in KINGDEE_FORMS for b in self.sim.bills(form))

    def stocked_in(self, order: str) -> Decimal:
        bill, seq = order.rsplit("-", 1)
        [mo] = [b for b in self.sim.bills("PRD_MO") if b["FBillNo"] == bill]
        row = next(r for r in mo["FTreeEntity"] if int(r["FSeq"]) == int(seq))
        return Decimal(str(row.get("FStockInQuaQty") or 0))

    def add_order(self, number: str, status: str) -> None:
        self.sim.seed_bill("PRD_MO", {
            "FBillNo": number, "FDate": "2026-12-01", "FPrdOrgId": {"FNumber": "100"},
            "FTreeEntity": [{"FMaterialId": {"FNumber": "FG-100"}, "FQty": 10, "FUnitId": {"FNumber": "Pcs"},
                             "FStatus": status}]})

    def change_order(self, number: str, quantity: int) -> None:
        [mo] = [b for b in self.sim.bills("PRD_MO") if b["FBillNo"] == number]
        row = mo["FTreeEntity"][0]
        self.sim.change_bill("PRD_MO", number, {"FTreeEntity": [{"FEntryID": row["FEntryID"], "FQty": quantity}]})

    def stop(self) -> None:
        self.sim.stop()


@dataclass
class YonyouLoop:
    """YonBIP: production order lines as orders, reports as three audited documents."""

    sim: Any
    system: str = "yonyou"

    @classmethod
    def start(cls, orders: int = 0, **options: Any) -> YonyouLoop:
        sim = yonyou_support.simulator(**options)
        for n in range(orders):
            sim.seed_order({"code": f"SCDD9{n:05d}", "orgCode": "PLANT1", "transTypeCode": "PO-001",
                            "productionDepartmentCode": "WS-01", "vouchdate": "2026-12-01", "status": 1,
                            "orderProduct": [{"materialCode": "FG-100", "quantity": 1000, "startDate": "2026-12-02",
                                              "finishDate": "2026-12-04",
                                              "orderMaterial": [{"materialCode": "RM-200", "recipientQuantity": 5000}]}]})
        sim.start()
        return cls(sim)

    seeded = (f"{yonyou_support.ORDER}-10", f"{yonyou_support.ORDER}-20")  # the test seed's order lines

    def order_ids(self, orders: int) -> list[str]:
        return [f"SCDD9{n:05d}-10" for n in range(orders)]

    def env(self) -> dict[str, str]:
        return {**yonyou_support.ENV, "MES_FEEDBACK_TOKEN": "mes-token"}

    def connection(self) -> dict[str, Any]:
        return {"url": self.sim.url, "tenant_id": yonyou_support.TENANT}

    def source(self) -> dict[str, Any]:
        return {**self.connection(), "poll": {"poll_s": 0.3, "overlap_s": 5, "since": "2026-01-01 00:00:00",
                                              "feeds": ["productionorder"]}}

    def route(self, **more: Any) -> dict[str, Any]:
        return {**self.connection(), "warehouse": "WH-FG", **more}

    def report(self, report_id: str, order: str) -> dict[str, Any]:
        return yonyou_support.report(report_id, order=order)

    def posted(self) -> Counter[tuple[str, str]]:
        return Counter((kind, d.get("out_sys_id", "")) for kind in YONYOU_KINDS for d in self.sim.documents(kind)
                       if str(d.get("status")) == "1")

    def all_bills(self) -> Counter[tuple[str, str]]:
        return Counter((kind, d.get("out_sys_id", "")) for kind in YONYOU_KINDS for d in self.sim.documents(kind))

    def stocked_in(self, order: str) -> Decimal:
        code, line_no = order.rsplit("-", 1)
        [doc] = [o for o in self.sim.documents("productionorder") if o["code"] == code]
        line = next(ln for ln in doc["orderProduct"] if int(ln["lineNo"]) == int(line_no))
        return Decimal(str(line.get("incomingQuantity") or 0))

    def add_order(self, number: str, status: str) -> None:
        self.sim.seed_order({"code": number, "orgCode": "PLANT1", "transTypeCode": "PO-001",
                             "productionDepartmentCode": "WS-01", "vouchdate": "2026-12-01", "status": int(status),
                             "orderProduct": [{"materialCode": "FG-100", "quantity": 10, "startDate": "2026-12-02",
                                               "finishDate": "2026-12-04"}]})

    def change_order(self, number: str, quantity: int) -> None:
        [doc] = [o for o in self.sim.documents("productionorder") if o["code"] == number]
        self.sim.change_order(doc["id"], {"orderProduct": [{"id": doc["orderProduct"][0]["id"], "quantity": quantity}]})

    def stop(self) -> None:
        self.sim.stop()


LOOPS = {"kingdee": KingdeeLoop, "yonyou": YonyouLoop}
