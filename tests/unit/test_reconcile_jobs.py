"""Reconciliation jobs as declared in the configuration: validation with errors that name the
setting, the published JSON Schema, a run over the ledger and an MES export or query endpoint,
and ``bridge reconcile run`` with its summary, ``--json`` and ``--html``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from bridge.cli import main
from bridge.config import load_settings
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.reconcile.jobs import generated_schema, job_schema
from bridge.reconcile.runner import run_job

TODAY = date(2026, 12, 5)


def _config(tmp_path: Path, jobs: dict[str, Any], **extra: Any) -> Path:
    data = {"database_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}", "reconcile": {"timezone": "Asia/Shanghai",
                                                                                      "jobs": jobs}, **extra}
    path = tmp_path / "bridge.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


ORDERS_JOB = {"view": "orders", "source": {"ledger": "delivered"}, "target": {"mes": {"snapshot": "MES"}},
              "values": {"quantity": {"tolerance": {"absolute": 0.001}}}, "units": [{"unit": "BOX", "factor": 12, "into": "PCS"}]}


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    """A ledger that delivered orders 1001 (10.0004 PCS), 1002 and 1004 (2 BOX); the MES export
    holds 1001 (10 PCS: within 0.001), 1003 (not delivered) and 1004 (24 PCS = 2 BOX)."""
    export = tmp_path / "mes.csv"
    export.write_text("order_id,quantity,quantity_unit\n1001,10,PCS\n1003,5,PCS\n1004,24,PCS\n", encoding="utf-8")
    job = {**ORDERS_JOB, "target": {"mes": {"snapshot": str(export)}}}
    config = _config(tmp_path, {"orders": job})
    with Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.remote.remember_orders({
            "1001": ("m1", {"quantity": {"value": "10.0004", "unit": "PCS"}}),
            "1002": ("m2", {"quantity": {"value": "3", "unit": "PCS"}}),
            "1004": ("m4", {"quantity": {"value": "2", "unit": "BOX"}}),
        })
    return config


def test_the_published_schema_is_the_models_and_accepts_the_shipped_jobs() -> None:
    assert job_schema() == json.loads(json.dumps(generated_schema()))
    root = Path(__file__).resolve().parents[2]
    for example in ("sap-loop", "kingdee-loop", "yonyou-loop"):
        section = yaml.safe_load((root / f"examples/{example}.yaml").read_text(encoding="utf-8")).get("reconcile")
        if section is not None:
            jsonschema.validate(section, job_schema())


@pytest.mark.parametrize(("job", "says"), [
    ({**ORDERS_JOB, "view": "lots"}, "reconcile.jobs.j.view"),
    ({**ORDERS_JOB, "key": ["lot_id"]}, "key field 'lot_id' is not in view orders"),
    ({**ORDERS_JOB, "values": {"yield": {}}}, "value 'yield' is not in view orders"),
    ({**ORDERS_JOB, "source": {"ledger": "received"}}, "ledger: received holds MES reports"),
    ({**ORDERS_JOB, "source": {"erp": "sap"}}, "names route 'sap', which is not configured"),
    ({**ORDERS_JOB, "source": {"erp": "mes", "ledger": "delivered"}}, "a side is one of erp, ledger or mes"),
    ({**ORDERS_JOB, "schedule": "61 * * * *"}, "schedule '61 * * * *'"),
    ({**ORDERS_JOB, "window": "3 fortnights"}, "not a duration"),
    ({**ORDERS_JOB, "values": {"quantity": {"tolerance": {"absolute": "a lot"}}}}, "'a lot' is not a number"),
    ({**ORDERS_JOB, "units": [{"unit": "BOX", "factor": 0, "into": "PCS"}]}, "reconcile.jobs.j.units[0].factor"),
])
def test_a_bad_job_is_refused_naming_the_setting(tmp_path: Path, job: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_config(tmp_path, {"j": job}), env={})
    assert says in str(caught.value)


def test_a_run_over_the_ledger_and_an_export_converts_units_and_keeps_tolerances(orders: Path) -> None:
    settings = load_settings(orders, env={})
    with Ledger.connect(settings.database_url) as ledger:
        run = run_job("orders", settings, ledger, today=TODAY)
        found = {(d.kind, d.key["order_id"]) for d in run.open}
        assert found == {("missing_in_target", "1002"), ("missing_in_source", "1003")}
        assert (run.summary.pairs, run.summary.matched) == (2, 2)
        assert (run.since, run.until) == (date(2026, 11, 5), TODAY)
        again = run_job("orders", settings, ledger, today=TODAY)
        assert (again.result.opened, again.result.still_open) == (0, 2)
        assert ledger.discrepancies.open_counts() == {("orders", "missing_in_target"): 1, ("orders", "missing_in_source"): 1}


def test_an_unknown_job_names_the_configured_ones(orders: Path) -> None:
    settings = load_settings(orders, env={})
    with Ledger.connect(settings.database_url) as ledger, pytest.raises(ConfigError, match=r"jobs: orders"):
        run_job("nightly", settings, ledger)


def test_reconcile_run_prints_the_summary_and_writes_json_lines_and_html(orders: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["reconcile", "run", "orders", "--config", str(orders), "--json", "--html", str(html)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(d["kind"], d["order_id"]) for d in lines} == {("missing_in_target", "1002"), ("missing_in_source", "1003")}
    first = next(d for d in lines if d["order_id"] == "1002")
    assert set(first) >= {"id", "job", "kind", "order_id", "source", "target", "delta", "status", "first_seen", "last_seen"}
    assert first["source"]["side"] == "ledger (delivered)"
    assert first["target"] is None
    assert first["status"] == "open"
    assert "missing_in_target           1" in result.stderr
    page = html.read_text(encoding="utf-8")
    assert "1002" in page
    assert "1003" in page
    plain = CliRunner().invoke(main, ["reconcile", "run", "orders", "--config", str(orders)])
    assert plain.exit_code == 0
    assert "pairs" in plain.stdout
    assert "2 still open" in plain.stdout


def test_reconcile_run_repair_says_what_it_did_about_each_discrepancy(orders: Path) -> None:
    result = CliRunner().invoke(main, ["reconcile", "run", "orders", "--config", str(orders), "--json", "--repair",
                                       "--by", "alice"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {d["action"] for d in lines} == {"neither side is an ERP: nothing the bridge could send again"}
    assert "0 repaired" in result.stderr
    listed = CliRunner().invoke(main, ["reconcile", "list", "--config", str(orders), "--json"])
    assert {json.loads(line)["action"] for line in listed.stdout.splitlines()} == {
        "neither side is an ERP: nothing the bridge could send again"}


def test_reconcile_run_errors_are_one_line_without_a_traceback(orders: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["reconcile", "run", "nightly", "--config", str(orders)])
    assert result.exit_code != 0
    assert "no reconciliation job 'nightly' (jobs: orders)" in result.stderr
    assert "Traceback" not in result.output
    (tmp_path / "mes.csv").write_text("order_id,quantity,quantity_unit\n1001,ten,PCS\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["reconcile", "run", "orders", "--config", str(orders)])
    assert bad.exit_code != 0
    assert "mes.csv" in bad.stderr
    assert "'ten' is not a number" in bad.stderr
    assert "Traceback" not in bad.output


class _MesQuery(BaseHTTPRequestHandler):
    body = b""
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer mes-query-token":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def mes_query() -> Iterator[str]:
    _MesQuery.body = (json.dumps({"order_id": "1001", "quantity": "10", "quantity_unit": "PCS"}) + "\n").encode()
    _MesQuery.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MesQuery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/orders"
    server.shutdown()
    server.server_close()


def test_the_mes_side_can_be_a_query_endpoint_with_a_bearer_token(tmp_path: Path, mes_query: str) -> None:
    job = {**ORDERS_JOB, "target": {"mes": {"url": mes_query, "token_env": "MES_QUERY_TOKEN"}}}
    settings = load_settings(_config(tmp_path, {"orders": job}), env={})
    with Ledger.connect(settings.database_url) as ledger:
        ledger.remote.remember_orders({"1001": ("m1", {"quantity": {"value": "10", "unit": "PCS"}})})
        run = run_job("orders", settings, ledger, env={"MES_QUERY_TOKEN": "mes-query-token"}, today=TODAY)
        assert run.open == []
        assert run.summary.matched == 1
        assert _MesQuery.seen == [("/api/orders?since=2026-11-05&until=2026-12-05", "Bearer mes-query-token")]
        with pytest.raises(ConfigError, match="refused the bridge's credentials"):
            run_job("orders", settings, ledger, env={"MES_QUERY_TOKEN": "wrong"}, today=TODAY)
        with pytest.raises(ConfigError, match="MES_QUERY_TOKEN is not set"):
            run_job("orders", settings, ledger, env={}, today=TODAY)


def test_bridge_run_runs_a_due_job_once_and_gauges_its_discrepancies(orders: Path) -> None:
    import time as clock

    from prometheus_client import CollectorRegistry

    from bridge.observability.metrics import Metrics
    from bridge.runtime import Runtime

    data = yaml.safe_load(orders.read_text(encoding="utf-8"))
    data["reconcile"]["jobs"]["orders"]["schedule"] = "0 3 * * *"
    orders.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = load_settings(orders, env={})
    registry = CollectorRegistry()
    runtime = Runtime(settings, metrics=Metrics(registry=registry))
    runtime.ledger = Ledger.connect(settings.database_url)
    try:
        runtime._start_reconcile_scheduler()
        scheduler = runtime.scheduler
        due = scheduler.next_due("orders")
        assert (due.hour, due.minute, str(due.tzinfo)) == (3, 0, "Asia/Shanghai")
        [started] = scheduler.tick(due)
        assert started.kind == "started"
        deadline = clock.monotonic() + 30
        while scheduler.running() and clock.monotonic() < deadline:
            clock.sleep(0.05)
        assert runtime.ledger.discrepancies.open_counts() == {("orders", "missing_in_target"): 1,
                                                               ("orders", "missing_in_source"): 1}
        assert registry.get_sample_value("bridge_discrepancies", {"job": "orders", "kind": "missing_in_source"}) == 1
        assert registry.get_sample_value("bridge_discrepancies", {"job": "orders", "kind": "stale"}) == 0
    finally:
        runtime.scheduler.stop(10)
        runtime.ledger.close()


def test_bridge_run_gauges_the_open_discrepancies_of_the_ledger_at_start(orders: Path) -> None:
    from prometheus_client import CollectorRegistry

    from bridge.observability.metrics import Metrics
    from bridge.runtime import Runtime

    settings = load_settings(orders, env={})
    with Ledger.connect(settings.database_url) as ledger:
        run_job("orders", settings, ledger, today=TODAY)  # what `bridge reconcile run` left
    registry = CollectorRegistry()
    runtime = Runtime(settings, metrics=Metrics(registry=registry))
    runtime.ledger = Ledger.connect(settings.database_url)
    try:
        runtime._start_reconcile_scheduler()  # no schedule: nothing runs, the gauge is read
        assert runtime.scheduler is None
    finally:
        runtime.ledger.close()
    assert registry.get_sample_value("bridge_discrepancies", {"job": "orders", "kind": "missing_in_target"}) == 1
    assert registry.get_sample_value("bridge_discrepancies", {"job": "orders", "kind": "quantity_mismatch"}) == 0
