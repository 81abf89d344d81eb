"""The demo's MES against Kingdee K/3 Cloud or Yonyou YonBIP: waits for a production order the
bridge polled from the ERP, reports work back (yield, scrap, produced and consumed lots) with
``POST /api/v1/feedback``, then reads back through the ERP's own API what it holds: the bills the
report became, their status, and the order's reported and stocked-in quantities.

Usage: python scripts/demo_erp.py kingdee|yonyou QUEUE BRIDGE_URL (addresses and secrets from the
environment, as examples/kingdee-loop.yaml and examples/yonyou-loop.yaml name them)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AMQP_URL = os.environ.get("BRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
#: per ERP: the order row the MES works on, what it produces and consumes
WORK = {
    "kingdee": {"order": "MO260301-1", "produced": ("FG-2001", None), "unit": "Pcs",
                "consumed": [("RM-3105", None, "30", "Pcs"), ("RM-3210", None, "60", "Pcs")]},
    "yonyou": {"order": "SCDD20261201000101-10", "produced": ("FG-1001", None), "unit": "PCS",
               "consumed": [("RM-2001", "ST-2611-01", "30", "PCS"), ("RM-2002", "VN-2610-07", "1.5", "KGM")]},
}


def wait_for_orders(queue: str, wanted: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The orders on the MES queue, once ``wanted`` is among them."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    orders: list[dict[str, Any]] = []
    try:
        channel = connection.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                if any(o["payload"]["order_id"] == wanted for o in orders):
                    return orders
                time.sleep(0.2)
                continue
            envelope = json.loads(body)
            if envelope["entity"] == "order":
                orders.append(envelope)
        raise SystemExit(f"demo: order {wanted} did not reach the MES queue {queue} within {timeout:.0f} s")
    finally:
        connection.close()


def work_report(erp: str, report_id: str) -> dict[str, Any]:
    work = WORK[erp]
    today = time.strftime("%Y-%m-%d")
    material, _ = work["produced"]
    return {
        "report_id": report_id, "reported_at": f"{today}T14:31:07+08:00", "sender": "MES-DEMO", "order": work["order"],
        "operator": "1024", "machine": "LINE-2", "good": 30, "scrap": 1, "unit": work["unit"], "final": False,
        "start_time": f"{today}T08:00:00+08:00", "end_time": f"{today}T14:30:00+08:00",
        "produced_lot": {"material": material, "lot": f"L-{report_id[-10:]}", "quantity": 30},
        "consumed_lots": [{"material": m, **({"lot": lot} if lot else {}), "quantity": q, "unit": u}
                          for m, lot, q, u in work["consumed"]],
    }


def until(what: str, found: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} within {timeout:.0f} s")
        time.sleep(0.5)


def kingdee_holds(key: str) -> None:
    from adapters.kingdee.settings import KingdeeConnection

    client = KingdeeConnection(url=os.environ["KINGDEE_URL"], acct_id=os.environ["KINGDEE_ACCT_ID"],
                               user=os.environ["KINGDEE_USER"], app_id=os.environ["KINGDEE_APP_ID"]).client("demo")
    forms = {"PRD_MORPT": "生产汇报单", "PRD_INSTOCK": "生产入库单", "PRD_PickMtrl": "生产领料单"}

    def bills() -> dict[str, list[list[Any]]]:
        found = {f: client.execute_bill_query(f, "FBillNo,FDocumentStatus", filter_string=f"FDescription = '{key}'")
                 for f in forms}
        return found if all(rows and rows[0][1] == "C" for rows in found.values()) else {}

    for form, rows in until("K/3 Cloud does not hold the report's three audited bills", bills).items():
        print(f"K/3 Cloud holds {form} ({forms[form]}) {rows[0][0]}, FDocumentStatus {rows[0][1]} (audited), "
              f"FDescription {key} - {len(rows)} bill")
    [[reported, stocked, picked]] = client.execute_bill_query(
        "PRD_MO", "FRepQuaQty,FStockInQuaQty,FNoStockInQty", filter_string="FBillNo = 'MO260301' AND FTreeEntity_FSeq = 1")
    print(f"K/3 Cloud's PRD_MO MO260301 row 1 now: reported {reported}, stocked in {stocked}, not yet stocked in {picked}")
    client.close()


def yonyou_holds(key: str) -> None:
    from adapters.yonyou.client import YonyouClient
    from adapters.yonyou.settings import YonyouClientSettings

    client = YonyouClient(YonyouClientSettings(url=os.environ["YONYOU_URL"], tenant_id=os.environ["YONYOU_TENANT_ID"]))
    kinds = {"mfg/finishedreport": "完工报告", "scm/storeprorecord": "产品入库", "scm/materialout": "材料出库"}

    def documents() -> dict[str, list[dict[str, Any]]]:
        found = {}
        for kind in kinds:
            rows = client.post(f"/yonbip/{kind}/list", {"pageIndex": 1, "pageSize": 10, "simpleVOs": [
                {"field": "out_sys_id", "op": "eq", "value1": key}]})["data"]["recordList"]
            found[kind] = {str(r["id"]): r for r in rows}
        return found if all(rows and all(str(r["status"]) == "1" for r in rows.values()) for rows in found.values()) else {}

    for kind, rows in until("YonBIP does not hold the report's three audited documents", documents).items():
        row = next(iter(rows.values()))
        print(f"YonBIP holds {kind.split('/')[1]} ({kinds[kind]}) {row['code']}, status {row['status']} (audited), "
              f"out_sys_id {key} - {len(rows)} document")
    order = client.post("/yonbip/mfg/productionorder/list", {"pageIndex": 1, "pageSize": 10, "simpleVOs": [
        {"field": "code", "op": "eq", "value1": "SCDD20261201000101"}]})["data"]["recordList"][0]
    print(f"YonBIP's production order SCDD20261201000101 line 10 now: completed "
          f"{order['OrderProduct_completedQuantity']}, stocked in {order['OrderProduct_incomingQuantity']}")
    client.close()


def main() -> None:
    erp, queue, bridge_url = sys.argv[1:4]
    work = WORK[erp]
    orders = wait_for_orders(queue, work["order"])
    for order in sorted(orders, key=lambda o: o["payload"]["order_id"]):
        p = order["payload"]
        print(f"MES received order {p['order_id']} ({order['event']}): {p['quantity']['value']} "
              f"{p['quantity']['unit']} of {p['material_id']} at {p.get('site', '?')}")
    report = work_report(erp, f"WR-{erp.upper()[:2]}-{int(time.time())}")
    reply = httpx.post(f"{bridge_url}/api/v1/feedback", json=report, timeout=30,
                       headers={"Authorization": f"Bearer {os.environ['MES_FEEDBACK_TOKEN']}"})
    print(f"MES reported {report['report_id']} on {work['order']}: good 30, scrap 1, produced lot "
          f"{report['produced_lot']['lot']}, consumed {', '.join(m for m, *_ in work['consumed'])} -> HTTP {reply.status_code}")
    if reply.status_code != 202:
        raise SystemExit(f"demo: the bridge refused the report: {reply.text}")
    (kingdee_holds if erp == "kingdee" else yonyou_holds)(f"MES:{report['report_id']}")
    print(f"closed loop: {erp} order -> MES -> work report -> {erp} bills, each posted once and audited")


if __name__ == "__main__":
    main()
