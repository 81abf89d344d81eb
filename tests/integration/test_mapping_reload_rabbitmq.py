"""Mapping hot reload in a running bridge on the real RabbitMQ: a changed mapping is used for
the documents after it, every document is translated and delivered exactly once, and an invalid
mapping leaves the bridge translating with the one before."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bridge.observability.metrics import Metrics
from bridge.runtime import Runtime

from .harness import (
    CASES,
    MAPPINGS,
    ROOT,
    MesTap,
    bridge_topology,
    ingest,
    make_settings,
    names_for,
    queue_depth,
    sink_lines,
    wait_for,
    write_config,
)
from .test_operations_rabbitmq import get
from .test_scale_and_postgres import children_of, free_port

pytestmark = pytest.mark.integration

MATERIAL = CASES / "MATMAS05_DMC_S1SP02677_finished.xml"
V1_FIELD = "material_type:  {path: E1MARAM.MTART}"  # the sample's FERT
V2_FIELD = "material_type:  {path: E1MARAM.LGPRO}"  # the sample's WH_PL
BROKEN_FIELD = "material_type:  {path: E1MARAM.MTART, transform: no_such_transform}"


def materials(folder: Path, first: int, count: int) -> list[Path]:
    """``count`` material masters of their own (material R-<n>): each a raw message and a
    canonical event of its own, none stale for another."""
    folder.mkdir(exist_ok=True)
    files = []
    for n in range(first, first + count):
        path = folder / f"MATMAS05_R-{n:04d}.xml"
        path.write_bytes(MATERIAL.read_bytes().replace(b"<MATNR>S1SP02677</MATNR>", f"<MATNR>R-{n:04d}</MATNR>".encode()))
        files.append(path)
    return files


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def reloads(metrics: Metrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("bridge_mapping_reloads_total", {"outcome": outcome}) or 0.0


class Traffic:
    """Material masters sent through ingest, and what the MES received of them."""

    def __init__(self, settings, folder: Path, tap: MesTap) -> None:
        # ingest reads no mapping, but a runtime starting on a broken folder refuses to start
        self.settings = settings.model_copy(update={"mappings_dir": MAPPINGS})
        self.folder, self.tap = folder, tap
        self.sent: list[str] = []  # raw message ids
        self.received: list = []  # (properties, envelope, routing key) at the MES

    def send(self, first: int, count: int) -> list[str]:
        ids = ingest(self.settings, materials(self.folder, first, count))
        self.sent += ids
        return ids

    def wait_until_the_mes_has(self, n: int) -> None:
        def arrived() -> bool:
            self.received.extend(self.tap.drain())
            return len(self.received) >= n

        wait_for(arrived, timeout=30)

    def material_types(self, first: int, count: int) -> list[str]:
        by_material = {envelope["payload"]["material_id"]: envelope for _, envelope, _ in self.received}
        return [by_material[f"R-{n:04d}"]["payload"]["material_type"] for n in range(first, first + count)]


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    return folder


def test_a_mapping_changed_while_the_bridge_runs_is_used_without_losing_or_repeating_a_message(
    tmp_path, rabbitmq, mappings, caplog
):
    settings = make_settings(tmp_path).model_copy(update={"mappings_dir": mappings})
    mapping_file = mappings / "sap" / "matmas_material.yaml"
    metrics = Metrics(CollectorRegistry())
    with bridge_topology(settings):
        tap = MesTap(settings)
        tap.declare()
        traffic = Traffic(settings, tmp_path / "documents", tap)
        runtime = Runtime(settings, roles=("translate", "deliver"), metrics=metrics, mappings_reload_s=0.2)
        runtime.start(serve_http=False, connect_wait=10)
        try:
            with caplog.at_level(logging.INFO, logger="bridge.mapping.reload"):
                traffic.send(1, 5)  # v1
                traffic.wait_until_the_mes_has(5)
                assert traffic.material_types(1, 5) == ["FERT"] * 5

                # v2 written while documents keep coming: each is translated once, with v1 or v2
                feeder = threading.Thread(target=traffic.send, args=(6, 20))
                feeder.start()
                edit(mapping_file, V1_FIELD, V2_FIELD)
                wait_for(lambda: runtime.reloader.holder.generation == 2, timeout=20)
                feeder.join(60)
                traffic.wait_until_the_mes_has(25)
                assert set(traffic.material_types(6, 20)) <= {"FERT", "WH_PL"}

                traffic.send(26, 5)  # after the reload: v2 only
                traffic.wait_until_the_mes_has(30)
                assert traffic.material_types(26, 5) == ["WH_PL"] * 5

                # an invalid mapping: rejected, the bridge goes on with v2
                edit(mapping_file, V2_FIELD, BROKEN_FIELD)
                wait_for(lambda: reloads(metrics, "rejected") == 1, timeout=20)
                traffic.send(31, 5)
                traffic.wait_until_the_mes_has(35)
                assert traffic.material_types(31, 5) == ["WH_PL"] * 5
            journal = {raw: runtime.ledger.journal(raw) for raw in traffic.sent}
        finally:
            runtime.stop(timeout=20)
            tap.delete()
        names = names_for(settings)
        translate_dlq = queue_depth(names.dead_letter_queue(names.translate_queue))

    # every raw message translated exactly once; every event reached the MES and the file once
    assert len(journal) == 35
    assert all(
        [(e.stage, e.status) for e in entries if e.stage == "translate"] == [("translate", "translated")]
        for entries in journal.values()
    ), journal
    delivered = [props.message_id for props, _, _ in traffic.received]
    assert len(delivered) == len(set(delivered)) == 35
    assert sorted(line["message_id"] for line in sink_lines(tmp_path / "sink.jsonl")) == sorted(delivered)
    assert translate_dlq == 0

    assert reloads(metrics, "applied") == 1
    assert metrics.registry.get_sample_value("bridge_mapping_reload_failed") == 1
    count = len(runtime.reloader.holder.current.mappings)
    assert f"mappings reloaded: {count} mappings (changed: sap/matmas_material.yaml)" in caplog.messages
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"{mapping_file}:22: unknown transform 'no_such_transform'" in error


def scraped(port: int, sample: str) -> float | None:
    """One sample's value on the parent's /metrics (summed over the worker processes)."""
    try:
        status, body = get(port, "/metrics")
    except urllib.error.URLError:
        return None
    found = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE) if status == 200 else None
    return float(found.group(1)) if found else None


def test_each_worker_process_reloads_its_own_mappings(rabbitmq, tmp_path, mappings):
    port = free_port()
    settings = make_settings(tmp_path).model_copy(
        update={"http_port": port, "http_host": "127.0.0.1", "mappings_dir": mappings}
    )
    config = write_config(settings, tmp_path / "bridge.yaml")
    mapping_file = mappings / "sap" / "matmas_material.yaml"
    log = tmp_path / "bridge.log"
    applied = 'bridge_mapping_reloads_total{outcome="applied"}'
    rejected = 'bridge_mapping_reloads_total{outcome="rejected"}'
    with bridge_topology(settings):
        parent = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--workers", "2"],
            cwd=ROOT,
            env=dict(os.environ, BRIDGE_CONFIG=str(config), BRIDGE_MAPPINGS_RELOAD_S="0.2"),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: len(children_of(parent.pid)) == 2, timeout=20)
            wait_for(lambda: log.read_text(encoding="utf-8").count("watching") == 2, timeout=30)
            edit(mapping_file, V1_FIELD, V2_FIELD)
            assert wait_for(lambda: scraped(port, applied) == 2, timeout=30)
            edit(mapping_file, V2_FIELD, BROKEN_FIELD)
            assert wait_for(lambda: scraped(port, rejected) == 2, timeout=30)
            assert scraped(port, "bridge_mapping_reload_failed") == 1
        finally:
            parent.send_signal(signal.SIGTERM)
            parent.wait(60)
    text = log.read_text(encoding="utf-8")
    assert text.count("mappings reloaded: ") == 2
    assert text.count("mappings not reloaded, still using the ") == 2
