"""bench/feedback.py's Kingdee K/3 Cloud variant (``--erp kingdee``).

The simulator is ``bridge simulate kingdee`` in its own process, seeded with ``--orders`` PRD_MO
bills of one entry row each (FG-100, its PRD_PPBOM component RM-200) written into the bench's
temp folder.

(a) baseline: a hand-written integration, plain httpx calls signed as the official SDK signs
    them (:func:`adapters.kingdee.signing.signed_headers`): per report one ``Save`` of PRD_MORPT
    with ``IsAutoSubmitAndAudit: "true"``, one after another (no idempotency, no link rows, no
    stock-in or pick);
(b) bridge: canonical reports on ``mes.feedback``, a route ``sink: kingdee`` with the bills of
    ``--kingdee-bills`` taken as far as ``--workflow`` says (each save, submit and audit a call
    of its own in the ledger).

Exactly once: ExecuteBillQuery of each bill's FID and FDescription (the report's key) through
:class:`adapters.kingdee.client.KingdeeClient`, over the simulator's HTTP API.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.kingdee.bill_calls import STEPS, report_key
from adapters.kingdee.client import FORMS, KingdeeClient, failed, messages, response_status
from adapters.kingdee.signing import USER_AGENT, Identity, signed_headers

__all__ = ["ALL_BILLS", "BENCH", "KingdeeBench"]

ACCT, USER = "65f0b3c4d5e6f7", "mes_bench"
APP_ID, APP_SECRET = "300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u", "bench-0123456789abcdef0123456789"
ALL_BILLS = ("PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl")
TODAY = time.strftime("%Y-%m-%d")
_ORG = {"FNumber": "100"}


def bill_no(order: int) -> str:
    return f"MOB{order:06d}"


def _material(number: str, name: str, unit: str, kind: str, produced: bool) -> dict[str, Any]:
    head: dict[str, Any] = {"FErpClsID": kind, "FBaseUnitId": {"FNumber": unit}, "FIsInventory": True}
    if produced:
        head["FIsProduce"] = True
    return {"FNumber": number, "FName": name, "FCreateOrgId": _ORG, "FUseOrgId": _ORG, "SubHeadEntity": head,
            "SubHeadEntity1": {"FStoreUnitID": {"FNumber": unit}, "FIsBatchManage": True}}


def seed(orders: int) -> dict[str, Any]:
    """The seed file's content: two materials, the component's lot, ``orders`` PRD_MO bills."""
    order_rows = [{
        "FBillNo": bill_no(n), "FDate": TODAY, "FPrdOrgId": _ORG, "FOwnerTypeId": "BD_OwnerOrg", "FOwnerId": _ORG,
        "FTreeEntity": [{
            "FMaterialId": {"FNumber": "FG-100"}, "FQty": 100000000, "FUnitId": {"FNumber": "Pcs"},
            "FBaseUnitId": {"FNumber": "Pcs"}, "FPlanStartDate": f"{TODAY} 08:00:00", "FPlanFinishDate": f"{TODAY} 17:00:00",
            "FStatus": "4", "FStockId": {"FNumber": "FG01"}, "FWorkShopID": {"FNumber": "WS-01"},
            "Components": [{"FMaterialID2": {"FNumber": "RM-200"}, "FUnitID2": {"FNumber": "kg"}, "FMustQty": 100000000,
                            "FStockID": {"FNumber": "RM01"}, "FNumerator": 5, "FDenominator": 2}],
        }],
    } for n in range(1, orders + 1)]
    return {
        "BD_MATERIAL": [_material("FG-100", "液压阀体", "Pcs", "2", True), _material("RM-200", "铝锭", "kg", "1", False)],
        "BD_BatchMainFile": [{"FNumber": "B-4711", "FName": "B-4711", "FMaterialId": {"FNumber": "RM-200"},
                              "FCreateOrgId": _ORG, "FUseOrgId": _ORG, "FProduceDate": TODAY}],
        "PRD_MO": order_rows,
    }


class KingdeeBench:
    """What bench/feedback.py needs of one ERP: its simulator, baseline, route, reports, check."""

    erp = "K/3 Cloud"
    sim_name = "K/3 Cloud simulator"
    baseline_label = "plain httpx loop"
    route_name = "kingdee"

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.orders, self.latency_ms, self.workflow = args.orders, args.latency_ms, args.workflow
        self.bills = ALL_BILLS if args.kingdee_bills == "all" else tuple(b.strip() for b in args.kingdee_bills.split(","))
        unknown = sorted(set(self.bills) - set(ALL_BILLS))
        if unknown or not self.bills:
            raise SystemExit(f"--kingdee-bills: unknown bill {', '.join(unknown) or '(none)'} (known: {', '.join(ALL_BILLS)}, all)")
        self.seed_file = folder / "kingdee-seed.json"
        self.seed_file.write_text(json.dumps(seed(self.orders), ensure_ascii=False), encoding="utf-8")
        self.identity = Identity(ACCT, USER, APP_ID, APP_SECRET)
        self.bridge_env = {"BENCH_KINGDEE_APP_SECRET": APP_SECRET}
        self.calls_per_report = len(self.bills) * (1 + len(STEPS[self.workflow]))
        self.baseline_reports = 0

    # -- the simulator -----------------------------------------------------------------------
    def command(self, port: int) -> tuple[list[str], dict[str, str]]:
        """``bridge simulate kingdee``'s arguments and the environment it reads its secret from."""
        return (["simulate", "kingdee", "--port", str(port), "--acct-id", ACCT, "--user", USER, "--app-id", APP_ID,
                 "--seed", str(self.seed_file), "--latency-ms", str(self.latency_ms)], {"KINGDEE_APP_SECRET": APP_SECRET})

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/k3cloud"

    # -- (a) the baseline --------------------------------------------------------------------
    def baseline(self, url: str, count: int, tag: str) -> float:
        """One signed, auto-audited Save of PRD_MORPT per report, in sequence."""
        service = FORMS + "Save"
        path = f"{urlsplit(url).path}/{service}.common.kdsvc"
        with httpx.Client(trust_env=False, timeout=30, headers={"User-Agent": USER_AGENT}) as http:
            def post(body: dict[str, Any], to: str = path) -> Any:
                headers = {"Content-Type": "application/json", **signed_headers(self.identity, to, int(time.time()))}
                reply = http.post(f"http://{urlsplit(url).netloc}{to}", headers=headers,
                                  content=json.dumps(body, ensure_ascii=False).encode("utf-8"))
                reply.raise_for_status()
                return reply.json()

            query = f"{urlsplit(url).path}/{FORMS}ExecuteBillQuery.common.kdsvc"  # connect (and a session) before timing
            post({"data": {"FormId": "PRD_MO", "FieldKeys": "FBillNo", "FilterString": "", "Limit": 1}}, query)
            started = time.perf_counter()
            for n in range(count):
                report_id = f"B{tag}{n:06d}"
                reply = post({"formid": "PRD_MORPT", "data": {"IsAutoSubmitAndAudit": "true", "Model": {
                    "FDate": f"{TODAY} 00:00:00", "FPrdOrgId": _ORG, "FDescription": report_key(report_id),
                    "FEntity": [{"FMaterialId": {"FNumber": "FG-100"}, "FMoBillNo": bill_no(n % self.orders + 1), "FMoEntrySeq": 1,
                                 "FFinishQty": 30.5, "FQuaQty": 30, "FScrapQty": 0.5, "FUnitID": {"FNumber": "Pcs"},
                                 "FLot": {"FNumber": f"L-{report_id}"[:20]}, "FEndTime": f"{TODAY} 10:00:00"}]}}})
                status = response_status(reply)
                if status is None or failed(status):
                    raise SystemExit(f"baseline: K/3 Cloud refused report {report_id}: "
                                     f"{messages(status) if status else reply}")
            elapsed = time.perf_counter() - started
        self.baseline_reports += count
        return count / elapsed

    # -- (b) the bridge ----------------------------------------------------------------------
    def route(self, url: str) -> dict[str, Any]:
        return {"sink": "kingdee", "url": url, "acct_id": ACCT, "user": USER, "app_id": APP_ID,
                "app_secret_env": "BENCH_KINGDEE_APP_SECRET", "workflow": self.workflow, "bills": list(self.bills)}

    def envelopes(self, count: int, tag: str) -> list[dict[str, Any]]:
        """The shape of tests/unit/kingdee_support.py ``report()``, spread over the orders."""
        out = []
        for n in range(count):
            report_id = f"R{tag}{n:06d}"
            out.append({
                "schema": "bridge.canonical/v1", "message_id": f"mes:BENCH:{report_id}:report", "entity": "report",
                "event": "created", "source": {"system": "mes", "instance": "BENCH", "document_type": "report",
                                               "document_id": report_id},
                "correlation_id": f"mes:BENCH:{report_id}", "version": "1", "occurred_at": f"{TODAY}T10:00:00+08:00",
                "payload": {
                    "report_id": report_id, "order_id": f"{bill_no(n % self.orders + 1)}-1",
                    "yield_quantity": {"value": "30", "unit": "Pcs"}, "scrap_quantity": {"value": "0.5", "unit": "Pcs"},
                    "final": False, "posting_date": TODAY, "finished_at": f"{TODAY}T10:00:00+08:00",
                    "produced": [{"material_id": "FG-100", "lot_id": f"L-{report_id}"[:20],
                                  "quantity": {"value": "30", "unit": "Pcs"}, "site": "100", "storage_location": "FG01"}],
                    "consumed": [{"material_id": "RM-200", "lot_id": "B-4711", "quantity": {"value": "75.25", "unit": "kg"},
                                  "site": "100", "storage_location": "RM01"}],
                },
            })
        return out

    # -- the printout ------------------------------------------------------------------------
    def options(self) -> str:
        return f"bills {','.join(self.bills)}, workflow {self.workflow}"

    def notes(self) -> list[str]:
        steps = "+".join(s.capitalize() for s in ("save", *STEPS[self.workflow]))
        made = len(STEPS[self.workflow]) + 1
        return [f"(the bridge makes {steps} per bill as {made} recorded call{'s' if made > 1 else ''} "
                f"({self.calls_per_report} per report, {len(self.bills)} bill(s)); the baseline one auto-audited "
                "Save of PRD_MORPT per report)"]

    def check(self, url: str, bridge_reports: int) -> list[str]:
        """Each bill form's bills and distinct keys (FDescription) in the simulator."""
        client = KingdeeClient(url, self.identity)
        lines = []
        try:
            for form in self.bills:
                keys: dict[Any, str] = {}
                start = 0
                while True:
                    rows = client.execute_bill_query(form, "FID,FDescription", start_row=start, limit=2000)
                    keys.update((row[0], str(row[1] or "")) for row in rows)
                    if len(rows) < 2000:
                        break
                    start += len(rows)
                expected = bridge_reports + (self.baseline_reports if form == "PRD_MORPT" else 0)
                distinct = len(set(keys.values()))
                verdict = "DUPLICATES" if len(keys) != distinct else \
                    "exactly once" if distinct == expected else f"{expected} expected"
                lines.append(f"K/3 Cloud holds {len(keys)} {form} bills, {distinct} distinct FDescription keys ({verdict})")
        finally:
            client.close()
        return lines


BENCH = KingdeeBench

if __name__ == "__main__":
    sys.exit("run bench/feedback.py --erp kingdee")
