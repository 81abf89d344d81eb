"""The demo's MES and its look into SAP: waits for the production order SAP sent through the
bridge, reports work back (yield, scrap, consumed and produced lots) with
``POST /api/v1/feedback``, then reads SAP's confirmation and goods movements back with zeep
through SAP's own read BAPIs and prints what SAP holds.

Usage: python scripts/demo_mes.py QUEUE BRIDGE_URL SAP_URL (secrets from the environment)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx
import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.sap.soap_client import SapSoapClient  # noqa: E402
from adapters.sap.target import SapTargetSettings  # noqa: E402

AMQP_URL = os.environ.get("BRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def wait_for_order(queue: str, timeout: float = 60) -> dict:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.2)
                continue
            envelope = json.loads(body)
            if envelope["entity"] == "order":
                return envelope
        raise SystemExit(f"demo: no order reached the MES queue {queue} within {timeout:.0f} s")
    finally:
        connection.close()


def work_report(order: dict) -> dict:
    """What a MES sends when the shift reports the order's first operation (its own JSON)."""
    payload = order["payload"]
    today = time.strftime("%Y-%m-%d")
    return {
        "report_id": f"WR-DEMO-{int(time.time())}",
        "reported_at": f"{today}T14:31:07+08:00",
        "sender": "MES-DEMO",
        "order": payload["order_id"],
        "operation": "0010",
        "operator": "1024",  # SAP personnel number (PERS_NO, NUMC 8)
        "machine": "CNC-07",
        "good": 3,
        "scrap": 0.5,
        "unit": "ST",
        "start_time": f"{today}T08:00:00+08:00",
        "end_time": f"{today}T14:30:00+08:00",
        "final": False,
        "produced_lot": {"material": payload["material_id"], "lot": "L-DEMO-01", "quantity": 3},
        "consumed_lots": [
            {"material": "R1CH01007", "lot": "B-4711", "quantity": "35.6", "unit": "CM"},
            {"material": "R1MF00012", "quantity": 4, "unit": "ST"},
        ],
    }


def main() -> None:
    queue, bridge_url, sap_url = sys.argv[1:4]
    order = wait_for_order(queue)
    print(f"MES received order {order['payload']['order_id']} ({order['event']}): "
          f"{order['payload']['quantity']['value']} {order['payload']['quantity']['unit']} of "
          f"{order['payload']['material_id']} at plant {order['payload']['site']}")
    report = work_report(order)
    reply = httpx.post(f"{bridge_url}/api/v1/feedback", json=report, timeout=30,
                       headers={"Authorization": f"Bearer {os.environ['MES_FEEDBACK_TOKEN']}"})
    print(f"MES reported {report['report_id']}: good {report['good']}, scrap {report['scrap']}, "
          f"produced lot {report['produced_lot']['lot']}, consumed lots B-4711 and R1MF00012 -> HTTP {reply.status_code}")
    if reply.status_code != 202:
        raise SystemExit(f"demo: the bridge refused the report: {reply.text}")
    sap = SapSoapClient(SapTargetSettings(url=sap_url), os.environ["SAP_USER"], os.environ["SAP_PASSWORD"])
    order_id = order["payload"]["order_id"].zfill(12)
    deadline = time.monotonic() + 60
    while True:
        rows = sap.call("BAPI_PRODORDCONF_GETLIST", {"ORDER_RANGE": [{"SIGN": "I", "OPTION": "EQ", "LOW": order_id}]})
        mine = [r for r in rows["CONFIRMATIONS"] if r.get("EX_IDENT") == report["report_id"]]
        items = sap.call("BAPI_GOODSMVT_GETITEMS", {"PSTNG_DATE_RA": [{"SIGN": "I", "OPTION": "EQ", "LOW": time.strftime("%Y-%m-%d")}]})
        texts = {h["MAT_DOC"]: h["HEADER_TXT"] for h in items["GOODSMVT_HEADER"]}
        moved = [i for i in items["GOODSMVT_ITEMS"] if str(texts.get(i["MAT_DOC"], "")).startswith(report["report_id"])]
        if mine and len(moved) >= 3:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: SAP does not hold the report after 60 s (confirmations {mine}, movements {moved})")
        time.sleep(0.5)
    [row] = mine
    detail = sap.call("BAPI_PRODORDCONF_GETDETAIL", {"CONFIRMATION": row["CONF_NO"], "CONFIRMATIONCOUNTER": row["CONF_CNT"]})
    conf = detail["CONF_DETAIL"]
    print(f"SAP holds confirmation {row['CONF_NO']}/{row['CONF_CNT']} of order {order_id} (EX_IDENT {row['EX_IDENT']}): "
          f"yield {conf['YIELD']} {conf['CONF_QUAN_UNIT']}, scrap {conf['SCRAP']}, posted {conf['POSTG_DATE']}")
    for item in sorted(moved, key=lambda i: (i["MOVE_TYPE"], i["MATERIAL"])):
        print(f"SAP holds material document {item['MAT_DOC']}/{item['DOC_YEAR']}: movement {item['MOVE_TYPE']} "
              f"{item['ENTRY_QNT']} {item['ENTRY_UOM']} of {item['MATERIAL']}"
              + (f" batch {item['BATCH']}" if item.get("BATCH") else ""))
    deadline = time.monotonic() + 30
    while True:  # the order IDoc's status, as the bridge confirmed it to SAP (ALEAUD01)
        monitor = httpx.get(f"{sap_url}/simulator/idocs", auth=(os.environ["SAP_USER"], os.environ["SAP_PASSWORD"]),
                            timeout=10).json()["outbound"]
        if monitor or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for docnum, entries in sorted(monitor.items()):
        last = entries[-1]
        print(f"SAP's IDoc monitor: {last['message_type']} IDoc {docnum} has status {last['status']} "
              f"({'application document created in the target system' if last['status'] == '41' else last['text']})")
    if not monitor:
        raise SystemExit("demo: SAP received no IDoc status from the bridge within 30 s")
    print("closed loop: SAP order -> MES -> work report -> SAP confirmation and goods movements, each posted once")


if __name__ == "__main__":
    main()
