"""``bridge run``: assemble settings, ledger, broker connection, stages and workers.

One process runs the roles it is given (all by default) on one AMQP connection, one channel
per worker. SIGTERM/SIGINT stop consuming, finish the deliveries in hand and exit 0.
``--workers N`` starts N such processes (competing consumers) and serves the aggregated
metrics from the parent; the parent's ``/readyz`` checks the broker and the ledger database
from its own connections, as a single process does, and that every child is alive.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.broker.amqp import AmqpChannel, AmqpConnection
from bridge.broker.connector import AmqpConnector, BrokerConnector
from bridge.broker.names import Names
from bridge.broker.topology import Topology, build_topology
from bridge.codecs import codec_for
from bridge.config import Settings
from bridge.errors import BridgeError, ConfigError
from bridge.pipeline import DeliverStage, Ingestor, RetryPolicy, TranslateStage, Worker
from bridge.pipeline.deliver_shards import ShardedDeliverStage
from bridge.pipeline.direct import DirectDelivery, DirectRoute
from bridge.pipeline.intake import IntakeStage, ingest_with
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.source_options import codec_options, load_catalog

__all__ = [
    "ROLES",
    "Runtime",
    "broker_check",
    "names_for",
    "topology_for",
]

log = logging.getLogger(__name__)

ROLES = ("ingest", "translate", "deliver")


def names_for(settings: Settings) -> Names:
    """Exchange and queue names from the broker settings."""
    return Names(
        prefix=settings.broker.prefix,
        mes_exchange=settings.broker.mes_exchange,
        feedback_exchange=settings.broker.feedback_exchange,
    )


def active_routes(settings: Settings) -> list[Any]:
    """The enabled routes."""
    return [route for route in settings.routes if route.enabled]


def topology_for(settings: Settings) -> Topology:
    """The topology these settings need."""
    broker = settings.broker
    return build_topology(
        names_for(settings),
        routes=active_routes(settings),
        queue_type=broker.queue_type,
        delivery_limit=broker.delivery_limit,
        retry_tiers=broker.retry_tiers,
    )


def make_sink(settings: Settings, route: Any, names: Names, catalog: Any, channel: Any) -> Any:
    """The sink of ``route``, built by its adapter (``channel(name)`` opens a broker channel)."""
    from bridge.adapter import adapter_for
    from bridge.adapter.sink import SinkContext
    from bridge.config import adapter_route_settings

    adapter = adapter_for(route.sink)
    assert adapter.sink is not None  # checked when the settings were loaded
    return adapter.sink(
        SinkContext(
            route.name,
            adapter_route_settings(route),
            channel=channel,
            mes_exchange=names.mes_exchange,
            confirm_timeout=settings.broker.confirm_timeout_s,
            catalog=catalog,
        )
    )


def remote_stage(settings: Settings, route: Any, queue: str, sink: Any, ledger: Any, metrics: Any) -> RemoteDeliverStage:
    """The deliver stage of a remote sink's route in this process."""
    return RemoteDeliverStage(
        route.name, queue, sink, ledger, metrics=metrics, sites=route.sites,
        # a hold outliving every retry its holder could have is a leftover
        hold_expiry_s=2 * sum(settings.broker.retry_tiers) + 600,
    )


@dataclass
class Runtime:
    """The running bridge in this process."""

    settings: Settings
    roles: Sequence[str] = ROLES
    metrics: Any = None
    connection: AmqpConnection | None = None
    ledger: Any = None
    workers: list[Worker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    health: Any = None
    stopped: threading.Event = field(default_factory=threading.Event)
    broker: BrokerConnector | None = None  # None: RabbitMQ at settings.amqp_url
    sinks: list[Any] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)
    scheduler: Any = None  # reconciliation jobs with a schedule (bridge.reconcile.scheduler)
    dead_letter_poll: float = field(default_factory=lambda: float(os.environ.get("BRIDGE_DLQ_POLL_S", "15")))
    # seconds between two looks at the mappings folder, 0 = no hot reload (BRIDGE_MAPPINGS_RELOAD_S)
    mappings_reload_s: float | None = None
    reloader: Any = None  # bridge.mapping.reload.MappingReloader

    def start(self, *, serve_http: bool = True, connect_wait: float = 30.0) -> None:
        """Declare the topology, open ledger and connection, start the workers.

        A start that fails closes what it had opened, so it can simply be tried again.
        """
        try:
            self._start(serve_http=serve_http, connect_wait=connect_wait)
        except BaseException:
            self._close_opened()
            raise

    def _close_opened(self) -> None:
        if self.reloader is not None:
            self.reloader.stop()
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()
        ledger, self.ledger = self.ledger, None
        if ledger is not None:
            ledger.close()

    def _start(self, *, serve_http: bool, connect_wait: float) -> None:
        from bridge.ledger import Ledger

        settings = self.settings
        unknown = [r for r in self.roles if r not in ROLES]
        if unknown:
            raise ConfigError(f"unknown role(s) {', '.join(unknown)} (roles: {', '.join(ROLES)})")
        codec_options(settings)  # refuse a wrong sources.<system> option before connecting
        names = names_for(settings)
        topology = topology_for(settings)
        connector = self.broker or AmqpConnector(settings)
        connector.declare(topology)
        self.ledger = Ledger.connect(settings.database_url, busy_timeout=settings.ledger.busy_timeout_s)
        catalog = self._catalog_holder()
        self.connection = connector.connect("erp-mes-bridge")
        self.connection.start(wait=connect_wait)
        policy = RetryPolicy(
            names, tiers=settings.broker.retry_tiers, in_process_attempts=settings.broker.in_process_attempts
        )
        deliverers, remote_stages = [], []
        if "deliver" in self.roles:
            for route in active_routes(settings):
                sink = self._sink(route, names, catalog)
                queue = names.deliver_queue(route.name)
                if getattr(sink, "mode", "transactional") == "remote":
                    # never in translate's hands: a remote call takes long, it gets its own queue
                    if route.processes > 1:
                        remote_stages.append(
                            ShardedDeliverStage(route.name, queue, sink, self.ledger, settings=settings,
                                                processes=route.processes, metrics=self.metrics)
                        )
                    else:
                        remote_stages.append(remote_stage(settings, route, queue, sink, self.ledger, self.metrics))
                    continue
                if route.processes > 1:
                    raise ConfigError(f"route {route.name}: processes: {route.processes} is for an ERP's route; "
                                      f"sink {route.sink} delivers in the translate process")
                stage = DeliverStage(route.name, queue, sink, self.ledger, metrics=self.metrics)
                deliverers.append(DirectRoute(tuple(route.events), stage))
        if "translate" in self.roles:
            direct = DirectDelivery(deliverers) if deliverers and settings.broker.direct_delivery else None
            stage = TranslateStage(
                names,
                catalog,
                self.ledger,
                codec_for=codec_for,
                codec_options=codec_options(settings),
                metrics=self.metrics,
                direct=direct,
            )
            self._add_worker(stage, policy)
        for deliverer in deliverers:  # also when delivering directly: retries and replays come this way
            self._add_worker(deliverer.stage, policy)
        for remote in remote_stages:
            self._add_worker(remote, policy)
        if "ingest" in self.roles:
            # the MES's feedback exchange: taken in like any source document (system mes)
            self._add_worker(IntakeStage(names.feedback_queue, ingest_with(self.ingestor()), system="mes"), policy)
            self._start_sources(policy)
        self._start_reconcile_scheduler()
        self.reloader.start()  # each process of --workers N watches and reloads its own
        if serve_http and settings.http_port:
            self._serve_http()
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, name=f"worker-{worker.stage.queue}", daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.metrics is not None and self.workers:
            dead_letter_queues = [
                topology.queue(names.dead_letter_queue(w.stage.queue)).name for w in self.workers
            ]
            watcher = threading.Thread(
                target=self._watch_dead_letters, args=(dead_letter_queues,), name="dlq-depth", daemon=True
            )
            watcher.start()
        log.info("bridge running: roles %s, %d worker(s)", ",".join(self.roles), len(self.workers))

    def _catalog_holder(self) -> Any:
        """The mapping catalog as the stages read it: a holder a mapping reload swaps."""
        from pathlib import Path

        from bridge.mapping.reload import MappingReloader

        interval = self.settings.mappings_reload_s if self.mappings_reload_s is None else self.mappings_reload_s
        if not {"translate", "deliver"} & set(self.roles):
            interval = 0  # ingest reads no mapping
        self.reloader = MappingReloader(
            lambda: load_catalog(self.settings), Path(self.settings.mappings_dir),
            interval_s=interval, metrics=self.metrics,
        )
        return self.reloader.holder

    def _start_reconcile_scheduler(self) -> None:
        """Due reconciliation jobs run here; with several processes on one ledger, a job's lock
        (PostgreSQL advisory lock, a file lock for SQLite) lets only one of them run it."""
        self._gauge_discrepancies(self.settings.reconcile.jobs)
        scheduled = {name: job.schedule for name, job in self.settings.reconcile.jobs.items() if job.schedule}
        if not scheduled:
            return
        from functools import partial

        from bridge.reconcile.cron import Cron
        from bridge.reconcile.locks import job_lock
        from bridge.reconcile.scheduler import JobScheduler

        self.scheduler = JobScheduler({name: Cron.parse(text) for name, text in scheduled.items()}, self._run_reconcile,
                                      partial(job_lock, self.ledger), timezone=self.settings.reconcile.timezone)
        self.scheduler.start()
        log.info("reconciliation jobs scheduled: %s", ", ".join(f"{n} ({t})" for n, t in scheduled.items()))

    def _gauge_discrepancies(self, jobs: Any) -> None:
        """``bridge_discrepancies`` from the ledger, so that a restarted process shows the open
        ones before its jobs run again (also what ``bridge reconcile run`` left)."""
        if self.metrics is None or not jobs or self.ledger is None:
            return
        try:
            counts = self.ledger.discrepancies.open_counts()
        except BridgeError as exc:
            log.warning("could not read the open discrepancies for the gauge: %s", exc)
            return
        for job in jobs:
            self.metrics.set_discrepancies(job, {kind: n for (name, kind), n in counts.items() if name == job})

    def _run_reconcile(self, job: str) -> None:
        from bridge.reconcile.runner import run_job

        run = run_job(job, self.settings, self.ledger)
        counts = {kind: n for (name, kind), n in self.ledger.discrepancies.open_counts().items() if name == job}
        if self.metrics is not None:
            self.metrics.set_discrepancies(job, counts)
        log.info("reconciliation %s: %d pair(s), %d matched, %d open, %d resolved", job, run.summary.pairs,
                 run.summary.matched, sum(counts.values()), run.result.resolved)

    def _channel(self, name: str, prefetch: int | None) -> AmqpChannel:
        assert self.connection is not None
        return self.connection.channel(prefetch=prefetch, name=name)

    def _sink(self, route: Any, names: Names, catalog: Any) -> Any:
        sink = make_sink(self.settings, route, names, catalog, channel=lambda name: self._channel(name, None))
        self.sinks.append(sink)
        return sink

    def _start_sources(self, policy: RetryPolicy) -> None:
        """The receivers and watchers of every source system whose adapter has them."""
        from bridge.adapter import adapter_for
        from bridge.adapter.source import SourceContext
        from bridge.config import adapter_source_settings

        for system, source_settings in self.settings.sources.items():
            adapter = adapter_for(system)
            if adapter.sources is None:
                continue
            ingestor = self.ingestor()

            def ingest(items: Any, _ingestor: Ingestor = ingestor, _system: str = system) -> Any:
                return _ingestor.ingest(_ingestor.prepare(list(items), _system))

            context = SourceContext(
                system,
                adapter_source_settings(system, source_settings),
                ingest,
                codec=codec_for(system),
                codec_options=codec_options(self.settings).get(system, {}),
                already_ingested=self.ledger_ingested,
                outcomes=self.ledger.outcomes,
                positions=self.ledger.positions,
                metrics=self.metrics,
            )
            for source in adapter.sources(context):
                self.sources.append(source)
                self.routes.extend(source.routes)
        for source in self.sources:
            source.start()

    def ledger_ingested(self, message_ids: Sequence[str]) -> set[str]:
        """Which of the message ids the ledger journaled as ingested (a file port's restart)."""
        statuses = self.ledger.statuses(list(message_ids), "ingest")
        return {message_id for message_id, status in statuses.items() if status}

    def _add_worker(self, stage: Any, policy: RetryPolicy) -> None:
        broker = self.settings.broker
        channel = self._channel(stage.queue, broker.prefetch)
        channel.consume(stage.queue)
        self.workers.append(
            Worker(
                stage,
                channel,
                policy,
                batch_size=broker.batch_size,
                batch_wait=broker.batch_wait_ms / 1000,
                confirm_timeout=broker.confirm_timeout_s,
                metrics=self.metrics,
            )
        )

    def _watch_dead_letters(self, queues: list[str]) -> None:
        """Keep ``bridge_dead_letter_depth{queue}`` current (operators alert on it)."""
        channel = self._channel("dlq-depth", None)
        while not self.stopped.wait(self.dead_letter_poll):
            for queue, depth in channel.queue_depths(queues).items():
                self.metrics.set_dead_letter_depth(queue, depth)

    def ingestor(self, *, deadline: float | None = None, deadline_setting: str | None = None) -> Ingestor:
        """An ingestor on this runtime's connection (for ``bridge ingest`` and receivers).

        Args:
            deadline: how long one batch may wait for the broker and the ledger (default
                ``broker.ingest_deadline_s``).
            deadline_setting: what set ``deadline`` (named in the error when it passes).
        """
        assert self.connection is not None
        broker = self.settings.broker
        return Ingestor(
            names_for(self.settings),
            self._channel("ingest", None),
            self.ledger,
            codec_for=codec_for,
            codec_options=codec_options(self.settings),
            confirm_timeout=broker.confirm_timeout_s,
            deadline=broker.ingest_deadline_s if deadline is None else deadline,
            deadline_setting=deadline_setting or "broker.ingest_deadline_s",
            metrics=self.metrics,
        )

    def _serve_http(self) -> None:
        from bridge.observability.http import HealthServer

        self.health = HealthServer(
            self.settings.http_host,
            self.settings.http_port,
            readiness={"broker": broker_check(self.connection), "database": self.ledger.ping},
            metrics=self.metrics,
            routes=self.routes,
            **({"metrics_payload": self.metrics.payload} if self.metrics is not None else {}),
        )
        self.health.start()

    def wait(self) -> None:
        """Block until :meth:`stop` finished (signal handlers call it)."""
        self.stopped.wait()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop consuming, finish in-flight batches, close everything."""
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout)
        for worker in self.workers:  # a deliver stage's call threads and shard processes
            close = getattr(worker.stage, "close", None)
            if callable(close):
                close()
        for source in self.sources:
            source.stop()
        if self.reloader is not None:
            self.reloader.stop(timeout)
        if self.scheduler is not None:
            self.scheduler.stop(timeout)
        if self.health is not None:
            self.health.stop()
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
        if self.connection is not None:
            self.connection.close()
        if self.ledger is not None:
            self.ledger.close()
        self.stopped.set()


def broker_check(connection: AmqpConnection | None) -> Callable[[], None]:
    """A readiness check: raises while ``connection`` is not connected (with its last error)."""

    def broker_ready() -> None:
        if connection is None or not connection.connected:
            raise ConnectionError(connection.last_error if connection else "not started")

    return broker_ready
