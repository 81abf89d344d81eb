"""Scaling by processes (``bridge run --workers N``) and the ledger on PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bridge.ledger import Ledger
from tests.polling import free_port

from .harness import (
    CASES,
    ROOT,
    MesTap,
    bridge_topology,
    ingest,
    make_settings,
    running,
    sink_lines,
    wait_for,
    write_config,
)
from .test_fault_tolerance import Collector, make_documents

pytestmark = pytest.mark.integration



def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def test_two_worker_processes_share_the_stream_and_stop_cleanly(rabbitmq, tmp_path):
    port = free_port()
    settings = make_settings(tmp_path).model_copy(update={"http_port": port, "http_host": "127.0.0.1"})
    config = write_config(settings, tmp_path / "bridge.yaml")
    documents = make_documents(tmp_path / "docs", 300)
    with bridge_topology(settings):
        tap = MesTap(settings)
        tap.declare()
        collector = Collector(tap)
        env = dict(os.environ, BRIDGE_CONFIG=str(config))
        log = (tmp_path / "bridge.log").open("ab")
        parent = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: len(children_of(parent.pid)) == 2, timeout=20)
            ingest(settings, documents)
            wait_for(lambda: collector.poll() >= 300, timeout=60)
            metrics = wait_for(
                lambda: _scrape(port, 'bridge_messages_delivered_total{entity="order",target="files"} 300.0')
            )
            assert 'bridge_messages_delivered_total{entity="order",target="mes"} 300.0' in metrics
        finally:
            parent.send_signal(signal.SIGTERM)
            code = parent.wait(60)
            tap.delete()
    assert code == 0, (tmp_path / "bridge.log").read_text()[-3000:]
    assert len(set(collector.ids)) == 300
    assert len({line["message_id"] for line in sink_lines(tmp_path / "sink.jsonl")}) == 300


def _scrape(port: int, wanted: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
    except OSError:
        return None
    return body if wanted in body else None


def test_the_pipeline_runs_on_a_postgresql_ledger(rabbitmq, postgres_schema, tmp_path):
    url, schema = postgres_schema
    separator = "&" if "?" in url else "?"
    settings = make_settings(tmp_path, database_url=f"{url}{separator}options=-csearch_path%3D{schema}")
    with bridge_topology(settings):
        tap = MesTap(settings)
        tap.declare()
        try:
            with running(settings):
                ingest(settings, [CASES / "LOIPRO05_S4HANA_Original.xml"])
                wait_for(lambda: sink_lines(tmp_path / "sink.jsonl"))
                ingest(settings, [CASES / "LOIPRO05_S4HANA_Original.xml"])  # a re-ingest changes nothing
                got = wait_for(tap.drain)
        finally:
            tap.delete()
    assert [props.message_id for props, _, _ in got] == ["sap:S4HCLNT100:0000000000430094:order"]
    with Ledger.connect(url, schema=schema, migrate=False) as ledger:
        raw = f"sap:S4HCLNT100:0000000000430094:{hashlib.sha256((CASES / 'LOIPRO05_S4HANA_Original.xml').read_bytes()).hexdigest()[:12]}"
        assert {(e.stage, e.status) for e in ledger.journal(raw)} == {
            ("ingest", "received"),
            ("translate", "translated"),
        }
        delivered = {(e.stage, e.status) for e in ledger.journal("sap:S4HCLNT100:0000000000430094:order")}
        assert delivered == {("deliver:mes", "delivered"), ("deliver:files", "delivered")}
