"""10,000 orders while the worker processes are SIGKILLed and RabbitMQ restarts, during ``bridge ingest``.

The scale version of :mod:`test_fault_tolerance`: ``bridge run --workers 3`` (three processes
sharing one ledger) on a SQLite file and on PostgreSQL, and ``bridge ingest`` of 10,000 orders in
a process of its own. While ingest runs:

1. the broker application is stopped (``rabbitmqctl stop_app``); the parent's ``/readyz`` says
   so (503, the broker check failing); the worker processes are SIGKILLed during the outage;
2. when the broker is back, another writer holds the ledger's write lock for longer than the
   SQLite busy timeout (1 s here; until ingest has met "database is locked"), as a long
   transaction of another process would (on PostgreSQL a table lock for 3 s, which is waited
   for); then new workers take over;
3. those are SIGKILLed mid-stream and replaced once more.

``bridge ingest`` must ride through all of it (exit 0, saying what it rode through), every order
reach the file sink exactly once and the MES at least once (10,000 distinct ids), the ledger hold
every order once per stage and target, and nothing be dead-lettered.

Run it alone with ``pytest -m fault_scale``. It restarts the shared broker (other test runs on it
see connection errors for a few seconds) and always leaves it running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bridge.config import LedgerSettings, Settings
from bridge.runtime import topology_for

from ..unit.ledger_helpers import hold_sqlite_write_lock
from .harness import (
    ROOT,
    MesTap,
    bridge_topology,
    make_settings,
    queue_depth,
    sink_lines,
    wait_for,
    write_config,
)
from .test_fault_tolerance import Collector, make_documents, rabbitmqctl, start_bridge, stop_bridge
from .test_readiness_workers import readyz_once
from .test_scale_and_postgres import children_of, free_port

pytestmark = [pytest.mark.integration, pytest.mark.fault_scale]

ORDERS = 10_000
WORKERS = 3
LOCK_HELD_S = 3.0
BUSY_TIMEOUT_S = 1.0
EXPECTED_JOURNAL = {
    ("ingest", "received"): (ORDERS, ORDERS),
    ("translate", "translated"): (ORDERS, ORDERS),
    ("deliver:mes", "delivered"): (ORDERS, ORDERS),
    ("deliver:files", "delivered"): (ORDERS, ORDERS),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ledger the three worker processes and ingest share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    url, schema = request.getfixturevalue("postgres_schema")
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def broker(rabbitmq: str) -> Iterator[None]:
    """The shared broker, running again afterwards whatever happened."""
    try:
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


class Workers:
    """``bridge run --workers 3``, killed and started again by the test."""

    def __init__(self, config: Path, folder: Path, port: int) -> None:
        self.config = config
        self.folder = folder
        self.port = port
        self.started = 0
        self.killed: list[int] = []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.started += 1
        self.process = start_bridge(self.config, self.log(), "--workers", str(WORKERS))  # with /readyz
        parent = self.process.pid
        wait_for(lambda: len(children_of(parent)) == WORKERS, timeout=30)
        wait_for(lambda: readyz_once(self.port, 200), timeout=30)

    def kill(self) -> None:
        """SIGKILL every worker process; their parent then exits on its own."""
        assert self.process is not None
        children = children_of(self.process.pid)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        self.killed.extend(children)
        self.process.wait(30)

    def stop(self) -> int:
        """SIGTERM the running ones: a graceful stop exits 0."""
        assert self.process is not None
        return stop_bridge(self.process)

    def log(self) -> Path:
        return self.folder / f"bridge-{self.started}.log"


@dataclass
class Observed:
    """What the run went through and what came out of it."""

    broker_restarts: list[float] = field(default_factory=list)  # seconds after the start
    readyz_in_outage: dict[str, Any] | None = None
    lock_held_at: float = 0.0
    lock_held_for: float = 0.0
    ingest_code: int | None = None
    ingest_report: str = ""
    ingested: int = 0
    mes_ids: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    journal: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0


def start_ingest(config: Path, documents: Path, folder: Path) -> subprocess.Popen[bytes]:
    """``bridge ingest`` of the whole folder, in its own process (output to files)."""
    env = dict(os.environ, BRIDGE_CONFIG=str(config), PYTHONUNBUFFERED="1")
    env.pop("BRIDGE_AMQP_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "ingest", "--source-system", "sap", str(documents)],
        cwd=ROOT,
        env=env,
        stdout=(folder / "ingest.out").open("wb"),
        stderr=(folder / "ingest.err").open("wb"),
    )


def archived(engine: Engine) -> int:
    """Raw payloads in the ledger (0 while its tables do not exist yet)."""
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM bridge_raw_archive")).scalar_one())
    except SQLAlchemyError:
        return 0


def hold_write_lock(url: str, seconds: float, until: Callable[[], bool]) -> threading.Thread:
    """Another writer holding the ledger's write lock for ``seconds`` (join the thread to wait);
    on SQLite also until ``until()`` (PostgreSQL waits for the lock, nothing fails there)."""
    if url.startswith("sqlite:///"):
        return hold_sqlite_write_lock(url.removeprefix("sqlite:///"), seconds, until)

    def hold() -> None:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE bridge_raw_archive, bridge_journal IN EXCLUSIVE MODE"))
            time.sleep(seconds)
        engine.dispose()

    thread = threading.Thread(target=hold, name="ledger-lock", daemon=True)
    thread.start()
    return thread


def journal_counts(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    """``{(stage, status): (rows, distinct message ids)}`` of the journal."""
    sql = "SELECT stage, status, COUNT(*), COUNT(DISTINCT message_id) FROM bridge_journal GROUP BY stage, status"
    with engine.connect() as conn:
        return {(stage, status): (rows, ids) for stage, status, rows, ids in conn.execute(text(sql))}


def dead_letter_depths(settings: Settings) -> dict[str, int]:
    """Messages in every dead-letter queue of the topology."""
    return {q.name: queue_depth(q.name) for q in topology_for(settings).queues if q.name.endswith(".dlq")}


def inject_faults(
    ingest: subprocess.Popen[bytes],
    workers: Workers,
    ledger: Engine,
    url: str,
    collector: Collector,
    seen: Observed,
) -> None:
    """The faults, one after the other, while ``ingest`` runs."""
    started = time.monotonic() - seen.elapsed
    wait_for(lambda: archived(ledger) >= 1000, timeout=120)
    rabbitmqctl("stop_app")
    seen.broker_restarts.append(time.monotonic() - started)
    try:
        assert ingest.poll() is None, "ingest finished before the broker went down: raise ORDERS"
        seen.readyz_in_outage = wait_for(lambda: readyz_once(workers.port, 503), timeout=20)
        workers.kill()  # during the outage
        time.sleep(2)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
    # ingest, back on the broker, finds the ledger locked (the workers are still down): on SQLite
    # the lock is held until ingest has seen "database is locked" at least once
    seen.lock_held_at = time.monotonic() - started
    report = workers.folder / "ingest.err"
    hold_write_lock(url, LOCK_HELD_S, lambda: "database is locked" in report.read_text(errors="replace")).join()
    seen.lock_held_for = time.monotonic() - started - seen.lock_held_at
    workers.start()
    progress = collector.poll()
    wait_for(lambda: collector.poll() >= progress + 500, timeout=120, interval=0.2)
    workers.kill()  # mid-stream
    workers.start()


def run_with_faults(settings: Settings, url: str, tmp_path: Path, seen: Observed) -> None:
    """Ingest ORDERS orders through three worker processes while the faults happen."""
    started = time.monotonic()
    config = write_config(settings, tmp_path / "bridge.yaml")
    documents = tmp_path / "docs"
    make_documents(documents, ORDERS)
    seen.elapsed = time.monotonic() - started  # set-up time, counted in the run's time
    ledger = create_engine(url)
    workers = Workers(config, tmp_path, settings.http_port)
    tap = MesTap(settings)
    tap.declare()
    collector = Collector(tap)
    try:
        workers.start()
        ingest = start_ingest(config, documents, tmp_path)
        try:
            inject_faults(ingest, workers, ledger, url, collector, seen)
            seen.ingest_code = ingest.wait(timeout=300)
        finally:
            if ingest.poll() is None:
                ingest.kill()
        seen.ingest_report = (tmp_path / "ingest.err").read_text(errors="replace")
        seen.ingested = len((tmp_path / "ingest.out").read_text().splitlines())
        if seen.ingest_code == 0:
            wait_for(lambda: collector.poll() >= ORDERS, timeout=300, interval=0.5)
            time.sleep(1.0)  # anything still in flight would show up now
            collector.poll()
        seen.mes_ids = collector.ids
        seen.file_ids = [line["message_id"] for line in sink_lines(tmp_path / "sink.jsonl")]
        seen.journal = journal_counts(ledger)
        seen.dead_letters = dead_letter_depths(settings)
    finally:
        try:
            if workers.process is not None and workers.process.poll() is None:
                assert workers.stop() == 0, workers.log().read_text(errors="replace")[-3000:]
        finally:
            tap.delete()
            ledger.dispose()
            seen.elapsed = time.monotonic() - started


def test_ten_thousand_orders_survive_killed_workers_a_broker_restart_and_a_locked_ledger_during_ingest(
    ledger_url: str, broker: None, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url=ledger_url, retry_tiers=["1s", "5s", "15s"], delivery_limit=10
    ).model_copy(
        update={
            "ledger": LedgerSettings(busy_timeout_s=BUSY_TIMEOUT_S),
            "http_port": free_port(),
            "http_host": "127.0.0.1",
        }
    )
    seen = Observed()
    with bridge_topology(settings):
        run_with_faults(settings, ledger_url, tmp_path, seen)
    [report] = [line for line in seen.ingest_report.splitlines() if "ingested and confirmed" in line] or [
        seen.ingest_report[-3000:]
    ]
    print(
        f"\nfault_scale[{ledger_url.split(':', 1)[0]}]: {seen.elapsed:.0f} s; broker restarted at "
        f"{', '.join(f'{t:.0f} s' for t in seen.broker_restarts)}; ledger locked {seen.lock_held_for:.1f} s at "
        f"{seen.lock_held_at:.0f} s; 2 x {WORKERS} worker processes SIGKILLed; ingest exit "
        f"{seen.ingest_code}: {report}; /readyz in the outage {seen.readyz_in_outage}; MES {len(seen.mes_ids)} messages ({len(set(seen.mes_ids))} "
        f"distinct); file sink {len(seen.file_ids)} lines; journal {seen.journal}; dead letters "
        f"{sum(seen.dead_letters.values())}"
    )

    assert seen.readyz_in_outage is not None
    checks = seen.readyz_in_outage["checks"]
    assert checks["broker"] != "ok"
    assert (checks["database"], checks["workers"]) == ("ok", "ok")
    assert seen.ingest_code == 0, seen.ingest_report[-3000:]
    assert seen.ingested == ORDERS
    assert "rode through" in report
    assert "broker outage(s)" in report
    if ledger_url.startswith("sqlite"):
        assert "ledger outage(s)" in report  # "database is locked" past the busy timeout
    expected = {f"sap:AX2012 Manu:{n:016d}:order" for n in range(1, ORDERS + 1)}
    assert set(seen.mes_ids) == expected
    assert len(seen.file_ids) == len(set(seen.file_ids)), "the file sink holds an order twice"
    assert set(seen.file_ids) == expected
    assert seen.journal == EXPECTED_JOURNAL  # once per stage and target; nothing failed or stale
    assert seen.dead_letters
    assert not any(seen.dead_letters.values()), seen.dead_letters
