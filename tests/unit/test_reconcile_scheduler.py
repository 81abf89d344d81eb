"""The reconciliation scheduler (bridge.reconcile.scheduler) on a fake clock, and the SQLite job
locks (bridge.reconcile.locks) across processes."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from bridge.errors import ConfigError, TransientError
from bridge.ledger import Ledger
from bridge.reconcile.cron import Cron
from bridge.reconcile.locks import advisory_key, job_lock, lock_file_path
from bridge.reconcile.scheduler import EventKind, JobEvent, JobScheduler, SchedulerMetrics

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2024, 5, 6, 9, 58, tzinfo=BERLIN)  # a Monday


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Jobs:
    """``run_job``: records calls; a job may be held until released, or raise."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self.errors: dict[str, BaseException] = {}

    def hold(self, job: str) -> threading.Event:
        self.gates[job] = threading.Event()
        self.entered[job] = threading.Event()
        return self.gates[job]

    def __call__(self, job: str) -> None:
        self.calls.append(job)
        if job in self.entered:
            self.entered[job].set()
        if job in self.gates:
            assert self.gates[job].wait(10)
        if job in self.errors:
            raise self.errors[job]


class Locks:
    """``lock``: held elsewhere for the names in ``elsewhere``; raising for those in ``broken``."""

    def __init__(self) -> None:
        self.elsewhere: set[str] = set()
        self.broken: dict[str, BaseException] = {}
        self.taken: list[str] = []
        self.released: list[str] = []

    def __call__(self, job: str) -> AbstractContextManager[bool]:
        return self._lock(job)

    @contextmanager
    def _lock(self, job: str) -> Iterator[bool]:
        if job in self.broken:
            raise self.broken[job]
        if job in self.elsewhere:
            yield False
            return
        self.taken.append(job)
        try:
            yield True
        finally:
            self.released.append(job)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def scheduler(
    schedules: dict[str, str], jobs: Jobs, locks: Callable[[str], AbstractContextManager[bool]],
    registry: CollectorRegistry, clock: FakeClock | None = None, **options: Any,
) -> JobScheduler:
    options.setdefault("timezone", BERLIN)
    return JobScheduler(
        {name: Cron.parse(text) for name, text in schedules.items()}, jobs, locks,
        clock=clock or FakeClock(T0), metrics=SchedulerMetrics(registry), **options,
    )


def kinds(events: list[JobEvent]) -> list[tuple[str, str]]:
    return [(event.job, str(event.kind)) for event in events]


# ------------------------------------------------------------------------------------ due or not


def test_first_due_times_come_from_the_clock_in_the_plant_zone(registry: CollectorRegistry) -> None:
    s = scheduler({"hourly": "0 * * * *", "daily": "30 2 * * *"}, Jobs(), Locks(), registry)
    assert s.next_due("hourly") == datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN)
    assert s.next_due("daily") == datetime(2024, 5, 7, 2, 30, tzinfo=BERLIN)
    assert s.timezone is BERLIN


def test_not_due_does_nothing_and_due_starts_the_job(registry: CollectorRegistry) -> None:
    jobs, locks = Jobs(), Locks()
    s = scheduler({"orders": "0 * * * *", "stock": "30 * * * *"}, jobs, locks, registry)
    assert s.tick(T0 + timedelta(minutes=1, seconds=59)) == []
    assert jobs.calls == []

    events = s.tick(datetime(2024, 5, 6, 10, 0, 0, 300, tzinfo=BERLIN))
    assert events == [JobEvent(EventKind.STARTED, "orders", datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))]
    assert s.join(5)
    assert jobs.calls == ["orders"]
    assert locks.taken == locks.released == ["orders"]
    assert s.next_due("orders") == datetime(2024, 5, 6, 11, 0, tzinfo=BERLIN)
    # the same due time is not started twice by a second tick within the minute
    assert s.tick(datetime(2024, 5, 6, 10, 0, 1, tzinfo=BERLIN)) == []


def test_tick_accepts_any_zone_and_refuses_naive_times(registry: CollectorRegistry) -> None:
    jobs = Jobs()
    s = scheduler({"orders": "0 10 * * *"}, jobs, Locks(), registry)
    assert s.tick(datetime(2024, 5, 6, 7, 59, tzinfo=UTC)) == []  # 09:59 in Berlin
    assert kinds(s.tick(datetime(2024, 5, 6, 8, 0, tzinfo=UTC))) == [("orders", "started")]
    assert s.join(5)
    with pytest.raises(ValueError, match="timezone-aware"):
        s.tick(datetime(2024, 5, 6, 12, 0))


def test_tick_without_a_time_reads_the_clock(registry: CollectorRegistry) -> None:
    clock = FakeClock(T0)
    jobs = Jobs()
    s = scheduler({"orders": "0 * * * *"}, jobs, Locks(), registry, clock=clock)
    assert s.tick() == []
    clock.now = T0 + timedelta(minutes=2)
    assert kinds(s.tick()) == [("orders", "started")]
    assert s.join(5)


def test_missed_runs_are_coalesced_into_one(registry: CollectorRegistry) -> None:
    jobs = Jobs()
    s = scheduler({"often": "*/5 * * * *"}, jobs, Locks(), registry)
    late = T0 + timedelta(hours=3, minutes=3)  # 13:01, suspended: 37 due times passed
    events = s.tick(late)
    assert kinds(events) == [("often", "started")]
    assert events[0].due == datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN)
    assert s.join(5)
    assert jobs.calls == ["often"]
    assert s.next_due("often") == datetime(2024, 5, 6, 13, 5, tzinfo=BERLIN)


def test_due_in_the_repeated_hour_is_compared_as_an_instant(registry: CollectorRegistry) -> None:
    # 2024-10-27: 02:00 CEST, then 02:00 CET an hour later; a wall-clock comparison would run
    # the second pass's jobs too early or never
    jobs = Jobs()
    clock = FakeClock(datetime(2024, 10, 27, 2, 50, tzinfo=BERLIN))  # first pass
    s = scheduler({"hourly": "0 * * * *"}, jobs, Locks(), registry, clock=clock)
    assert s.next_due("hourly").isoformat() == "2024-10-27T02:00:00+01:00"
    assert s.tick(datetime(2024, 10, 27, 2, 55, tzinfo=BERLIN)) == []
    assert kinds(s.tick(datetime(2024, 10, 27, 2, 0, fold=1, tzinfo=BERLIN))) == [("hourly", "started")]
    assert s.join(5)


# ------------------------------------------------------------------------------------ overruns


def test_overrun_is_reported_and_not_started_twice(registry: CollectorRegistry, caplog: pytest.LogCaptureFixture) -> None:
    jobs, locks = Jobs(), Locks()
    gate = jobs.hold("slow")
    s = scheduler({"slow": "*/5 * * * *", "fast": "*/5 * * * *"}, jobs, locks, registry)
    assert kinds(s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))) == [("slow", "started"), ("fast", "started")]
    assert jobs.entered["slow"].wait(5)
    assert sample(registry, "bridge_reconcile_running", job="slow") == 1

    with caplog.at_level(logging.WARNING, logger="bridge.reconcile.scheduler"):
        events = s.tick(datetime(2024, 5, 6, 10, 5, tzinfo=BERLIN))
    assert kinds(events) == [("slow", "overrun"), ("fast", "started")]
    assert events[0].due == datetime(2024, 5, 6, 10, 5, tzinfo=BERLIN)
    assert "slow" in caplog.text
    assert "overrun" in caplog.text
    assert sample(registry, "bridge_reconcile_overruns_total", job="slow") == 1
    assert sample(registry, "bridge_reconcile_overruns_total", job="fast") == 0
    assert kinds(s.tick(datetime(2024, 5, 6, 10, 10, tzinfo=BERLIN)))[0] == ("slow", "overrun")
    assert sample(registry, "bridge_reconcile_overruns_total", job="slow") == 2
    assert s.running() == {"slow"}

    gate.set()
    assert s.join(5)
    assert jobs.calls.count("slow") == 1
    assert sample(registry, "bridge_reconcile_running", job="slow") == 0
    # finished: started again at its next due time
    assert kinds(s.tick(datetime(2024, 5, 6, 10, 15, tzinfo=BERLIN)))[0] == ("slow", "started")
    assert s.join(5)
    assert jobs.calls.count("slow") == 2


# ------------------------------------------------------------------------------------ locks


def test_a_lock_held_elsewhere_skips_the_run(registry: CollectorRegistry) -> None:
    jobs, locks = Jobs(), Locks()
    locks.elsewhere.add("orders")
    s = scheduler({"orders": "0 * * * *"}, jobs, locks, registry)
    events = s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))
    assert events == [
        JobEvent(EventKind.SKIPPED, "orders", datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN),
                 reason="running_elsewhere", detail="running elsewhere")
    ]
    assert s.join(5)
    assert jobs.calls == []
    assert s.running() == set()
    assert sample(registry, "bridge_reconcile_skipped_total", job="orders", reason="running_elsewhere") == 1
    assert sample(registry, "bridge_reconcile_overruns_total", job="orders") == 0
    # the other process is done by the next hour
    locks.elsewhere.clear()
    assert kinds(s.tick(datetime(2024, 5, 6, 11, 0, tzinfo=BERLIN))) == [("orders", "started")]
    assert s.join(5)
    assert jobs.calls == ["orders"]


def test_a_lock_that_cannot_be_tried_skips_the_run_and_the_scheduler_goes_on(registry: CollectorRegistry) -> None:
    jobs, locks = Jobs(), Locks()
    locks.broken["orders"] = TransientError("reconcile job lock for 'orders': database unavailable")
    s = scheduler({"orders": "0 * * * *", "stock": "0 * * * *"}, jobs, locks, registry)
    events = s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))
    assert kinds(events) == [("orders", "skipped"), ("stock", "started")]
    assert events[0].reason == "lock_error"
    assert "database unavailable" in events[0].detail
    assert s.join(5)
    assert jobs.calls == ["stock"]
    assert sample(registry, "bridge_reconcile_skipped_total", job="orders", reason="lock_error") == 1


def test_a_lock_that_hangs_is_given_up_and_the_run_never_starts(registry: CollectorRegistry) -> None:
    jobs = Jobs()
    release = threading.Event()

    @contextmanager
    def slow_lock(job: str) -> Iterator[bool]:
        release.wait(10)
        yield True

    s = scheduler({"orders": "0 * * * *"}, jobs, slow_lock, registry, lock_timeout=0.1)
    events = s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))
    assert [(e.kind, e.reason) for e in events] == [(EventKind.SKIPPED, "lock_timeout")]
    release.set()
    time.sleep(0.2)
    assert jobs.calls == []
    assert sample(registry, "bridge_reconcile_skipped_total", job="orders", reason="lock_timeout") == 1


# ------------------------------------------------------------------------------------ failures


def test_failures_are_logged_in_one_line_counted_and_do_not_stop_the_scheduler(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    jobs, locks = Jobs(), Locks()
    jobs.errors["orders"] = TransientError("ERP unreachable: connection refused")
    jobs.errors["stock"] = KeyError("bug")
    s = scheduler({"orders": "0 * * * *", "stock": "0 * * * *"}, jobs, locks, registry)
    with caplog.at_level(logging.INFO, logger="bridge.reconcile.scheduler"):
        assert kinds(s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))) == [
            ("orders", "started"), ("stock", "started")
        ]
        assert s.join(5)
    failed = {r.getMessage().split()[2]: r for r in caplog.records if "failed" in r.getMessage()}
    assert failed["orders"].levelno == logging.ERROR
    assert failed["orders"].exc_info is None  # a bridge error: one line, no traceback
    assert "\n" not in failed["orders"].getMessage()
    assert "TransientError: ERP unreachable: connection refused" in failed["orders"].getMessage()
    assert failed["stock"].exc_info is not None  # a bug: its traceback helps
    assert sample(registry, "bridge_reconcile_failures_total", job="orders") == 1
    assert sample(registry, "bridge_reconcile_failures_total", job="stock") == 1
    assert sample(registry, "bridge_reconcile_running", job="orders") == 0
    assert sorted(locks.released) == ["orders", "stock"]  # the lock is given back after a failure
    # and the jobs run again next time
    assert kinds(s.tick(datetime(2024, 5, 6, 11, 0, tzinfo=BERLIN))) == [("orders", "started"), ("stock", "started")]
    assert s.join(5)
    assert sample(registry, "bridge_reconcile_failures_total", job="orders") == 2


def test_a_broken_metric_never_breaks_scheduling(registry: CollectorRegistry) -> None:
    metrics = SchedulerMetrics(registry)
    metrics._overruns = None  # type: ignore[assignment]
    jobs = Jobs()
    gate = jobs.hold("slow")
    s = JobScheduler({"slow": Cron.parse("*/5 * * * *")}, jobs, Locks(), clock=FakeClock(T0),
                     timezone="Europe/Berlin", metrics=metrics)
    s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))
    assert kinds(s.tick(datetime(2024, 5, 6, 10, 5, tzinfo=BERLIN))) == [("slow", "overrun")]
    gate.set()
    assert s.join(5)


def test_an_unknown_zone_is_a_config_error(registry: CollectorRegistry) -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        scheduler({}, Jobs(), Locks(), registry, timezone="Mars/Olympus")


# ------------------------------------------------------------------------------------ start/stop


def test_start_ticks_in_the_background_and_stop_waits_for_running_jobs(registry: CollectorRegistry) -> None:
    jobs = Jobs()
    clock = FakeClock(T0)
    s = scheduler({"orders": "0 * * * *"}, jobs, Locks(), registry, clock=clock, interval=0.01)
    gate = jobs.hold("orders")
    s.start()
    s.start()  # once
    clock.now = datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN)
    assert jobs.entered["orders"].wait(5)
    assert s.stop(timeout=0.1) is False  # still running after the timeout
    threading.Timer(0.05, gate.set).start()
    assert s.join(5)
    assert s.stop(timeout=1) is True
    assert jobs.calls == ["orders"]


def test_a_failing_tick_does_not_end_the_loop(registry: CollectorRegistry) -> None:
    calls = []

    def clock() -> datetime:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("clock broke")
        return T0 + timedelta(minutes=2) if len(calls) > 3 else T0

    jobs = Jobs()
    s = JobScheduler({"orders": Cron.parse("0 * * * *")}, jobs, Locks(), clock=clock, timezone=BERLIN,
                     metrics=SchedulerMetrics(registry), interval=0.01)
    s.start()
    deadline = time.monotonic() + 5
    while not jobs.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.stop(5)
    assert jobs.calls == ["orders"]


# ------------------------------------------------------------------------------------ job locks


def test_lock_file_sits_next_to_the_database_with_a_safe_name(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    assert lock_file_path(db, "orders-daily") == tmp_path / "ledger.sqlite.reconcile-orders-daily.lock"
    odd = lock_file_path(db, "../a b")
    assert odd.parent == tmp_path
    assert odd.name.startswith("ledger.sqlite.reconcile-.._a_b-")
    assert lock_file_path(db, "a/b") != lock_file_path(db, "a_b")


def test_advisory_key_is_a_stable_signed_64_bit_integer() -> None:
    key = advisory_key("orders")
    assert key == advisory_key("orders")
    assert -(2**63) <= key < 2**63
    assert key != advisory_key("stock")
    assert key != advisory_key("orders", "plant_b")
    # pinned: a changed derivation would let old and new releases run a job side by side
    assert advisory_key("orders") == 8273693054526038216


def test_sqlite_file_lock_in_one_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with job_lock(url, "orders") as first:
        assert first is True
        with job_lock(url, "orders") as second:
            assert second is False
        with job_lock(url, "stock") as other:
            assert other is True
    with job_lock(url, "orders") as again:
        assert again is True
    assert (tmp_path / "ledger.sqlite.reconcile-orders.lock").exists()


def test_sqlite_lock_through_a_ledger(tmp_path: Path) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        with job_lock(ledger, "orders") as first, job_lock(ledger.engine, "orders") as second:
            assert (first, second) == (True, False)
    finally:
        ledger.close()


def test_in_memory_sqlite_uses_a_process_local_lock() -> None:
    ledger = Ledger.connect("sqlite://")
    try:
        with job_lock(ledger, "orders") as first:
            assert first is True
            with job_lock(ledger, "orders") as second:
                assert second is False
        with job_lock(ledger, "orders") as again:
            assert again is True
    finally:
        ledger.close()


def test_other_databases_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="only sqlite and postgresql"), job_lock("mysql://u@h/db", "orders"):
        pass


def test_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot create"), \
            job_lock(f"sqlite:///{tmp_path / 'missing' / 'ledger.sqlite'}", "orders"):
        pass


def _hold_lock(url: str, job: str, held: Any, release: Any, result: Any) -> None:
    with job_lock(url, job) as acquired:
        result.put(acquired)
        held.set()
        release.wait(20)


def _try_lock(url: str, job: str, result: Any) -> None:
    with job_lock(url, job) as acquired:
        result.put(acquired)


def test_sqlite_file_lock_across_processes_only_one_acquires(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(url, "orders", held, release, results))
    holder.start()
    try:
        assert held.wait(30)
        assert results.get(timeout=5) is True
        contender = ctx.Process(target=_try_lock, args=(url, "orders", results))
        contender.start()
        contender.join(30)
        assert results.get(timeout=5) is False
        with job_lock(url, "orders") as here:
            assert here is False
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0
    with job_lock(url, "orders") as after:
        assert after is True


def test_sqlite_file_lock_goes_with_a_killed_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(url, "orders", held, release, results))
    holder.start()
    assert held.wait(30)
    with job_lock(url, "orders") as here:
        assert here is False
    holder.kill()
    holder.join(30)
    with job_lock(url, "orders") as after:
        assert after is True


def test_scheduler_with_sqlite_locks_skips_a_job_another_process_runs(tmp_path: Path, registry: CollectorRegistry) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ctx = multiprocessing.get_context("spawn")
    held, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_lock, args=(url, "orders", held, release, results))
    holder.start()
    try:
        assert held.wait(30)
        jobs = Jobs()
        s = scheduler({"orders": "0 * * * *", "stock": "0 * * * *"}, jobs, partial(job_lock, url), registry)
        events = s.tick(datetime(2024, 5, 6, 10, 0, tzinfo=BERLIN))
        assert [(e.job, e.kind, e.reason) for e in events] == [
            ("orders", EventKind.SKIPPED, "running_elsewhere"), ("stock", EventKind.STARTED, "")
        ]
        assert s.join(5)
        assert jobs.calls == ["stock"]
    finally:
        release.set()
        holder.join(30)


def test_unreachable_postgresql_is_a_transient_error() -> None:
    with pytest.raises(TransientError, match="database unavailable"), \
            job_lock("postgresql+psycopg://postgres@127.0.0.1:1/test", "orders"):
        pass
