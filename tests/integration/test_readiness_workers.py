"""``/readyz`` of ``bridge run --workers 2`` on the real broker and ledger: broker, database, workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error

import pytest

from .harness import ROOT, bridge_topology, make_settings, wait_for, write_config
from .test_operations_rabbitmq import get
from .test_scale_and_postgres import children_of, free_port

pytestmark = pytest.mark.integration


def readyz_once(port: int, status: int) -> dict | None:
    """The /readyz body once it answers ``status`` (None before, also while nothing listens)."""
    try:
        got, body = get(port, "/readyz")
    except urllib.error.URLError:
        return None
    assert "guest:guest" not in body
    return json.loads(body) if got == status else None


def test_the_parent_of_worker_processes_is_ready_only_with_broker_database_and_every_child(rabbitmq, tmp_path):
    port = free_port()
    settings = make_settings(tmp_path).model_copy(update={"http_port": port, "http_host": "127.0.0.1"})
    config = write_config(settings, tmp_path / "bridge.yaml")
    with bridge_topology(settings):
        parent = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--workers", "2"],
            cwd=ROOT,
            env=dict(os.environ, BRIDGE_CONFIG=str(config)),
            stdout=(tmp_path / "bridge.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: len(children_of(parent.pid)) == 2, timeout=20)
            assert wait_for(lambda: readyz_once(port, 200), timeout=20) == {
                "status": "ready",
                "checks": {"broker": "ok", "database": "ok", "workers": "ok"},
            }
            victim = children_of(parent.pid)[0]
            os.kill(victim, signal.SIGKILL)
            assert wait_for(lambda: readyz_once(port, 503)) == {
                "status": "unavailable",
                "checks": {
                    "broker": "ok",
                    "database": "ok",
                    "workers": f"RuntimeError: worker process(es) [{victim}] exited",
                },
            }
        finally:
            parent.send_signal(signal.SIGTERM)
            parent.wait(60)
