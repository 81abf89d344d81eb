"""``bridge run --workers N``: the parent process that starts N runtimes as competing consumers,
serves their aggregated metrics and readiness, and forwards signals to them."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.broker.amqp import AmqpConnection
from bridge.config import Settings
from bridge.runtime import Runtime, broker_check

__all__ = ["ParentReadiness", "children_check", "install_signal_handlers", "run_processes"]

log = logging.getLogger(__name__)


def children_check(children: Sequence[subprocess.Popen[Any]]) -> Callable[[], None]:
    """A readiness check: raises once any of the worker processes has exited."""

    def children_alive() -> None:
        dead = [child.pid for child in children if child.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) {dead} exited")

    return children_alive


@dataclass
class ParentReadiness:
    """What the parent of ``--workers N`` checks for ``/readyz``: the same broker and database
    checks as a single process (on connections of its own), and that every child is alive.

    Its broker connection reconnects in the background; its ledger handle neither migrates nor
    checks the schema (the children do), it only pings the database.
    """

    settings: Settings
    children: Sequence[subprocess.Popen[Any]]
    connection: AmqpConnection | None = None
    ledger: Any = None

    def start(self) -> dict[str, Callable[[], None]]:
        """Open the connection and the ledger handle; the named checks for the HealthServer."""
        from bridge.ledger import Ledger

        broker = self.settings.broker
        self.connection = AmqpConnection(
            self.settings.amqp_url,
            heartbeat=broker.heartbeat_s,
            reconnect_max_wait=broker.reconnect_max_wait_s,
            name=f"erp-mes-bridge:{os.getpid()}:readiness",
        )
        self.connection.start()
        self.ledger = Ledger.probe(self.settings.database_url, busy_timeout=self.settings.ledger.busy_timeout_s)
        return {
            "broker": broker_check(self.connection),
            "database": self.ledger.ping,
            "workers": children_check(self.children),
        }

    def close(self) -> None:
        """Close the connection and the ledger handle."""
        if self.connection is not None:
            self.connection.close()
        if self.ledger is not None:
            self.ledger.close()


def install_signal_handlers(runtime: Runtime) -> None:
    """SIGTERM and SIGINT stop the runtime gracefully (from a thread: handlers must return)."""

    def handle(signum: int, _frame: Any) -> None:
        log.info("received signal %d: finishing in-flight messages", signum)
        threading.Thread(target=runtime.stop, name="stopper", daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_processes(argv: Sequence[str], workers: int, settings: Settings) -> int:
    """Run ``workers`` child processes of ``bridge run`` (same arguments, one worker each).

    The parent serves /metrics aggregated over the children (Prometheus multiprocess mode),
    forwards SIGTERM/SIGINT and returns the first non-zero exit code (0 when all stop cleanly).
    """
    children: list[subprocess.Popen[bytes]] = []
    readiness = ParentReadiness(settings, children)
    checks = readiness.start() if settings.http_port else {}  # a bad ledger URL stops here, before any child
    multiproc = tempfile.mkdtemp(prefix="bridge-metrics-")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=multiproc)
    children.extend(
        subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", *argv, "--workers", "1", "--no-http"], env=env
        )
        for _ in range(workers)
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc
    health = None
    if settings.http_port:
        from bridge.observability.http import HealthServer

        health = HealthServer(settings.http_host, settings.http_port, readiness=checks)
        health.start()

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    from bridge.observability.metrics import mark_process_dead

    codes = []
    for child in children:
        codes.append(child.wait())
        mark_process_dead(child.pid)
    if health is not None:
        health.stop()
    readiness.close()
    shutil.rmtree(multiproc, ignore_errors=True)
    return next((code for code in codes if code), 0)
