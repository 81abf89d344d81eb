"""Benchmark: MES work reports through the bridge's feedback path into the SAP simulator, against
a plain loop of zeep calls to the same simulator, in one run.

The simulator runs in its own process (``bridge simulate sap --latency-ms 50``, seeded with
``--orders`` production orders). Per round, interleaved:

(a) baseline: a plain loop posting reports one after another, one zeep call of
    BAPI_PRODORDCONF_CREATE_TT each (its time ticket and its goods movements in the call), as a
    hand-written integration would;
(b) bridge: N reports spread over the orders are published on ``mes.feedback`` first, then
    ``bridge run`` (intake, translate, deliver to SAP with the ledger recording every call before
    and after it is made) posts them; measured from the first report SAP acknowledged to the
    N-th, read off the ledger (start-up is not counted), with the CPU each process (the bridge's, the
    simulator, RabbitMQ) spent per report over that window, from /proc. ``--mode confirmation`` makes one call
    per report, like the baseline; ``--mode separate`` three (confirmation, receipt, issue).

Prints reports/s of each (median over the rounds), the ratio, and checks that SAP holds each
report exactly once. ``--erp kingdee`` and ``--erp yonyou`` measure the same against the K/3 Cloud
and YonBIP simulators, a loop of plain httpx calls the baseline (see bench/feedback_kingdee.py and
bench/feedback_yonyou.py). Usage:
    python bench/feedback.py [-n 2000] [--orders 50] [--latency-ms 50] [--rounds 3] [--in-flight 32] [--processes 2]
    python bench/feedback.py --erp kingdee [--kingdee-bills PRD_MORPT|all] [--workflow save|submit|audit] ...
    python bench/feedback.py --erp yonyou [--yonyou-documents finishedreport|all] [--workflow save|audit] ...
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.sap.simulator.seeds import order_variants  # noqa: E402
from adapters.sap.soap_client import SapSoapClient  # noqa: E402
from adapters.sap.target import SapTargetSettings  # noqa: E402
from bench.pipeline import broker_pids, cpu_seconds, with_descendants  # noqa: E402
from bridge.broker.declare import declare_topology, delete_topology, open_blocking  # noqa: E402
from bridge.config import Settings  # noqa: E402
from bridge.redaction import REVEAL_SECRETS  # noqa: E402
from bridge.runtime import names_for, topology_for  # noqa: E402

AMQP_URL = os.environ.get("BRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SEED = ROOT / "mappings" / "sap" / "cases" / "LOIPRO05_DMC_nonSAP_ERP.xml"
USER, PASSWORD = "BENCH", "bench-secret"
TODAY = time.strftime("%Y-%m-%d")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench(Protocol):
    """One ERP's side of the bench (SAP here; bench/feedback_kingdee.py, bench/feedback_yonyou.py)."""

    erp: str  # in "bridge (mes.feedback-><erp>)"
    sim_name: str  # the simulator's process in the CPU line
    baseline_label: str
    route_name: str
    bridge_env: dict[str, str]  # the secrets the route's *_env keys name
    calls_per_report: int

    def command(self, port: int) -> tuple[list[str], dict[str, str]]: ...
    def url(self, port: int) -> str: ...
    def baseline(self, url: str, count: int, tag: str) -> float: ...
    def route(self, url: str) -> dict[str, Any]: ...
    def envelopes(self, count: int, tag: str) -> list[dict[str, Any]]: ...
    def options(self) -> str: ...
    def notes(self) -> list[str]: ...
    def check(self, url: str, bridge_reports: int) -> list[str]: ...


@contextmanager
def simulator(bench: Bench, folder: Path) -> Iterator[tuple[str, int]]:
    """The bench's simulator (``bridge simulate ...``) in its own process, once it listens."""
    port = free_port()
    arguments, env = bench.command(port)
    log = folder / f"simulator-{port}.log"
    with log.open("wb") as errors:
        process = subprocess.Popen([sys.executable, "-m", "bridge.cli", *arguments], cwd=ROOT, env=dict(os.environ, **env),
                                   stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{bench.sim_name} exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield bench.url(port), process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def payload(report_id: str, order: int) -> dict[str, Any]:
    return {
        "report_id": report_id, "order_id": str(800000000 + order), "operation_id": "10", "work_center": "WC01",
        "yield_quantity": {"value": "2", "unit": "ST"}, "scrap_quantity": {"value": "0", "unit": "ST"},
        "final": False, "posting_date": TODAY,
        "produced": [{"material_id": "S1SP02677", "lot_id": f"L{report_id[-9:]}", "quantity": {"value": "2", "unit": "ST"}, "site": "DM01"}],
        "consumed": [{"material_id": "R1CH01007", "lot_id": "B-4711", "quantity": {"value": "1.5", "unit": "ST"}, "site": "DM01"}],
    }


def envelope(report_id: str, order: int) -> dict[str, Any]:
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:BENCH:{report_id}:report", "entity": "report",
        "event": "created", "source": {"system": "mes", "instance": "BENCH", "document_type": "report", "document_id": report_id},
        "correlation_id": f"mes:BENCH:{report_id}", "version": "1", "occurred_at": f"{TODAY}T08:00:00+08:00",
        "payload": payload(report_id, order),
    }


class SapBench:
    """The SAP simulator, the zeep baseline, the ``sink: sap`` route (``--mode``)."""

    erp, sim_name, baseline_label, route_name = "SAP", "SAP simulator", "plain zeep loop", "sap"

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.bridge_env = {"BENCH_SAP_USER": USER, "BENCH_SAP_PASSWORD": PASSWORD}
        self.folder, self.orders, self.latency_ms, self.mode = folder, args.orders, args.latency_ms, args.mode
        self.calls_per_report = 1 if self.mode == "confirmation" else 3

    def command(self, port: int) -> tuple[list[str], dict[str, str]]:
        seeds = [arg for path in order_variants(SEED, self.folder / "seeds", self.orders, 800000000) for arg in ("--seed", str(path))]
        return (["simulate", "sap", "--port", str(port), "--user", USER, "--latency-ms", str(self.latency_ms),
                 "--stock", "R1CH01007:DM01:B-4711=100000000", *seeds], {"SAP_SIM_PASSWORD": PASSWORD})

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    def notes(self) -> list[str]:
        return []

    def options(self) -> str:
        return f"mode {self.mode}"

    def baseline(self, url: str, count: int, tag: str) -> float:
        """A plain loop of zeep calls: one BAPI_PRODORDCONF_CREATE_TT per report, in sequence."""
        client = SapSoapClient(SapTargetSettings(url=url), USER, PASSWORD)
        client.call("BAPI_PRODORD_GET_LIST", {})  # load the WSDL and connect before timing
        started = time.perf_counter()
        for n in range(count):
            order = f"{800000000 + n % self.orders + 1:012d}"
            report_id = f"B{tag}{n:06d}"
            reply = client.call("BAPI_PRODORDCONF_CREATE_TT", {
                "TIMETICKETS": [{"ORDERID": order, "OPERATION": "0010", "YIELD": "2.000", "SCRAP": "0.000",
                                 "POSTG_DATE": TODAY, "EX_IDENT": report_id, "CONF_TEXT": f"MES report {report_id}"}],
                "GOODSMOVEMENTS": [
                    {"MATERIAL": "S1SP02677", "PLANT": "DM01", "BATCH": f"L{report_id[-9:]}", "MOVE_TYPE": "101", "MVT_IND": "F",
                     "ENTRY_QNT": "2.000", "ENTRY_UOM": "ST", "ORDERID": order},
                    {"MATERIAL": "R1CH01007", "PLANT": "DM01", "BATCH": "B-4711", "MOVE_TYPE": "261",
                     "ENTRY_QNT": "1.500", "ENTRY_UOM": "ST", "ORDERID": order},
                ],
                "LINK_CONF_GOODSMOV": [{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 1}, {"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 2}],
            })
            if not any(str(r.get("CONF_NO") or "").strip("0") for r in reply["DETAIL_RETURN"]):
                raise SystemExit(f"baseline: SAP refused report {report_id}: {reply['DETAIL_RETURN']}")
        return count / (time.perf_counter() - started)

    def route(self, url: str) -> dict[str, Any]:
        return {"sink": "sap", "url": url, "user_env": "BENCH_SAP_USER", "password_env": "BENCH_SAP_PASSWORD",
                "goods_movements": self.mode}

    def envelopes(self, count: int, tag: str) -> list[dict[str, Any]]:
        return [envelope(f"R{tag}{n:06d}", n % self.orders + 1) for n in range(count)]

    def check(self, url: str, bridge_reports: int) -> list[str]:
        """(confirmations, distinct EX_IDENTs) SAP holds for the bench's orders."""
        client = SapSoapClient(SapTargetSettings(url=url), USER, PASSWORD)
        rows = client.call("BAPI_PRODORDCONF_GETLIST", {"ORDER_RANGE": [
            {"SIGN": "I", "OPTION": "BT", "LOW": f"{800000001:012d}", "HIGH": f"{800000000 + self.orders:012d}"}]})["CONFIRMATIONS"]
        idents = [r["EX_IDENT"] for r in rows]
        confirmations, distinct = len(idents), len(set(idents))
        return [f"SAP holds {confirmations} confirmations, {distinct} distinct EX_IDENTs "
                f"({'exactly once' if confirmations == distinct else 'DUPLICATES'})"]


def publish(exchange: str, reports: list[dict[str, Any]]) -> None:
    import json

    import pika

    connection = open_blocking(AMQP_URL)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for report in reports:
            channel.basic_publish(exchange, "report.created", json.dumps(report).encode(),
                                  pika.BasicProperties(delivery_mode=2, message_id=report["message_id"]), mandatory=True)
    finally:
        connection.close()


def done_calls(ledger: Path) -> tuple[int, float | None]:
    """Settled calls in the ledger and the time of the first one (seconds since the epoch)."""
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as conn:
            count, first = conn.execute(
                "select count(*), min(settled_at) from bridge_remote_calls where state = 'done'"
            ).fetchone()
    except sqlite3.Error:
        return 0, None
    return int(count), first


def bridge_round(
    bench: Bench, url: str, count: int, in_flight: int, folder: Path, tag: str, *, split: bool,
    sim_pid: int, cpu: dict[str, list[float]], processes: int = 1,
) -> float:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    ledger = folder / f"ledger-{prefix}.sqlite"
    settings = Settings.model_validate({
        "amqp_url": AMQP_URL, "database_url": f"sqlite:///{ledger}", "http_port": 0,
        "mappings_dir": str(ROOT / "mappings"), "log_level": "WARNING",
        "broker": {"prefix": prefix, "mes_exchange": f"{prefix}.mes.events", "feedback_exchange": f"{prefix}.mes.feedback",
                   "prefetch": 400, "batch_size": 200},
        "sources": {"mes": {"feedback": {"enabled": False}}},
        "routes": [{"name": bench.route_name, "events": ["report.*"], **bench.route(url), "in_flight": in_flight,
                    "processes": processes}],
    })
    config = folder / f"{prefix}.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", context=REVEAL_SECRETS)), encoding="utf-8")
    plan = topology_for(settings)
    declare_topology(AMQP_URL, plan)
    try:
        publish(names_for(settings).feedback_exchange, bench.envelopes(count, tag))
        env = dict(os.environ, BRIDGE_CONFIG=str(config), **bench.bridge_env)
        env.pop("BRIDGE_AMQP_URL", None)
        log = (folder / f"{prefix}.log").open("wb")
        # intake and translate in one process, the deliver stage (one per ERP target: it alone
        # keeps an order's calls in sequence) in another: the two cores of a small host
        processes = [
            subprocess.Popen([sys.executable, "-m", "bridge.cli", "run", "--no-http", *roles], cwd=ROOT, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
            for roles in ((["--role", "ingest", "--role", "translate"], ["--role", "deliver"]) if split else ([],))
        ]
        try:
            expected = count * bench.calls_per_report
            first_seen: float | None = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done, _ = done_calls(ledger)
                if done and first_seen is None:
                    first_seen, first_done = time.perf_counter(), done
                    watched = {"bridge deliver": with_descendants([processes[-1].pid]), "bridge intake+translate": [processes[0].pid],
                               bench.sim_name: [sim_pid], "RabbitMQ": broker_pids()}
                    if not split:
                        watched = {"bridge (all roles)": [processes[0].pid], **{k: v for k, v in watched.items() if k in (bench.sim_name, "RabbitMQ")}}
                    before = {name: cpu_seconds(pids) for name, pids in watched.items()}
                if done >= expected:
                    break
                if any(p.poll() is not None for p in processes):
                    raise SystemExit(f"a bridge run process exited: see {log.name}")
                time.sleep(0.02)
            else:
                raise SystemExit(f"bridge: only {done_calls(ledger)[0]} of {expected} calls settled in time; see {log.name}")
            elapsed = time.perf_counter() - (first_seen or time.perf_counter())
            reports = (expected - first_done) / bench.calls_per_report
            for name, pids in watched.items():
                cpu.setdefault(name, []).append((cpu_seconds(pids) - before[name]) * 1000 / max(reports, 1))
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(60)
    finally:
        delete_topology(AMQP_URL, plan)
    return reports / elapsed if elapsed > 0 else float("nan")


def make_bench(args: argparse.Namespace, folder: Path) -> Bench:
    """SAP here, the others from bench/feedback_<erp>.py (their ``BENCH`` class)."""
    if args.erp == "sap":
        return SapBench(args, folder)
    bench: Bench = importlib.import_module(f"bench.feedback_{args.erp}").BENCH(args, folder)
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--erp", choices=["sap", "kingdee", "yonyou"], default="sap", help="the ERP simulator posted to")
    parser.add_argument("-n", type=int, default=2000, help="reports per bridge round")
    parser.add_argument("--baseline-n", type=int, default=200, help="reports per baseline round")
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=32, help="calls in flight per deliver process")
    parser.add_argument("--processes", type=int, default=2, help="deliver processes (the route's processes:)")
    parser.add_argument("--mode", choices=["confirmation", "separate"], default="confirmation", help="SAP: goods_movements")
    parser.add_argument("--kingdee-bills", default="PRD_MORPT", help="Kingdee: the route's bills (comma-separated) or all")
    parser.add_argument("--yonyou-documents", default="finishedreport", help="Yonyou: the route's documents (comma-separated) or all")
    parser.add_argument("--workflow", choices=["save", "submit", "audit"], default="audit",
                        help="Kingdee, Yonyou: how far the route takes each bill (Yonyou: save or audit)")
    parser.add_argument("--one-process", action="store_true", help="every role in one bridge run process")
    args = parser.parse_args()
    if args.orders < 1:
        raise SystemExit("--orders must be at least 1")
    base_rates: list[float] = []
    bridge_rates: list[float] = []
    cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bench = make_bench(args, Path(tmp))
        with simulator(bench, Path(tmp)) as (url, sim_pid):
            for round_no in range(args.rounds):
                tag = f"{round_no}{uuid.uuid4().hex[:4]}"
                base_rates.append(bench.baseline(url, args.baseline_n, tag))
                bridge_rates.append(bridge_round(bench, url, args.n, args.in_flight, Path(tmp), tag, split=not args.one_process,
                                                 sim_pid=sim_pid, cpu=cpu, processes=args.processes))
                print(f"round {round_no + 1}: baseline {base_rates[-1]:.1f} reports/s, bridge {bridge_rates[-1]:.1f} reports/s",
                      flush=True)
            checks = bench.check(url, args.n * args.rounds)
    base, bridge = statistics.median(base_rates), statistics.median(bridge_rates)
    print(f"\n{bench.sim_name} at --latency-ms {args.latency_ms}, {args.orders} orders, {bench.options()}, "
          f"in_flight {args.in_flight} x {args.processes} deliver process(es), {'one process' if args.one_process else 'intake+translate | deliver'}, "
          f"{args.rounds} rounds (median):")
    for note in bench.notes():
        print(f"  {note}")
    print(f"  {bench.baseline_label + ':':<26}{base:8.1f} reports/s")
    print(f"  bridge (mes.feedback->{bench.erp}): {bridge:8.1f} reports/s   ratio {bridge / base:.1f}x")
    print("  CPU per report through the bridge (median, ms): " + ", ".join(
        f"{name} {statistics.median(values):.1f}" for name, values in cpu.items()))
    print(f"    all together {sum(statistics.median(v) for v in cpu.values()):.1f} ms on {os.cpu_count()} core(s)")
    for line in checks:
        print(f"  {line}")
    if math.isnan(bridge):
        raise SystemExit("no bridge measurement")


if __name__ == "__main__":
    main()
