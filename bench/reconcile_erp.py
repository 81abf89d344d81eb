"""Benchmark: how fast reconciliation reads an ERP's side, per simulator, against plain calls
fetching the same pages in the same run.

Each ERP's simulator runs in this process, filled directly through its state (no HTTP, no
sink: bench/feedback*.py measure posting) with ``-n`` documents of the ``quantities`` view's
kind and as many of the ``consumption`` view's, spread over ``--orders`` orders:

sap      SimState: one confirmation per document (operation 0010, CONF_NO/counter as SAP counts
         them) with its material document (a 101 of its lot and a 261 of its own consumed lot,
         as ``goods_movements: confirmation`` posts them); records = confirmations and 261 items
kingdee  KingdeeSimulator.seed_bill of the orders (PRD_MO with PRD_PPBOM) and of one PRD_MORPT
         and one PRD_PickMtrl, copied into the store ``-n`` times (new FID, number, entry id,
         key, quantities, order): one entry row per bill, as the sink posts them
yonyou   the simulator's own save handler (adapters.yonyou.simulator.writes.save) on its state,
         ``-n`` finishedreport and ``-n`` materialout documents of one line each, linked to the
         orders' lines and components as the save links them

Variants, interleaved per round (view first in odd rounds, baseline first in even ones):

view      the reader of ``adapters/<erp>/reconcile_views.py`` over ``make_<erp>_query``: HTTP,
          parsing, the query's TargetRecords and the view's Records, all of them consumed; the
          request names every order (keys) and today's window (since = until = today)
baseline  the same requests with no record building. SAP: raw zeep services on the shipped
          WSDLs, BAPI_PRODORDCONF_GETLIST then one BAPI_PRODORDCONF_GETDETAIL per confirmation
          (quantities), one BAPI_GOODSMVT_GETITEMS (consumption), over the urllib3 pool the
          client uses (adapters.sap.http_pool) and over zeep's own requests transport. Kingdee
          and Yonyou: plain httpx posting the ExecuteBillQuery / list bodies the view sent
          (captured on a warm-up run), paged the same way, signed as the client signs
          (adapters.kingdee.signing.signed_headers on every call; Yonyou's token fetched once
          with adapters.yonyou.signing.token_params before timing), ``reply.json()``

records/s = records (view) or rows/confirmations (baseline) over wall time; median and the
spread (min-max) over the rounds; ratio = view / baseline. ``client CPU`` is the main thread's
CPU (``time.thread_time``) per record: the simulator answers on threads of its own, so that
figure is the reading side's cost alone, while wall time includes the simulator's work (same
process, same GIL). Each run must read exactly ``-n`` records (rows), or the bench fails.
``--page-size 100,500,2000`` sweeps the page size (Kingdee ExecuteBillQuery Limit, Yonyou
pageSize); without it the query's default (Kingdee 2000, Yonyou 500). ``--latency-ms`` adds a
per-call latency in the simulator (default 0: CPU-bound).

Usage: .venv/bin/python bench/reconcile_erp.py --erp sap|kingdee|yonyou|all [-n N] [--rounds 3]
           [--orders 50] [--page-size P[,P...]] [--latency-ms 0]

Measured on a shared, noisy 2-core container (figures move by 10-20 % between runs; medians of
3 rounds, spreads in brackets), commands
    .venv/bin/python bench/reconcile_erp.py --erp sap -n 500 --rounds 3
    .venv/bin/python bench/reconcile_erp.py --erp kingdee -n 5000 --rounds 3 --page-size 500,2000,5000
    .venv/bin/python bench/reconcile_erp.py --erp yonyou -n 3000 --rounds 3 --page-size 100,500,2000

(Yonyou at -n 3000, not 5000: its list handler, like K/3 Cloud's ExecuteBillQuery, builds,
filters and sorts every row of the store for each page before slicing it, so a read costs the
simulator O(n) per page and the whole read O(n^2 / page size); at -n 5000 with page size 100 the
Yonyou run had not finished its first page size after 10 minutes; at -n 3000 it takes 5.4 min.
Filling is not the bottleneck: writes.save fills 3,000 + 3,000 documents in 1.7 s, 5,000 + 5,000
in 3.4 s, linear, so the fill is left as the save handler does it.) Trimmed output:

SAP, 500 confirmations and 500 261 items over 50 orders (19 s in all):
  view        variant                     records/s (median)         [min-max] calls/rec  client CPU us/rec   ratio
  quantities  view reader                                411         [403-438]    1.0040               1538
              view reader, details kept                5,290       [494-5,458]    0.0040                147  10.72x
              baseline zeep (pooled)                     494         [478-524]    1.0020               1271   0.83x
              baseline zeep (requests)                   368         [322-380]    1.0020               1895   1.12x
  consumption view reader                              2,213     [2,131-2,617]    0.0020                343
              view reader, details kept                2,111     [1,844-2,564]    0.0020                356   0.83x
              baseline zeep (pooled)                   2,543     [2,388-2,576]    0.0020                271   0.87x
              baseline zeep (requests)                 2,690     [2,450-2,856]    0.0020                264   0.82x
  ("view reader" reads cold: its detail cache is cleared first; "details kept" reads again with
  the details an earlier read kept (adapters/sap/detail_cache.py), as a daily job in `bridge run`
  does for every confirmation older than a day: GETLIST and one BAPI_PRODORD_GET_LIST only, the
  ratio being against the pooled zeep baseline, which asks every detail again; consumption reads
  no details, so its two view rows are the same read)
  (view calls: GETLIST, one GETDETAIL per confirmation and one BAPI_PRODORD_GET_LIST for the
  orders' materials, hence 1.0040 against the baseline's 1.0020)
  with --latency-ms 20 (-n 200 --rounds 1): quantities view 41/s, baseline pooled 42/s (0.97x)

K/3 Cloud, 5,000 PRD_MORPT and 5,000 PRD_PickMtrl bills over 50 orders (2 min 53 s in all):
  page size   view          view reader  baseline httpx  ratio  client CPU us/rec view / baseline
  500         quantities            681             745  0.91x                       46 / 9
              consumption           621             703  0.88x                       38 / 7
  2000        quantities          2,337           2,141  1.09x                       24 / 4
              consumption         2,215           2,184  1.01x                       29 / 3
  5000        quantities          3,919           4,208  0.93x                       20 / 3
              consumption         3,820           3,610  1.06x                       25 / 3
  (records/s medians; 11, 3 and 2 calls a read: a page of exactly Limit rows asks once more)

YonBIP, 3,000 finishedreport and 3,000 materialout documents over 50 orders (5 min 23 s in all):
  page size   view          view reader  baseline httpx  ratio  client CPU us/rec view / baseline
  100         quantities            201             193  1.05x                      90 / 62
              consumption           186             208  0.89x                      77 / 50
  500         quantities            976             886  1.10x                      73 / 50
              consumption           965           1,028  0.94x                      56 / 33
  2000        quantities          2,102           2,342  0.90x                      75 / 41
              consumption         2,401           2,356  1.02x                      56 / 29
  (31, 7 and 3 calls a read: the list's pages plus one productionorder/list for the order lines)

What it means: the view readers run at 0.83-1.10x of plain calls fetching the same pages; wall
time is the simulators' (and, for SAP, zeep's) work, not the record building. The readers' own
cost is 20-90 us of client CPU per Kingdee/Yonyou record (5-10x the bare httpx + json figure for
Kingdee, 1.5-2x for Yonyou) and about 2 ms per SAP confirmation (1.2-1.3x raw zeep), none of which
matters for a daily job. What matters is calls: SAP has no paged read of confirmations, so
10,000 confirmations read cold are 10,002 sequential SOAP calls, about 28 s in process at 0 latency
(356/s) and about 4 min at 20 ms per call (41/s measured), 10,000 x the SAP round trip in
general; the scheduler's process keeps each confirmation's detail, so a daily job over a 30-day
window asks only the day's new confirmations (about 1/30 of them) after its first run; Kingdee and Yonyou read 10,000 records in 3 to 101 calls depending on the page size,
so use the largest page size the ERP allows (Kingdee 2000-5000, Yonyou 500-2000). The falling
records/s at small page sizes here is the simulators' per-page scan of the whole store (see
above), not a cost a real ERP necessarily has.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.adapter.query import QueryContext  # noqa: E402
from bridge.reconcile.views import ViewRequest  # noqa: E402
from bridge.simulation.faults import FaultSettings  # noqa: E402

DAY = date.today()
VIEWS = ("quantities", "consumption")
#: The YonBIP list API each view's records come from (its other calls: productionorder/list).
YONYOU_LISTS = {"quantities": "/yonbip/mfg/finishedreport/list", "consumption": "/yonbip/scm/materialout/list"}


@dataclass
class Run:
    """One timed read: its wall time, the main thread's CPU, records (rows) and calls."""

    seconds: float
    cpu: float
    records: int
    calls: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("nan")


def timed(read: Callable[[], tuple[int, int]]) -> Run:
    wall, cpu = time.perf_counter(), time.thread_time()
    records, calls = read()
    return Run(time.perf_counter() - wall, time.thread_time() - cpu, records, calls)


class ErpBench(Protocol):
    """One ERP: its filled simulator, the view and baseline reads, the page size."""

    title: str
    baselines: tuple[str, ...]  # the baseline variants' names
    kept: tuple[str, ...]  # variants of the view reader over what an earlier read kept (SAP's details)
    pages: bool  # whether the page size applies

    def describe(self) -> str: ...
    def set_page_size(self, size: int | None) -> int | None: ...
    def view(self, view: str, kept: bool = False) -> tuple[int, int]: ...
    def baseline(self, name: str, view: str) -> tuple[int, int]: ...
    def close(self) -> None: ...


class Counting:
    """The query's client, counting its calls and keeping the bodies they sent."""

    def __init__(self, client: Any, method: str) -> None:
        self._client, self._method = client, method
        self.calls = 0
        self.sent: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != self._method:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self.sent.append((args, kwargs))
            return attribute(*args, **kwargs)

        return counted


def _check(what: str, found: int, expected: int) -> None:
    if found != expected:
        raise SystemExit(f"{what}: read {found} records, the simulator holds {expected}")


# --- SAP ------------------------------------------------------------------------------------


class SapBench:
    title = "SAP simulator"
    pages = False

    def __init__(self, n: int, orders: int, latency_ms: int, window_only: bool = False) -> None:
        from adapters.sap.detail_cache import DetailCache
        from adapters.sap.query import make_sap_query
        from adapters.sap.simulator import SapSimulator
        from adapters.sap.target import SapTargetSettings

        self.n, self.orders = n, orders
        self.sim = SapSimulator(user="BENCH", password="bench-secret", faults=FaultSettings(latency_ms=latency_ms)).start()
        started = time.perf_counter()
        self._fill()
        self.fill_s = time.perf_counter() - started
        self.settings = SapTargetSettings(url=self.sim.url)
        env = {"SAP_USER": "BENCH", "SAP_PASSWORD": "bench-secret"}
        self.query = make_sap_query(QueryContext("sap", self.settings, env))
        self.query.details = DetailCache()  # the bench's own: cleared for every cold read
        self.counting = Counting(self.query.client, "call")
        self.query.client = self.counting
        self.keys = frozenset(str(800000000 + k) for k in range(1, orders + 1))
        self.request = ViewRequest(keys=self.keys, since=DAY, until=DAY)  # quantities needs keys
        self.window = ViewRequest(since=DAY, until=DAY) if window_only else self.request
        self.services = {"pooled": self._services("pooled"), "requests": self._services("requests")}
        self.baselines = tuple(f"zeep ({name})" for name in self.services)
        self.kept = ("details kept",)

    def _fill(self) -> None:
        from adapters.sap.simulator.state import Confirmation, GoodsLine, Operation, Order

        state = self.sim.state
        made = []
        for k in range(1, self.orders + 1):
            order = Order(number=str(800000000 + k), plant="DM01", material="S1SP02677", quantity=Decimal(10**8),
                          unit="ST", stge_loc="0001", status=("I0002",), operations={"0010": Operation("0010", "")})
            state.add_order(order)
            made.append(order)
        for n in range(self.n):
            order = made[n % self.orders]
            operation = order.operations["0010"]
            good, scrap = Decimal(1 + n % 97), Decimal(n % 3) / 2
            lines = [GoodsLine(material="S1SP02677", plant="DM01", move_type="101", quantity=good, unit="ST",
                               stge_loc="0001", batch=f"L{n:09d}", order=order.number),
                     GoodsLine(material="R1CH01007", plant="DM01", move_type="261", quantity=Decimal("1.5"), unit="ST",
                               stge_loc="0001", batch=f"B{n:09d}", order=order.number)]
            document = state.post_goods(lines, posting_date=DAY.isoformat(), header_text=f"MES:R{n:08d}", username="BENCH")
            counter = state.next_counter(operation.conf_no)
            document.confirmation = (operation.conf_no, counter)
            state.add_confirmation(Confirmation(
                conf_no=operation.conf_no, counter=counter, order=order.number,
                operation="0010", yield_=good, scrap=scrap, unit="ST", posting_date=DAY.isoformat(),
                text=f"MES report R{n:08d}", ex_ident=f"R{n:08d}", material_document=document.key, document_items=(0, 1)))

    def _services(self, transport_kind: str) -> dict[str, Any]:
        """Raw zeep services of the read BAPIs on the shipped WSDLs."""
        import requests
        import zeep
        from zeep.transports import Transport

        from adapters.sap.bapi_interfaces import service_name
        from adapters.sap.http_pool import HttpPool, PooledTransport
        from adapters.sap.soap_client import WSDL_DIR

        if transport_kind == "pooled":
            transport: Any = PooledTransport(HttpPool(self.settings, "BENCH", "bench-secret"), operation_timeout=30)
        else:
            session = requests.Session()
            session.auth = ("BENCH", "bench-secret")
            session.trust_env = False
            transport = Transport(session=session, operation_timeout=30)
        found = {}
        for bapi in ("BAPI_PRODORDCONF_GETLIST", "BAPI_PRODORDCONF_GETDETAIL", "BAPI_GOODSMVT_GETITEMS"):
            client = zeep.Client(str(WSDL_DIR / f"{bapi}.wsdl"), transport=transport, settings=zeep.Settings(strict=False))
            binding = f"{{urn:sap-com:document:sap:rfc:functions}}{service_name(bapi)}_BINDING"
            found[bapi] = getattr(client.create_service(binding, self.settings.endpoint(bapi)), bapi)
        return found

    def describe(self) -> str:
        return (f"{self.n} confirmations (and {self.n} 261 items, one consumed lot each) over {self.orders} orders, "
                f"filled in {self.fill_s:.1f} s")

    def set_page_size(self, size: int | None) -> int | None:
        return None

    def view(self, view: str, kept: bool = False) -> tuple[int, int]:
        from adapters.sap.reconcile_views import SAP_VIEWS

        if not kept:
            self.query.details.clear()
        before = self.counting.calls
        request = self.window if view == "consumption" else self.request
        records = sum(1 for _ in SAP_VIEWS[view](self.query, request))
        _check(f"SAP view {view}", records, self.n)
        return records, self.counting.calls - before

    def baseline(self, name: str, view: str) -> tuple[int, int]:
        calls = self.services[name.removeprefix("zeep (").removesuffix(")")]
        if view == "consumption":
            reply = calls["BAPI_GOODSMVT_GETITEMS"](PSTNG_DATE_RA={"item": [
                {"SIGN": "I", "OPTION": "BT", "LOW": DAY.isoformat(), "HIGH": DAY.isoformat()}]})
            orders = {k.zfill(12) for k in self.keys}
            items = _items(reply.GOODSMVT_ITEMS)
            found = sum(1 for item in items if item.MOVE_TYPE == "261" and item.ORDERID in orders)
            _check(f"SAP baseline {name} {view}", found, self.n)
            return found, 1
        ranges = [{"SIGN": "I", "OPTION": "EQ", "LOW": k.zfill(12)} for k in sorted(self.keys)]
        rows = _items(calls["BAPI_PRODORDCONF_GETLIST"](ORDER_RANGE={"item": ranges}).CONFIRMATIONS)
        found = 0
        for row in rows:
            detail = calls["BAPI_PRODORDCONF_GETDETAIL"](CONFIRMATION=row.CONF_NO, CONFIRMATIONCOUNTER=row.CONF_CNT)
            if detail.CONF_DETAIL is not None and detail.CONF_DETAIL.YIELD is not None:
                found += 1
        _check(f"SAP baseline {name} {view}", found, self.n)
        return found, 1 + len(rows)

    def close(self) -> None:
        self.query.close()
        self.sim.stop()


def _items(table: Any) -> list[Any]:
    return list(getattr(table, "item", None) or []) if table is not None else []


# --- Kingdee K/3 Cloud ----------------------------------------------------------------------


class KingdeeBench:
    title = "K/3 Cloud simulator"
    pages = True
    baselines = ("httpx",)
    kept: tuple[str, ...] = ()

    def __init__(self, n: int, orders: int, latency_ms: int, window_only: bool = False) -> None:
        from adapters.kingdee.query import make_kingdee_query
        from adapters.kingdee.signing import USER_AGENT, Identity
        from adapters.kingdee.simulator import KingdeeSimulator
        from adapters.kingdee.target import KingdeeTargetSettings
        from bench.feedback_kingdee import ACCT, APP_ID, APP_SECRET, USER, bill_no

        self.n, self.orders, self.bill_no = n, orders, bill_no
        self.sim = KingdeeSimulator(acct_id=ACCT, user=USER, app_id=APP_ID, app_secret=APP_SECRET,
                                    faults=FaultSettings(latency_ms=latency_ms)).start()
        started = time.perf_counter()
        self._fill()
        self.fill_s = time.perf_counter() - started
        settings = KingdeeTargetSettings(url=self.sim.url, acct_id=ACCT, user=USER, app_id=APP_ID,
                                         app_secret_env="BENCH_KINGDEE_APP_SECRET")
        self.query = make_kingdee_query(QueryContext("kingdee", settings, {"BENCH_KINGDEE_APP_SECRET": APP_SECRET}))
        self.default_page = self.query.page_size
        self.counting = Counting(self.query.client, "execute_bill_query")
        self.query.client = self.counting
        keys = frozenset() if window_only else frozenset(f"{bill_no(k)}-1" for k in range(1, orders + 1))
        self.request = ViewRequest(keys=keys, since=DAY, until=DAY)
        self.identity = Identity(ACCT, USER, APP_ID, APP_SECRET)
        self.http = httpx.Client(trust_env=False, timeout=60, headers={"User-Agent": USER_AGENT, "Accept-Charset": "utf-8"})
        self.shapes: dict[str, list[dict[str, Any]]] = {}

    def _fill(self) -> None:
        from adapters.kingdee.simulator.store import Record
        from bench.feedback_kingdee import seed

        for form_id, models in seed(self.orders).items():
            for model in models:
                fields = dict(model)
                self.sim.seed_bill(form_id, fields, str(fields.pop("FDocumentStatus", "C")))
        org = {"FNumber": "100"}
        when = f"{DAY.isoformat()} 00:00:00"
        report = {"FDate": when, "FPrdOrgId": org, "FDescription": "",
                  "FEntity": [{"FMaterialId": {"FNumber": "FG-100"}, "FMoBillNo": self.bill_no(1), "FMoEntrySeq": 1,
                               "FFinishQty": 1, "FQuaQty": 1, "FScrapQty": 0, "FUnitID": {"FNumber": "Pcs"},
                               "FLot": {"FNumber": "L-0"}, "FStockId": {"FNumber": "FG01"}}]}
        pick = {"FDate": when, "FStockOrgId": org, "FPrdOrgId": org, "FDescription": "",
                "FEntity": [{"FMaterialId": {"FNumber": "RM-200"}, "FAppQty": 1, "FActualQty": 1, "FUnitID": {"FNumber": "kg"},
                             "FStockId": {"FNumber": "RM01"}, "FLot": {"FNumber": "B-4711"}, "FMoBillNo": self.bill_no(1),
                             "FMoEntrySeq": 1, "FStockStatusId": {"FNumber": "KCZT01_SYS"}, "FOwnerTypeId": "BD_OwnerOrg"}]}
        erp = self.sim.erp
        with erp.lock:
            for form_id, model in (("PRD_MORPT", report), ("PRD_PickMtrl", pick)):
                fid, _ = self.sim.seed_bill(form_id, model, "C")
                template = erp.by_fid(form_id, fid)
                assert template is not None
                erp.store.remove(form_id, fid)
                form = erp.forms[form_id]
                for n in range(self.n):
                    copied = copy.deepcopy(template.model)
                    number = f"{form.prefix}{erp.store.next_value(f'number:{form_id}', 1):0{form.digits}d}"
                    copied.update(FID=erp.new_fid(), FBillNo=number, FDescription=f"MES:R{n:08d}")
                    row = copied["FEntity"][0]
                    row.update(FEntryID=erp.new_entry_id(form_id), FMoBillNo=self.bill_no(n % self.orders + 1))
                    if form_id == "PRD_MORPT":
                        good, scrap = float(1 + n % 97), (n % 3) / 2
                        row.update(FQuaQty=good, FScrapQty=scrap, FFinishQty=good + scrap, FLot={"FNumber": f"L-{n:08d}"})
                    else:
                        row.update(FAppQty=1.25 + n % 7, FActualQty=1.25 + n % 7)
                    erp.store.put(Record(form_id, copied["FID"], number, copied))

    def describe(self) -> str:
        return (f"{self.n} PRD_MORPT and {self.n} PRD_PickMtrl bills (one row each) over {self.orders} PRD_MO orders, "
                f"filled in {self.fill_s:.1f} s")

    def set_page_size(self, size: int | None) -> int | None:
        self.query.page_size = size or self.default_page
        self.shapes.clear()
        return self.query.page_size

    def view(self, view: str, kept: bool = False) -> tuple[int, int]:
        from adapters.kingdee.reconcile_views import KINGDEE_VIEWS

        before = self.counting.calls
        mark = len(self.counting.sent)
        records = sum(1 for _ in KINGDEE_VIEWS[view](self.query, self.request))
        _check(f"K/3 Cloud view {view}", records, self.n)
        if view not in self.shapes:  # the queries it sent, for the baseline (first page of each)
            firsts = [(args, kwargs) for args, kwargs in self.counting.sent[mark:] if not kwargs.get("start_row")]
            self.shapes[view] = [{"FormId": args[0], "FieldKeys": args[1], "FilterString": kwargs.get("filter_string", ""),
                                  "OrderString": kwargs.get("order_string", ""), "Limit": kwargs["limit"]}
                                 for args, kwargs in firsts]
        del self.counting.sent[mark:]
        return records, self.counting.calls - before

    def baseline(self, name: str, view: str) -> tuple[int, int]:
        import json

        from adapters.kingdee.client import FORMS
        from adapters.kingdee.signing import signed_headers

        path = f"/k3cloud/{FORMS}ExecuteBillQuery.common.kdsvc"
        url = f"{self.sim.base_url}{path}"
        rows = calls = 0
        for shape in self.shapes[view]:
            start = 0
            while True:
                body = {"data": {**shape, "TopRowCount": 0, "StartRow": start, "SubSystemId": ""}}
                headers = {"Content-Type": "application/json", **signed_headers(self.identity, path, int(time.time()))}
                reply = self.http.post(url, headers=headers, content=json.dumps(body, ensure_ascii=False).encode("utf-8"))
                reply.raise_for_status()
                page = reply.json()
                calls += 1
                if not isinstance(page, list) or (page and not isinstance(page[0], list)):
                    raise SystemExit(f"K/3 Cloud baseline: not a list of rows: {str(page)[:200]}")
                rows += len(page)
                if len(page) < shape["Limit"]:
                    break
                start += len(page)
        _check(f"K/3 Cloud baseline {view}", rows, self.n)
        return rows, calls

    def close(self) -> None:
        self.http.close()
        self.query.close()
        self.sim.stop()


# --- Yonyou YonBIP --------------------------------------------------------------------------


class YonyouBench:
    title = "YonBIP simulator"
    pages = True
    baselines = ("httpx",)
    kept: tuple[str, ...] = ()

    def __init__(self, n: int, orders: int, latency_ms: int, window_only: bool = False) -> None:
        from adapters.yonyou.query import make_yonyou_query
        from adapters.yonyou.settings import TOKEN_PATHS
        from adapters.yonyou.signing import token_params, wire_query
        from adapters.yonyou.simulator import YonyouSimulator
        from adapters.yonyou.target import YonyouTargetSettings
        from bench.feedback_yonyou import APP_KEY, APP_SECRET, TENANT, order_code

        self.n, self.orders, self.order_code = n, orders, order_code
        self.sim = YonyouSimulator(app_key=APP_KEY, app_secret=APP_SECRET, tenant_id=TENANT,
                                   faults=FaultSettings(latency_ms=latency_ms)).start()
        started = time.perf_counter()
        self._fill()
        self.fill_s = time.perf_counter() - started
        env = {"BENCH_YONYOU_APP_KEY": APP_KEY, "BENCH_YONYOU_APP_SECRET": APP_SECRET}
        settings = YonyouTargetSettings(url=self.sim.url, tenant_id=TENANT, app_key_env="BENCH_YONYOU_APP_KEY",
                                        app_secret_env="BENCH_YONYOU_APP_SECRET")
        self.query = make_yonyou_query(QueryContext("yonyou", settings, env))
        self.default_page = self.query.page_size
        self.counting = Counting(self.query.client, "post")
        self.query.client = self.counting
        keys = frozenset() if window_only else frozenset(f"{order_code(k)}-10" for k in range(1, orders + 1))
        self.request = ViewRequest(keys=keys, since=DAY, until=DAY)
        self.http = httpx.Client(trust_env=False, timeout=60)
        found = self.http.get(f"{self.sim.url}/open-auth/dataCenter/getGatewayAddress", params={"tenantId": TENANT}).json()
        self.gateway, token_url = found["data"]["gatewayUrl"], found["data"]["tokenUrl"]
        query = wire_query(token_params(APP_KEY, APP_SECRET, int(time.time() * 1000)))
        issued = self.http.get(f"{token_url}{TOKEN_PATHS['base/v1']}?{query}").json()
        if str(issued.get("code")) != "00000":
            raise SystemExit(f"YonBIP refused the baseline's token: {issued}")
        self.token = wire_query({"access_token": issued["data"]["access_token"]})
        self.shapes: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def _fill(self) -> None:
        from adapters.yonyou.simulator import writes
        from adapters.yonyou.simulator.state import ApiRequest
        from bench.feedback_yonyou import seed

        content = seed(self.orders)
        for material in content["materials"]:
            self.sim.seed_material(material)
        for batch in content["batches"]:
            self.sim.seed_batch(batch)
        for order in content["orders"]:
            self.sim.seed_order({**order, "vouchdate": DAY.isoformat()})
        when = DAY.isoformat()
        state = self.sim.state
        with state.lock:
            for n in range(self.n):
                upcode = self.order_code(n % self.orders + 1)
                good, scrap = 1 + n % 97, (n % 3) / 2
                report = {"orgCode": "PLANT1", "transTypeCode": "RF001", "productionDepartmentCode": "WS-01", "vouchdate": when,
                          "out_sys_id": f"MES:R{n:08d}", "finishedReportDetail": [{
                              "materialCode": "FG-100", "upcode": upcode, "quantity": good + scrap, "qualifiedQuantity": good,
                              "scrapQuantity": scrap, "batchNo": f"L-{n:08d}", "warehouseCode": "WH-FG",
                              "finishDate": f"{when} 10:00:00"}]}
                issue = {"org": "PLANT1", "warehouse": "WH-RM", "vouchdate": when, "out_sys_id": f"MES:R{n:08d}",
                         "materOuts": [{"product": "RM-200", "upcode": upcode, "qty": 1.25 + n % 7, "batchno": "B-4711"}]}
                for kind, data in (("finishedreport", report), ("materialout", issue)):
                    api = "/yonbip/mfg/finishedreport/save" if kind == "finishedreport" else "/yonbip/scm/materialout/save"
                    reply = writes.save(state, ApiRequest("POST", api, {}, {"data": data}), kind)
                    if not reply.committed:
                        raise SystemExit(f"YonBIP simulator refused a {kind}: {reply.body}")

    def describe(self) -> str:
        return (f"{self.n} finishedreport and {self.n} materialout documents (one line each) over {self.orders} "
                f"production orders, filled in {self.fill_s:.1f} s")

    def set_page_size(self, size: int | None) -> int | None:
        self.query.page_size = size or self.default_page
        self.shapes.clear()
        return self.query.page_size

    def view(self, view: str, kept: bool = False) -> tuple[int, int]:
        from adapters.yonyou.reconcile_views import YONYOU_VIEWS

        before = self.counting.calls
        mark = len(self.counting.sent)
        records = sum(1 for _ in YONYOU_VIEWS[view](self.query, self.request))
        _check(f"YonBIP view {view}", records, self.n)
        if view not in self.shapes:
            self.shapes[view] = [(args[0], {k: v for k, v in args[1].items() if k != "pageIndex"})
                                 for args, _ in self.counting.sent[mark:] if args[1].get("pageIndex") == 1]
        del self.counting.sent[mark:]
        return records, self.counting.calls - before

    def baseline(self, name: str, view: str) -> tuple[int, int]:
        lines = calls = 0
        for path, shape in self.shapes[view]:
            index = 1
            while True:
                reply = self.http.post(f"{self.gateway}{path}?{self.token}", json={**shape, "pageIndex": index})
                reply.raise_for_status()
                body = reply.json()
                calls += 1
                if str(body.get("code")) != "200":
                    raise SystemExit(f"YonBIP baseline {path}: {str(body)[:200]}")
                data = body["data"]
                page = data.get("recordList") or []
                if path == YONYOU_LISTS[view]:
                    lines += len(page)
                if len(page) < shape["pageSize"] or index >= int(data.get("pageCount") or index):
                    break
                index += 1
        _check(f"YonBIP baseline {view}", lines, self.n)
        return lines, calls

    def close(self) -> None:
        self.http.close()
        self.query.close()
        self.sim.stop()


# --- the rounds -----------------------------------------------------------------------------


@dataclass
class Series:
    runs: list[Run] = field(default_factory=list)

    def median(self, of: Callable[[Run], float]) -> float:
        return statistics.median(of(r) for r in self.runs)

    def spread(self) -> str:
        rates = [r.rate for r in self.runs]
        return f"[{min(rates):,.0f}-{max(rates):,.0f}]"


def measure(bench: ErpBench, rounds: int) -> dict[tuple[str, str], Series]:
    """Every view's view read and baselines, interleaved, after one untimed warm-up each."""
    variants = ["view", *bench.kept, *bench.baselines]
    found: dict[tuple[str, str], Series] = {(v, variant): Series() for v in VIEWS for variant in variants}

    def read(view: str, variant: str) -> tuple[int, int]:
        if variant == "view" or variant in bench.kept:
            return bench.view(view, kept=variant in bench.kept)
        return bench.baseline(variant, view)

    for view in VIEWS:
        for variant in variants:  # warm-up: connections, WSDLs, tokens, the baseline's requests
            read(view, variant)
    for round_no in range(rounds):
        order = variants if round_no % 2 == 0 else variants[::-1]
        for view in VIEWS:
            for variant in order:
                found[(view, variant)].runs.append(timed(lambda v=view, x=variant: read(v, x)))
    return found


def report(bench: ErpBench, results: dict[tuple[str, str], Series], page: int | None) -> None:
    paged = f", page size {page}" if page else ""
    print(f"  {'view':12}{'variant':26}{'records/s (median)':>20} {'[min-max]':>17}{'calls/rec':>10}"
          f"{'client CPU us/rec':>19}{'ratio':>8}{paged}")
    for view in VIEWS:
        ours = results[(view, "view")]
        base = results[(view, bench.baselines[0])]
        for variant in ("view", *bench.kept, *bench.baselines):
            series = results[(view, variant)]
            rate = series.median(lambda r: r.rate)
            calls = series.median(lambda r: r.calls / r.records)
            cpu = series.median(lambda r: r.cpu * 1e6 / r.records)
            mine = series if variant in bench.kept else ours
            ratio = f"{mine.median(lambda r: r.rate) / (base.median(lambda r: r.rate) if variant in bench.kept else rate):7.2f}x" \
                if variant != "view" else ""
            label = ("view reader" if variant == "view" else f"view reader, {variant}" if variant in bench.kept
                     else f"baseline {variant}")
            print(f"  {view if variant == 'view' else '':12}{label:26}{rate:20,.0f} {series.spread():>17}{calls:10.4f}"
                  f"{cpu:19.0f}{ratio:>8}")
        print(f"  {'':12}(ratio = view / baseline records/s; view / {bench.baselines[0]} client CPU "
              f"{ours.median(lambda r: r.cpu) / base.median(lambda r: r.cpu):.2f}x)")


BENCHES: Mapping[str, Callable[[int, int, int, bool], ErpBench]] = {"sap": SapBench, "kingdee": KingdeeBench,
                                                              "yonyou": YonyouBench}


@contextmanager
def opened(erp: str, n: int, orders: int, latency_ms: int, window_only: bool) -> Iterator[ErpBench]:
    bench = BENCHES[erp](n, orders, latency_ms, window_only)
    try:
        yield bench
    finally:
        bench.close()


def _sizes(text: str | None) -> Collection[int | None]:
    if not text:
        return [None]
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise SystemExit("--page-size: positive sizes, comma-separated")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--erp", choices=[*BENCHES, "all"], default="all")
    parser.add_argument("-n", type=int, default=None, help="documents of each view's kind (default: SAP 500, others 5000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=50, help="orders the documents are spread over")
    parser.add_argument("--page-size", default=None, help="Kingdee/Yonyou page size(s), comma-separated: a sweep")
    parser.add_argument("--latency-ms", type=int, default=0, help="the simulator's latency per call")
    parser.add_argument("--window-only", action="store_true",
                        help="ask for today's window without keys (SAP quantities: keys all the same, GETLIST needs them)")
    args = parser.parse_args()
    if args.rounds < 1 or args.orders < 1 or (args.n is not None and args.n < 1):
        raise SystemExit("--rounds, --orders and -n must be at least 1")
    for erp in BENCHES if args.erp == "all" else [args.erp]:
        n = args.n or (500 if erp == "sap" else 5000)
        with opened(erp, n, args.orders, args.latency_ms, args.window_only) as bench:
            asked = "today's window" if args.window_only else "every order's key and today's window"
            print(f"{bench.title} in this process, latency {args.latency_ms} ms: {bench.describe()}; asked for {asked}; "
                  f"{args.rounds} rounds, interleaved", flush=True)
            if not bench.pages and args.page_size:
                print("  (--page-size does not apply: SAP's read BAPIs do not page)")
            for size in _sizes(args.page_size) if bench.pages else [None]:
                page = bench.set_page_size(size)
                report(bench, measure(bench, args.rounds), page)
                sys.stdout.flush()
        print()


if __name__ == "__main__":
    main()
