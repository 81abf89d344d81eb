"""Reconciliation job locks (bridge.reconcile.locks) on a real PostgreSQL: session advisory locks,
between two connections, two processes, and a holder that is SIGKILLed."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from bridge.ledger import Ledger
from bridge.reconcile.cron import Cron
from bridge.reconcile.locks import advisory_key, job_lock
from bridge.reconcile.scheduler import EventKind, JobScheduler, SchedulerMetrics

pytestmark = pytest.mark.integration


def unique_job() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


def advisory_holders(url: str, key: int) -> list[tuple[int, str]]:
    """(pid, state) of the sessions holding advisory lock ``key`` (a bigint: classid high, objid low)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT l.pid, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND l.classid = :high AND l.objid = :low"
                ),
                {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF},
            ).all()
    finally:
        engine.dispose()
    return [(row.pid, row.state) for row in rows]


def test_two_connections_only_one_acquires(postgres_url: str) -> None:
    job = unique_job()
    with job_lock(postgres_url, job) as first:
        assert first is True
        with job_lock(postgres_url, job) as second:
            assert second is False
        with job_lock(postgres_url, unique_job()) as other:
            assert other is True
        holders = advisory_holders(postgres_url, advisory_key(job))
        assert len(holders) == 1
        assert holders[0][1] == "idle"  # autocommit: never idle in a transaction for the run
    assert advisory_holders(postgres_url, advisory_key(job)) == []
    with job_lock(postgres_url, job) as again:
        assert again is True


def test_through_a_ledger_the_pooled_connection_goes_back_without_the_lock(postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    job = unique_job()
    # the lock needs no tables: ledgers on the schema without migrating it (as Ledger.connect makes them)
    ledger = Ledger(create_engine(url).execution_options(schema_translate_map={None: schema}))
    other = Ledger(create_engine(url).execution_options(schema_translate_map={None: schema}))
    try:
        key = advisory_key(job, schema)
        with job_lock(ledger, job) as first, job_lock(other, job) as second:
            assert (first, second) == (True, False)
            assert len(advisory_holders(url, key)) == 1
        assert advisory_holders(url, key) == []
        # the pool's connections (the lock's among them) are reused and hold nothing
        for _ in range(3):
            with job_lock(other, job) as taken:
                assert taken is True
            assert advisory_holders(url, key) == []
        # the same job name on the search path (no schema) is another lock
        with job_lock(ledger, job) as in_schema, job_lock(url, job) as without_schema:
            assert (in_schema, without_schema) == (True, True)
    finally:
        ledger.close()
        other.close()


def _hold_lock(url: str, job: str, held: Any, release: Any, result: Any) -> None:
    with job_lock(url, job) as acquired:
        result.put(acquired)
        held.set()
        release.wait(60)


def _try_lock(url: str, job: str, result: Any) -> None:
    with job_lock(url, job) as acquired:
        result.put(acquired)


def test_two_processes_only_one_acquires(postgres_url: str) -> None:
    job = unique_job()
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(postgres_url, job, held, release, results))
    holder.start()
    try:
        assert held.wait(60)
        assert results.get(timeout=5) is True
        contender = ctx.Process(target=_try_lock, args=(postgres_url, job, results))
        contender.start()
        contender.join(60)
        assert contender.exitcode == 0
        assert results.get(timeout=5) is False
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    with job_lock(postgres_url, job) as after:
        assert after is True


def test_the_lock_is_released_when_the_holder_is_sigkilled(postgres_url: str) -> None:
    job = unique_job()
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(postgres_url, job, held, release, results))
    holder.start()
    assert held.wait(60)
    assert results.get(timeout=5) is True
    with job_lock(postgres_url, job) as while_held:
        assert while_held is False
    holder.kill()  # SIGKILL: no exit handler runs, only the socket closes
    holder.join(30)
    assert holder.exitcode == -9
    deadline = time.monotonic() + 15  # the server ends the backend once it sees the socket close
    while True:
        with job_lock(postgres_url, job) as after:
            if after:
                break
        assert time.monotonic() < deadline, "the killed process's advisory lock was never released"
        time.sleep(0.1)


def test_scheduler_skips_a_job_another_process_runs(postgres_url: str) -> None:
    job, free = unique_job(), unique_job()
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(postgres_url, job, held, release, results))
    holder.start()
    zone = ZoneInfo("Asia/Shanghai")
    registry = CollectorRegistry()
    ran: list[str] = []
    try:
        assert held.wait(60)
        scheduler = JobScheduler(
            {job: Cron.parse("0 * * * *"), free: Cron.parse("0 * * * *")},
            ran.append,
            partial(job_lock, postgres_url),
            clock=lambda: datetime(2024, 5, 6, 9, 30, tzinfo=zone),
            timezone=zone,
            metrics=SchedulerMetrics(registry),
        )
        events = scheduler.tick(datetime(2024, 5, 6, 10, 0, tzinfo=zone))
        assert [(e.job, e.kind, e.reason) for e in events] == [
            (job, EventKind.SKIPPED, "running_elsewhere"),
            (free, EventKind.STARTED, ""),
        ]
        assert scheduler.join(10)
        assert ran == [free]
        assert registry.get_sample_value(
            "bridge_reconcile_skipped_total", {"job": job, "reason": "running_elsewhere"}
        ) == 1
    finally:
        release.set()
        holder.join(60)
