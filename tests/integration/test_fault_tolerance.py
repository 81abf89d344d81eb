"""Killing a worker and restarting the broker mid-stream lose nothing and duplicate nothing.

The bridge runs as a real ``bridge run`` process; documents are ingested, the process is killed
with SIGKILL (or the broker application is restarted) while events are flowing, and the test
counts distinct message ids at both sinks. AMQP delivery to the MES is at least once: an event
published just before a crash may be published again, with the same message id, so the MES side
recognises it; the file sink and the ledger must hold every document exactly once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.sap.simulator.seeds import order_variants
from bridge.config import Settings
from bridge.errors import TransientError

from .harness import (
    CASES,
    ROOT,
    MesTap,
    bridge_topology,
    ingest,
    make_settings,
    sink_lines,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

DOCUMENTS = 1500


def make_documents(folder: Path, count: int) -> list[Path]:
    """``count`` distinct production orders (own DOCNUM and order number each)."""
    return order_variants(CASES / "LOIPRO05_DMC_nonSAP_ERP.xml", folder, count, 700000000)


def start_bridge(config: Path, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """``bridge run`` in its own process (``options`` e.g. ``--workers 3``; default ``--no-http``)."""
    env = dict(os.environ, BRIDGE_CONFIG=str(config), PYTHONUNBUFFERED="1")
    env.pop("BRIDGE_AMQP_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", *(options or ["--no-http"])],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop_bridge(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM and wait: a graceful stop exits 0."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout)


class Collector:
    """Drains the MES tap into a list as the test goes."""

    def __init__(self, tap: MesTap) -> None:
        self.tap = tap
        self.ids: list[str] = []

    def poll(self) -> int:
        with contextlib.suppress(TransientError):  # the broker is restarting
            self.ids.extend(props.message_id for props, _, _ in self.tap.drain())
        return len(set(self.ids))


@pytest.fixture
def stream(rabbitmq, tmp_path):
    """Topology, MES tap and DOCUMENTS orders already ingested; yields what the tests need."""
    settings = make_settings(tmp_path, prefetch=50, batch_size=25)
    with bridge_topology(settings):
        tap = MesTap(settings)
        tap.declare()
        try:
            ingest(settings, make_documents(tmp_path / "docs", DOCUMENTS))
            config = write_config(settings, tmp_path / "bridge.yaml")
            expected = {f"sap:AX2012 Manu:{n:016d}:order" for n in range(1, DOCUMENTS + 1)}
            yield settings, Collector(tap), config, expected
        finally:
            tap.delete()


def _assert_complete(settings: Settings, collector: Collector, tmp_path: Path, expected: set[str]) -> None:
    wait_for(lambda: collector.poll() >= len(expected), timeout=120, interval=0.2)
    time.sleep(1.0)  # anything still in flight would show up now
    collector.poll()
    assert set(collector.ids) == expected
    file_ids = [line["message_id"] for line in sink_lines(tmp_path / "sink.jsonl")]
    assert len(file_ids) == len(set(file_ids)), "the file sink holds a document twice"
    assert set(file_ids) == expected


def test_a_worker_killed_with_sigkill_mid_stream_loses_and_duplicates_nothing(stream, tmp_path):
    settings, collector, config, expected = stream
    first = start_bridge(config, tmp_path / "bridge-1.log")
    try:
        wait_for(lambda: collector.poll() >= 100, timeout=60, interval=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert collector.poll() < DOCUMENTS, "the stream finished before the kill: raise DOCUMENTS"
    finally:
        if first.poll() is None:
            first.kill()
    second = start_bridge(config, tmp_path / "bridge-2.log")
    try:
        _assert_complete(settings, collector, tmp_path, expected)
    finally:
        assert stop_bridge(second) == 0, (tmp_path / "bridge-2.log").read_text()[-3000:]


def rabbitmqctl(*args: str) -> None:
    """Run ``rabbitmqctl`` (``stop_app``, ``start_app``, ``await_startup``) on the local node."""
    command = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([command, *args], check=True, capture_output=True, timeout=120)


def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(stream, tmp_path):
    settings, collector, config, expected = stream
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        wait_for(lambda: collector.poll() >= 100, timeout=60, interval=0.02)
        rabbitmqctl("stop_app")
        assert collector.poll() < DOCUMENTS, "the stream finished before the restart: raise DOCUMENTS"
        time.sleep(2)
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
        assert bridge.poll() is None, "the bridge process died with the broker"
        _assert_complete(settings, collector, tmp_path, expected)
    finally:
        assert stop_bridge(bridge) == 0, (tmp_path / "bridge.log").read_text()[-3000:]
