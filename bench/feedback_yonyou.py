"""bench/feedback.py's Yonyou YonBIP variant (``--erp yonyou``).

The simulator is ``bridge simulate yonyou`` in its own process, seeded with ``--orders``
production orders of one line each (FG-100, its component RM-200) from a seed file written into
the bench's temp folder.

(a) baseline: plain httpx calls as the YonBIP API pages describe them: getGatewayAddress and a
    token from the self-built app's getAccessToken (HMAC-SHA256 signature,
    :func:`adapters.yonyou.signing.token_params`) once, before timing; then per report one
    ``POST /yonbip/mfg/finishedreport/save`` with a fresh ``resubmitCheckKey``, one after another
    (no look-up by key, no audit, no stock-in or issue);
(b) bridge: canonical reports on ``mes.feedback``, a route ``sink: yonyou`` with the documents of
    ``--yonyou-documents``, each saved and (``--workflow audit``) audited in calls of their own.

Exactly once: each document's list API (``/yonbip/.../list``), its rows' ``id`` and
``out_sys_id`` (the report's key), through :class:`adapters.yonyou.client.YonyouClient`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from adapters.yonyou.client import YonyouClient
from adapters.yonyou.settings import TOKEN_PATHS
from adapters.yonyou.signing import token_params, wire_query
from adapters.yonyou.sink import report_key
from adapters.yonyou.target import DOCUMENTS, YonyouTargetSettings

__all__ = ["BENCH", "YonyouBench"]

APP_KEY, APP_SECRET, TENANT = "5b9e1f0c7a2d4e6f8a1b3c5d7e9f0a2b", "bench-yonyou-secret", "tntbench"
TODAY = time.strftime("%Y-%m-%d")
_ENV = {"BENCH_YONYOU_APP_KEY": APP_KEY, "BENCH_YONYOU_APP_SECRET": APP_SECRET}


def order_code(order: int) -> str:
    return f"SCDD{time.strftime('%Y%m%d')}{order:06d}"


def seed(orders: int) -> dict[str, Any]:
    """The seed file's content: two materials, the component's lot, ``orders`` production orders."""
    return {
        "materials": [
            {"code": "FG-100", "name": "液压阀体", "unitCode": "PCE", "unitName": "件", "isBatchManage": True,
             "isExpiryDateManage": False},
            {"code": "RM-200", "name": "铝锭", "unitCode": "KGM", "unitName": "千克", "isBatchManage": True,
             "isExpiryDateManage": False},
        ],
        "batches": [{"product": "RM-200", "batchno": "B-4711", "producedate": TODAY, "stopstatus": False}],
        "orders": [{"code": order_code(n), "orgCode": "PLANT1", "transTypeCode": "PO-001", "productionDepartmentCode": "WS-01",
                    "vouchdate": TODAY, "status": 1,
                    "orderProduct": [{"materialCode": "FG-100", "quantity": 100000000, "startDate": TODAY, "finishDate": TODAY,
                                      "orderMaterial": [{"materialCode": "RM-200", "recipientQuantity": 250000000}]}]}
                   for n in range(1, orders + 1)],
    }


class YonyouBench:
    """What bench/feedback.py needs of one ERP: its simulator, baseline, route, reports, check."""

    erp = "YonBIP"
    sim_name = "YonBIP simulator"
    baseline_label = "plain httpx loop"
    route_name = "yonyou"

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.orders, self.latency_ms, self.workflow = args.orders, args.latency_ms, args.workflow
        if self.workflow not in ("save", "audit"):
            raise SystemExit(f"--workflow {self.workflow}: YonBIP's route takes save or audit")
        names = args.yonyou_documents
        self.documents = tuple(DOCUMENTS) if names == "all" else tuple(d.strip() for d in names.split(","))
        unknown = sorted(set(self.documents) - set(DOCUMENTS))
        if unknown or not self.documents:
            raise SystemExit(f"--yonyou-documents: unknown document {', '.join(unknown) or '(none)'} "
                             f"(known: {', '.join(DOCUMENTS)}, all)")
        self.seed_file = folder / "yonyou-seed.json"
        self.seed_file.write_text(json.dumps(seed(self.orders), ensure_ascii=False), encoding="utf-8")
        self.bridge_env = dict(_ENV)
        self.calls_per_report = len(self.documents) * (2 if self.workflow == "audit" else 1)
        self.baseline_reports = 0

    # -- the simulator -----------------------------------------------------------------------
    def command(self, port: int) -> tuple[list[str], dict[str, str]]:
        """``bridge simulate yonyou``'s arguments and the environment it reads its secrets from."""
        return (["simulate", "yonyou", "--port", str(port), "--tenant-id", TENANT, "--seed", str(self.seed_file),
                 "--latency-ms", str(self.latency_ms)], {"YONYOU_APP_KEY": APP_KEY, "YONYOU_APP_SECRET": APP_SECRET})

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    # -- (a) the baseline --------------------------------------------------------------------
    def baseline(self, url: str, count: int, tag: str) -> float:
        """One finishedreport/save per report, in sequence, after one token."""
        with httpx.Client(trust_env=False, timeout=30) as http:
            found = http.get(f"{url}/open-auth/dataCenter/getGatewayAddress", params={"tenantId": TENANT}).json()
            gateway, token_url = found["data"]["gatewayUrl"], found["data"]["tokenUrl"]
            query = wire_query(token_params(APP_KEY, APP_SECRET, int(time.time() * 1000)))
            issued = http.get(f"{token_url}{TOKEN_PATHS['base/v1']}?{query}").json()
            if str(issued.get("code")) != "00000":
                raise SystemExit(f"baseline: YonBIP refused the token: {issued}")
            save = f"{gateway}/yonbip/mfg/finishedreport/save?{wire_query({'access_token': issued['data']['access_token']})}"
            started = time.perf_counter()
            for n in range(count):
                report_id = f"B{tag}{n:06d}"
                data = {"resubmitCheckKey": uuid.uuid4().hex, "orgCode": "PLANT1", "transTypeCode": "RF001",
                        "productionDepartmentCode": "WS-01", "vouchdate": TODAY, "out_sys_id": report_key(report_id),
                        "finishedReportDetail": [{"materialCode": "FG-100", "upcode": order_code(n % self.orders + 1),
                                                  "quantity": 30.5, "qualifiedQuantity": 30, "scrapQuantity": 0.5,
                                                  "batchNo": f"L-{report_id}"[:20], "warehouseCode": "WH-FG",
                                                  "finishDate": f"{TODAY} 10:00:00", "_status": "Insert"}]}
                reply = http.post(save, json={"data": data}).json()
                result = reply.get("data") if isinstance(reply, dict) else None
                if str(reply.get("code")) != "200" or not isinstance(result, dict) or result.get("failCount"):
                    raise SystemExit(f"baseline: YonBIP refused report {report_id}: {reply}")
            elapsed = time.perf_counter() - started
        self.baseline_reports += count
        return count / elapsed

    # -- (b) the bridge ----------------------------------------------------------------------
    def route(self, url: str) -> dict[str, Any]:
        return {"sink": "yonyou", "url": url, "tenant_id": TENANT, "app_key_env": "BENCH_YONYOU_APP_KEY",
                "app_secret_env": "BENCH_YONYOU_APP_SECRET", "workflow": self.workflow, "documents": list(self.documents),
                "warehouse": "WH-FG"}

    def envelopes(self, count: int, tag: str) -> list[dict[str, Any]]:
        """The shape of tests/unit/yonyou_support.py ``report()``, spread over the orders."""
        out = []
        for n in range(count):
            report_id = f"R{tag}{n:06d}"
            out.append({
                "schema": "bridge.canonical/v1", "message_id": f"mes:BENCH:{report_id}:report", "entity": "report",
                "event": "created", "source": {"system": "mes", "instance": "BENCH", "document_type": "report",
                                               "document_id": report_id},
                "correlation_id": f"mes:BENCH:{report_id}", "version": "1", "occurred_at": f"{TODAY}T10:00:00+08:00",
                "payload": {
                    "report_id": report_id, "order_id": f"{order_code(n % self.orders + 1)}-10",
                    "yield_quantity": {"value": "30", "unit": "PCE"}, "scrap_quantity": {"value": "0.5", "unit": "PCE"},
                    "final": False, "posting_date": TODAY, "finished_at": f"{TODAY}T10:00:00+08:00",
                    "produced": [{"material_id": "FG-100", "lot_id": f"L-{report_id}"[:20],
                                  "quantity": {"value": "30", "unit": "PCE"}, "site": "PLANT1", "storage_location": "WH-FG"}],
                    "consumed": [{"material_id": "RM-200", "lot_id": "B-4711", "quantity": {"value": "75.25", "unit": "KGM"},
                                  "site": "PLANT1", "storage_location": "WH-RM"}],
                },
            })
        return out

    # -- the printout ------------------------------------------------------------------------
    def options(self) -> str:
        return f"documents {','.join(self.documents)}, workflow {self.workflow}"

    def notes(self) -> list[str]:
        steps = "save+audit as 2 recorded calls" if self.workflow == "audit" else "save as 1 recorded call"
        return [f"(the bridge makes {steps} per document ({self.calls_per_report} per report, {len(self.documents)} "
                "document(s)); the baseline one finishedreport/save per report, not audited)"]

    def check(self, url: str, bridge_reports: int) -> list[str]:
        """Each document's documents and distinct keys (out_sys_id) in the simulator."""
        settings = YonyouTargetSettings(url=url, tenant_id=TENANT, app_key_env="BENCH_YONYOU_APP_KEY",
                                        app_secret_env="BENCH_YONYOU_APP_SECRET")
        lines = []
        with YonyouClient(settings, env=_ENV) as client:
            for document in self.documents:
                keys: dict[str, str] = {}
                page = 1
                while True:
                    reply = client.post(f"/yonbip/{DOCUMENTS[document]}/list", {"pageIndex": page, "pageSize": 500})
                    data = reply.get("data") or {}
                    keys.update((str(row.get("id")), str(row.get("out_sys_id") or "")) for row in data.get("recordList") or [])
                    if page >= int(data.get("pageCount") or 0):
                        break
                    page += 1
                expected = bridge_reports + (self.baseline_reports if document == "finishedreport" else 0)
                distinct = len(set(keys.values()))
                verdict = "DUPLICATES" if len(keys) != distinct else \
                    "exactly once" if distinct == expected else f"{expected} expected"
                lines.append(f"YonBIP holds {len(keys)} {document} documents, {distinct} distinct out_sys_id keys ({verdict})")
        return lines


BENCH = YonyouBench

if __name__ == "__main__":
    sys.exit("run bench/feedback.py --erp yonyou")
