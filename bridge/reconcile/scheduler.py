"""Running reconciliation jobs on their cron schedules, one runner per job across processes.

:class:`JobScheduler` keeps each job's next due time (``Cron.next_after`` in the plant's zone).
:meth:`JobScheduler.tick` handles the jobs due at a moment and says what it did, as
:class:`JobEvent` values; :meth:`~JobScheduler.start` ticks it every second in a daemon thread.
A due job is

* ``started`` in a worker thread of its own, holding the job's lock (:func:`~bridge.reconcile.locks.job_lock`)
  for the run;
* ``overrun`` when its previous run in this process is still going: it is not started again,
  a warning is logged and ``bridge_reconcile_overruns_total{job}`` counted;
* ``skipped`` when another process holds its lock (``running_elsewhere``), the lock could not be
  tried (``lock_error``: database unreachable) or not within ``lock_timeout`` (``lock_timeout``),
  counted in ``bridge_reconcile_skipped_total{job,reason}``.

Runs missed while the process was not ticking (suspended, clock stepped forward) are coalesced:
a late tick starts the job once, and its next due time is computed from that tick. A job that
raises is logged in one line (with a traceback only for errors that are not the bridge's own)
and counted in ``bridge_reconcile_failures_total{job}``; it never stops the scheduler.
``bridge_reconcile_running{job}`` is 1 while a run of the job is going in this process (summed
over live processes in multiprocess mode).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from bridge.errors import BridgeError, ConfigError
from bridge.observability.logging import log_context
from bridge.observability.metrics import _use_multiprocess_values
from bridge.reconcile.cron import Cron

__all__ = [
    "SKIP_REASONS",
    "EventKind",
    "JobEvent",
    "JobScheduler",
    "SchedulerMetrics",
]

_log = logging.getLogger(__name__)

#: Why a due job was not started although it was not running here.
SKIP_REASONS = ("running_elsewhere", "lock_error", "lock_timeout")
DEFAULT_LOCK_TIMEOUT_S = 30.0


class EventKind(StrEnum):
    """What :meth:`JobScheduler.tick` did with a due job."""

    STARTED = "started"
    OVERRUN = "overrun"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class JobEvent:
    """One due job's outcome at a tick.

    Attributes:
        kind: started, overrun or skipped.
        job: the job's name.
        due: the scheduled time that fell due (in the scheduler's zone).
        reason: for skipped, one of :data:`SKIP_REASONS`; else empty.
        detail: a human sentence ("running elsewhere", the lock's error).
    """

    kind: EventKind
    job: str
    due: datetime
    reason: str = ""
    detail: str = ""


class SchedulerMetrics:
    """The scheduler's Prometheus metrics (one instance per registry; see :meth:`default`).

    Args:
        registry: where to register; a fresh ``CollectorRegistry()`` in tests. Defaults to the
            global registry.
    """

    _default: ClassVar[SchedulerMetrics | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        _use_multiprocess_values()
        self.registry = REGISTRY if registry is None else registry
        self._failed: set[str] = set()
        self._overruns = Counter(
            "bridge_reconcile_overruns",
            "Reconciliation runs not started: the previous run was still going.",
            ("job",),
            registry=self.registry,
        )
        self._skipped = Counter(
            "bridge_reconcile_skipped",
            "Reconciliation runs not started: running elsewhere, or the lock could not be tried.",
            ("job", "reason"),
            registry=self.registry,
        )
        self._failures = Counter(
            "bridge_reconcile_failures",
            "Reconciliation runs that raised.",
            ("job",),
            registry=self.registry,
        )
        self._running = Gauge(
            "bridge_reconcile_running",
            "Reconciliation runs going.",
            ("job",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    @classmethod
    def default(cls) -> SchedulerMetrics:
        """The process-wide instance on the global registry (created on first use)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    def overrun(self, job: str) -> None:
        """Count a run not started because the previous one was still going."""
        self._safely("overrun", lambda: self._overruns.labels(job).inc())

    def skipped(self, job: str, reason: str) -> None:
        """Count a run not started for ``reason`` (one of :data:`SKIP_REASONS`)."""
        label = reason if reason in SKIP_REASONS else "other"
        self._safely("skipped", lambda: self._skipped.labels(job, label).inc())

    def failed(self, job: str) -> None:
        """Count a run that raised."""
        self._safely("failed", lambda: self._failures.labels(job).inc())

    def add_running(self, job: str, n: int) -> None:
        """Change the running gauge of ``job`` by ``n``."""
        self._safely("add_running", lambda: self._running.labels(job).inc(n))

    def _safely(self, name: str, update: Callable[[], None]) -> None:
        """Observability must not break scheduling: log a metric's first failure, swallow all."""
        try:
            update()
        except Exception:
            if name not in self._failed:
                self._failed.add(name)
                _log.warning("metric update %s failed; further failures are not logged", name, exc_info=True)


class _Launch:
    """A worker thread's start: it tells the ticking thread whether it took the job's lock."""

    def __init__(self, job: str, due: datetime) -> None:
        self.job, self.due = job, due
        self.decided = threading.Event()
        self.guard = threading.Lock()
        self.acquired: bool | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread: threading.Thread | None = None


class JobScheduler:
    """Runs jobs when their cron schedules fall due (see the module's text).

    Args:
        jobs: job name -> schedule.
        run_job: runs one job by name, in a worker thread; what it raises is logged and counted.
        lock: job name -> context manager yielding whether this process may run it now
            (``functools.partial(job_lock, ledger)``).
        clock: the current time, timezone-aware (default: the system clock); read once here, to
            set the first due times, and by :meth:`tick` when called without a time.
        timezone: the plant's zone the schedules are read in: a ``tzinfo`` or an IANA name.
        metrics: where to count (default :meth:`SchedulerMetrics.default`).
        interval: seconds between ticks of :meth:`start`'s thread.
        lock_timeout: seconds a tick waits for a worker to try its lock before giving up the run.

    Raises:
        ConfigError: an unknown time zone name.
    """

    def __init__(
        self,
        jobs: Mapping[str, Cron],
        run_job: Callable[[str], None],
        lock: Callable[[str], AbstractContextManager[bool]],
        *,
        clock: Callable[[], datetime] | None = None,
        timezone: tzinfo | str = "UTC",
        metrics: SchedulerMetrics | None = None,
        interval: float = 1.0,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        self._zone = _zone(timezone)
        self._jobs = dict(jobs)
        self._run_job = run_job
        self._lock = lock
        self._clock = clock or (lambda: datetime.now(UTC))
        self._metrics = metrics or SchedulerMetrics.default()
        self._interval = interval
        self._lock_timeout = lock_timeout
        self._mutex = threading.Lock()
        self._tick_lock = threading.Lock()
        self._running: dict[str, _Launch] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        anchor = self._local(self._clock())
        self._next_due = {name: cron.next_after(anchor) for name, cron in self._jobs.items()}

    # ----------------------------------------------------------------------------- state

    @property
    def timezone(self) -> tzinfo:
        """The zone the schedules are read in."""
        return self._zone

    def next_due(self, job: str) -> datetime:
        """When ``job`` is next due (in the scheduler's zone)."""
        return self._next_due[job]

    def running(self) -> set[str]:
        """The jobs with a run going in this process."""
        with self._mutex:
            return set(self._running)

    # ----------------------------------------------------------------------------- ticking

    def tick(self, now: datetime | None = None) -> list[JobEvent]:
        """Handle every job due at ``now`` (default: the clock); what was done, in job order.

        Started jobs run in worker threads; this returns once each has tried its lock.

        Raises:
            ValueError: ``now`` is naive.
        """
        moment = self._local(self._clock() if now is None else now)
        with self._tick_lock:
            events: list[JobEvent] = []
            launches: list[_Launch] = []
            for job, cron in self._jobs.items():
                due = self._next_due[job]
                # in UTC: two times of one zone compare by wall clock, wrong in a repeated hour
                if moment.astimezone(UTC) < due.astimezone(UTC):
                    continue
                self._next_due[job] = cron.next_after(moment)
                launch = _Launch(job, due)
                with self._mutex:
                    busy = job in self._running
                    if not busy:
                        self._running[job] = launch
                if busy:
                    _log.warning(
                        "reconcile job %s is still running at its next due time %s: overrun, not started again",
                        job, due.isoformat(),
                    )
                    self._metrics.overrun(job)
                    events.append(JobEvent(EventKind.OVERRUN, job, due, detail="still running"))
                    continue
                self._spawn(launch)
                launches.append(launch)
            events.extend(self._decide(launch) for launch in launches)
        order = list(self._jobs)
        return sorted(events, key=lambda event: order.index(event.job))

    def _spawn(self, launch: _Launch) -> None:
        thread = threading.Thread(
            target=self._work, args=(launch,), name=f"reconcile-{launch.job}", daemon=True
        )
        launch.thread = thread
        thread.start()

    def _decide(self, launch: _Launch) -> JobEvent:
        job, due = launch.job, launch.due
        launch.decided.wait(self._lock_timeout)
        with launch.guard:
            if launch.acquired is None and launch.error is None:
                launch.abandoned = True  # the worker gives the lock back if it gets it later
        if launch.abandoned or not launch.acquired:
            self._forget(launch)
        if launch.abandoned:
            return self._skip(job, due, "lock_timeout", f"the lock was not tried within {self._lock_timeout:g} s")
        if launch.error is not None:
            return self._skip(job, due, "lock_error", str(launch.error) or type(launch.error).__name__)
        if not launch.acquired:
            return self._skip(job, due, "running_elsewhere", "running elsewhere")
        _log.info("reconcile job %s started (due %s)", job, due.isoformat())
        return JobEvent(EventKind.STARTED, job, due)

    def _skip(self, job: str, due: datetime, reason: str, detail: str) -> JobEvent:
        level = logging.INFO if reason == "running_elsewhere" else logging.WARNING
        _log.log(level, "reconcile job %s due %s skipped: %s", job, due.isoformat(), detail)
        self._metrics.skipped(job, reason)
        return JobEvent(EventKind.SKIPPED, job, due, reason=reason, detail=detail)

    def _forget(self, launch: _Launch) -> None:
        with self._mutex:
            if self._running.get(launch.job) is launch:
                del self._running[launch.job]

    def _work(self, launch: _Launch) -> None:
        job = launch.job
        with log_context(job=job):
            try:
                with self._lock(job) as acquired:
                    with launch.guard:
                        launch.acquired = bool(acquired)
                        run = launch.acquired and not launch.abandoned
                    launch.decided.set()
                    if run:
                        self._run(job)
            except Exception as exc:
                if not launch.decided.is_set():
                    launch.error = exc
                    launch.decided.set()
                else:
                    _log.warning("reconcile job %s: releasing its lock failed: %s", job, exc)
            finally:
                launch.decided.set()
                self._forget(launch)

    def _run(self, job: str) -> None:
        self._metrics.add_running(job, 1)
        started = time.monotonic()
        try:
            self._run_job(job)
        except BridgeError as exc:
            self._metrics.failed(job)
            _log.error("reconcile job %s failed after %.1f s: %s: %s",
                       job, time.monotonic() - started, type(exc).__name__, exc)
        except Exception:
            self._metrics.failed(job)
            _log.exception("reconcile job %s failed after %.1f s", job, time.monotonic() - started)
        else:
            _log.info("reconcile job %s finished in %.1f s", job, time.monotonic() - started)
        finally:
            self._metrics.add_running(job, -1)

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Tick every ``interval`` seconds in a daemon thread (once; later calls do nothing)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="reconcile-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.tick()
            except Exception:
                _log.exception("reconcile scheduler: a tick failed; ticking on")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop ticking and wait up to ``timeout`` seconds for running jobs; True if all ended.

        Jobs still running then are left to their (daemon) threads and logged.
        """
        deadline = time.monotonic() + timeout
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None
        finished = self.join(max(0.0, deadline - time.monotonic()))
        if not finished:
            _log.warning("reconcile scheduler stopped with jobs still running: %s", ", ".join(sorted(self.running())))
        return finished

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the running jobs; True if none is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._mutex:
                threads = [launch.thread for launch in self._running.values() if launch.thread is not None]
            if not threads:
                return True
            for thread in threads:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                thread.join(left)
            if deadline is not None and time.monotonic() >= deadline:
                with self._mutex:
                    return not self._running

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"the scheduler needs timezone-aware times, got {moment.isoformat()}")
        return moment.astimezone(self._zone)


def _zone(timezone: tzinfo | str) -> tzinfo:
    if not isinstance(timezone, str):
        return timezone
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"reconcile timezone {timezone!r} is not a time zone name (like Asia/Shanghai)") from exc
