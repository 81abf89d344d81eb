"""Prometheus metrics with a fixed, bounded label schema, safe to call from the pipeline.

Every metric is named ``bridge_*``; label values are clamped (unknown or absent -> ``unknown``,
unlisted error classes -> ``other``), so a bad message can never blow up cardinality. A metric
update that fails is logged once and swallowed: observability must not crash the pipeline.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory (``bridge run --workers N``
sets it for its children), values live in that directory and :func:`metrics_payload` sums them
over all processes with :class:`~prometheus_client.multiprocess.MultiProcessCollector`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import ClassVar, Concatenate, ParamSpec

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from bridge import errors
from bridge.errors import ConfigError

__all__ = [
    "COMPONENTS",
    "COUNTERS",
    "ENTITIES",
    "ERROR_CLASSES",
    "OUTCOMES",
    "PROCESSING_BUCKETS",
    "RELOAD_OUTCOMES",
    "STAGES",
    "Metrics",
    "error_class_label",
    "mark_process_dead",
    "metrics_payload",
    "multiprocess_dir",
]

_log = logging.getLogger(__name__)
_P = ParamSpec("_P")

UNKNOWN = "unknown"
OTHER = "other"
STAGES = ("ingest", "translate", "deliver")
ENTITIES = ("order", "report", "material", "lot")
#: What happened to a message whose processing failed.
OUTCOMES = ("retried", "delayed", "dead_lettered", "requeued")
COMPONENTS = ("broker", "database")
#: What became of a changed mappings folder (:mod:`bridge.mapping.reload`).
RELOAD_OUTCOMES = ("applied", "rejected")
#: Class names from :mod:`bridge.errors`; anything else is counted as ``other``.
ERROR_CLASSES = tuple(errors.__all__)
#: Histogram buckets from 1 ms to 30 s.
PROCESSING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Distinct values an open label (system, target, queue) may take before the rest become "other".
OPEN_LABEL_CAP = 32

#: The counters and their fixed label schema: key -> (name without _total, help, labels).
COUNTERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "received": ("bridge_messages_received", "Messages taken in.", ("system", "entity", "stage")),
    "translated": ("bridge_messages_translated", "Documents mapped to canonical.", ("system", "entity")),
    "delivered": ("bridge_messages_delivered", "Messages delivered.", ("target", "entity")),
    "retried": ("bridge_messages_retried", "Retries scheduled.", ("stage", "error_class")),
    "dead_lettered": ("bridge_messages_dead_lettered", "Messages dead-lettered.", ("stage", "error_class")),
    "duplicates": ("bridge_duplicates_skipped", "Skipped: already delivered.", ("target", "entity")),
    "stale": ("bridge_stale_skipped", "Skipped: a newer version was delivered.", ("target", "entity")),
    "failed": ("bridge_messages_failed", "Failed processing attempts.", ("stage", "outcome")),
    "mapping_reloads": ("bridge_mapping_reloads", "Changed mapping folders loaded (applied) or refused.", ("outcome",)),
}

_SAFE_VALUE = re.compile(r"^[a-z0-9_.:-]{1,64}$")


class _Label:
    """Clamps values of one label: a fixed set, or an open set of safe names up to a cap."""

    def __init__(self, known: Iterable[str] | None) -> None:
        self._fixed = known is not None
        self._values = {value.lower() for value in known or ()}
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value).strip().lower() if value is not None else ""
        if text in self._values:
            return text
        if not text or not _SAFE_VALUE.match(text):
            return UNKNOWN
        if self._fixed:
            return UNKNOWN
        with self._lock:
            if len(self._values) >= OPEN_LABEL_CAP:
                return OTHER
            self._values.add(text)
        return text


def error_class_label(error: str | BaseException | type[BaseException] | None) -> str:
    """The ``error_class`` label: the nearest :mod:`bridge.errors` class name, else ``other``.

    Accepts a class name, an exception or an exception class; an adapter's subclass of
    ``TransientError`` is counted as ``TransientError``.
    """
    if error is None or error == "":
        return UNKNOWN
    if isinstance(error, str):
        return error if error in ERROR_CLASSES else OTHER
    cls = error if isinstance(error, type) else type(error)
    for base in cls.__mro__:
        if base.__name__ in ERROR_CLASSES and getattr(errors, base.__name__, None) is base:
            return base.__name__
    return OTHER


def _never_raises(
    method: Callable[Concatenate[Metrics, _P], None],
) -> Callable[Concatenate[Metrics, _P], None]:
    """Log the first failure of a metric update (per method) and swallow every failure."""

    @functools.wraps(method)
    def wrapper(self: Metrics, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:
            name = method.__name__
            if name not in self._failed:
                self._failed.add(name)
                _log.warning("metric update %s failed; further failures are not logged", name, exc_info=True)

    return wrapper


class Metrics:
    """The bridge's metrics (one instance per process; see :meth:`default`).

    Args:
        registry: where to register; a fresh ``CollectorRegistry()`` in tests. Defaults to the
            global registry.
        systems: known source systems; ``None`` accepts any safe name up to a cap.
        targets: known delivery targets (route names); ``None`` as for systems.
        queues: known dead-letter queues; ``None`` as for systems.

    Raises:
        ConfigError: ``PROMETHEUS_MULTIPROC_DIR`` is set but is not a directory.
    """

    _default: ClassVar[Metrics | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        systems: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        queues: Iterable[str] | None = None,
    ) -> None:
        _use_multiprocess_values()
        self.registry = REGISTRY if registry is None else registry
        self._failed: set[str] = set()
        self._system, self._target, self._queue = _Label(systems), _Label(targets), _Label(queues)
        self._entity, self._stage = _Label(ENTITIES), _Label(STAGES)
        self._outcome, self._component = _Label(OUTCOMES), _Label(COMPONENTS)
        self._reload_outcome = _Label(RELOAD_OUTCOMES)

        self._counters = {
            key: Counter(name, doc, labels, registry=self.registry)
            for key, (name, doc, labels) in COUNTERS.items()
        }
        self._seconds = Histogram(
            "bridge_processing_seconds",
            "Time to process a message or batch.",
            ("stage",),
            buckets=PROCESSING_BUCKETS,
            registry=self.registry,
        )
        self._inflight = Gauge(
            "bridge_inflight_messages",
            "Messages being processed.",
            ("stage",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._dlq_depth = Gauge(
            "bridge_dead_letter_depth",
            "Messages waiting in a dead-letter queue.",
            ("queue",),
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._discrepancies = Gauge(
            "bridge_discrepancies",
            "Open discrepancies a reconciliation job found, by job and kind.",
            ("job", "kind"),
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        # livemax: 1 while any live process runs on older mappings than its folder holds.
        self._reload_failed = Gauge(
            "bridge_mapping_reload_failed",
            "1 when the mapping files changed but could not be loaded (the previous ones are in use).",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        # livemin: a component counts as up only if every live process reaches it.
        self._up = Gauge(
            "bridge_up",
            "1 when the component is reachable.",
            ("component",),
            registry=self.registry,
            multiprocess_mode="livemin",
        )

    @classmethod
    def default(cls) -> Metrics:
        """The process-wide instance on the global registry (created on first use)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @_never_raises
    def received(self, system: str | None, entity: str | None, stage: str | None, n: int = 1) -> None:
        """Count messages taken in by ``stage`` from ``system``."""
        self._counters["received"].labels(self._system(system), self._entity(entity), self._stage(stage)).inc(
            n
        )

    @_never_raises
    def translated(self, system: str | None, entity: str | None, n: int = 1) -> None:
        """Count documents mapped to canonical messages."""
        self._counters["translated"].labels(self._system(system), self._entity(entity)).inc(n)

    @_never_raises
    def delivered(self, target: str | None, entity: str | None, n: int = 1) -> None:
        """Count messages delivered to ``target`` (a route name)."""
        self._counters["delivered"].labels(self._target(target), self._entity(entity)).inc(n)

    @_never_raises
    def retried(
        self, stage: str | None, error_class: str | BaseException | type[BaseException] | None, n: int = 1
    ) -> None:
        """Count retries (in-process or delayed) caused by ``error_class``."""
        self._counters["retried"].labels(self._stage(stage), error_class_label(error_class)).inc(n)

    @_never_raises
    def dead_lettered(
        self, stage: str | None, error_class: str | BaseException | type[BaseException] | None, n: int = 1
    ) -> None:
        """Count messages sent to a dead-letter queue because of ``error_class``."""
        self._counters["dead_lettered"].labels(self._stage(stage), error_class_label(error_class)).inc(n)

    @_never_raises
    def duplicate_skipped(self, target: str | None, entity: str | None, n: int = 1) -> None:
        """Count messages skipped because the ledger shows them delivered."""
        self._counters["duplicates"].labels(self._target(target), self._entity(entity)).inc(n)

    @_never_raises
    def stale_skipped(self, target: str | None, entity: str | None, n: int = 1) -> None:
        """Count messages skipped because a newer version was already delivered."""
        self._counters["stale"].labels(self._target(target), self._entity(entity)).inc(n)

    @_never_raises
    def failed(self, stage: str | None, outcome: str | None, n: int = 1) -> None:
        """Count failed attempts by what happened next (retried, delayed, dead_lettered, requeued)."""
        self._counters["failed"].labels(self._stage(stage), self._outcome(outcome)).inc(n)

    @_never_raises
    def observe(self, stage: str | None, seconds: float) -> None:
        """Record one processing duration."""
        self._seconds.labels(self._stage(stage)).observe(seconds)

    @contextmanager
    def time(self, stage: str | None) -> Iterator[None]:
        """Time the block into ``bridge_processing_seconds``; the block's own errors pass through."""
        start = perf_counter()
        try:
            yield
        finally:
            self.observe(stage, perf_counter() - start)

    @contextmanager
    def in_flight(self, stage: str | None, n: int = 1) -> Iterator[None]:
        """Count ``n`` messages in ``bridge_inflight_messages`` while the block runs."""
        self.add_in_flight(stage, n)
        try:
            yield
        finally:
            self.add_in_flight(stage, -n)

    @_never_raises
    def add_in_flight(self, stage: str | None, n: int) -> None:
        """Change the in-flight gauge by ``n`` (negative when messages finish)."""
        self._inflight.labels(self._stage(stage)).inc(n)

    @_never_raises
    def set_dead_letter_depth(self, queue: str | None, depth: int) -> None:
        """Record the number of messages in a dead-letter queue."""
        self._dlq_depth.labels(self._queue(queue)).set(depth)

    @_never_raises
    def set_discrepancies(self, job: str, counts: Mapping[str, int]) -> None:
        """The open discrepancies of ``job`` per kind (kinds not in ``counts``: zero)."""
        for kind in ("missing_in_target", "missing_in_source", "quantity_mismatch", "unit_mismatch", "stale"):
            self._discrepancies.labels(job=job, kind=kind).set(counts.get(kind, 0))

    @_never_raises
    def mapping_reload(self, outcome: str) -> None:
        """Count one changed mappings folder by what became of it (applied, rejected)."""
        self._counters["mapping_reloads"].labels(self._reload_outcome(outcome)).inc()

    @_never_raises
    def set_mapping_reload_failed(self, failed: bool) -> None:
        """Whether the mapping files in the folder are a version that could not be loaded."""
        self._reload_failed.set(1 if failed else 0)

    @_never_raises
    def set_up(self, component: str | None, up: bool) -> None:
        """Record whether ``component`` (broker, database) is reachable."""
        self._up.labels(self._component(component)).set(1 if up else 0)

    def payload(self) -> tuple[bytes, str]:
        """The scrape body and content type (all processes in multiprocess mode)."""
        return metrics_payload(self.registry)


def multiprocess_dir() -> str | None:
    """The multiprocess directory from ``PROMETHEUS_MULTIPROC_DIR``, or ``None``."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_payload(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """Prometheus text for a scrape: ``(body, content_type)``.

    In multiprocess mode the values of every process are aggregated from the directory and
    ``registry`` is ignored; otherwise ``registry`` (default: the global one) is rendered.
    """
    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    return generate_latest(REGISTRY if registry is None else registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (call from the parent when a worker exits)."""
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, path)


def _use_multiprocess_values() -> None:
    """Switch prometheus_client to shared files if the variable was set after it was imported."""
    path = multiprocess_dir()
    if not path:
        return
    if not os.path.isdir(path):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={path} is not a directory")
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()
