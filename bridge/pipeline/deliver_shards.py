"""An ERP route's deliver stage spread over several processes, each order always in the same one.

One process delivering to a slow ERP is bound by its own CPU long before the ERP is: every call
is built, sent, parsed and recorded in the ledger under one interpreter lock. With ``processes:
N`` on the route, this stage, in the process that consumes the route's queue, hands each batch's
events to N shard processes by their serial key (an order: ``crc32(key) % N``, the same in every
process and every run), so an order's reports stay in one process and in sequence while the
orders use every core. Each shard is a :class:`RemoteDeliverStage` of its own (its own sink,
ledger connection and call threads); the outcomes come back here, where the worker acks, retries
or dead-letters as for any stage.

Nothing changes for exactly-once: a shard records every call in the ledger before making it, as
in one process. A shard that dies takes only its events' acknowledgements with it: they are
retried, and a call it left in doubt is looked up before it is made again. When this process
dies, the shards see their pipe close and stop.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bridge.broker.messages import Delivery
from bridge.errors import BridgeError, ConfigError, PermanentError, TransientError
from bridge.pipeline.deliver import event_from_delivery
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.pipeline.remote_deliver import count_decision, release_dead_letter_holds

__all__ = ["ShardedDeliverStage", "shard_of"]

log = logging.getLogger(__name__)

#: How long a shard process may take to start (import, load mappings, open the ledger).
START_TIMEOUT_S = 120.0


def shard_of(key: str, shards: int) -> int:
    """The shard of a serial key: stable across processes and runs (``hash()`` is not)."""
    return zlib.crc32(key.encode("utf-8")) % shards


@dataclass(frozen=True)
class _ShardSpec:
    """What a shard process needs to build its stage (the settings with their secrets: they
    travel over the pipe to the child, never into a log)."""

    settings: dict[str, Any]
    route: str
    queue: str
    index: int


def _portable(exc: BaseException) -> BridgeError:
    """``exc`` as it can cross the pipe: a bridge error as it is (or, when an attribute of it
    cannot be pickled, its kind with its text), anything else as transient."""
    if isinstance(exc, BridgeError):
        try:
            pickle.dumps(exc)
            return exc
        except Exception:
            kind = next(k for k in (TransientError, PermanentError, ConfigError, BridgeError) if isinstance(exc, k))
            return kind(str(exc))
    return TransientError(f"{type(exc).__name__}: {exc}")


def _shard_main(conn: Connection, spec: _ShardSpec) -> None:
    """A shard process: build the route's stage, then process the batches the parent sends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its shards
    stage = ledger = None
    try:
        from bridge.config import Settings
        from bridge.ledger import Ledger
        from bridge.mapping.reload import MappingReloader
        from bridge.observability.logging import configure_logging
        from bridge.runtime import active_routes, make_sink, names_for, remote_stage
        from bridge.source_options import load_catalog

        settings = Settings.model_validate(spec.settings)
        configure_logging(settings.log_level, settings.log_format)
        route = next(r for r in active_routes(settings) if r.name == spec.route)

        def no_channel(name: str) -> Any:
            raise ConfigError(f"route {spec.route}: a shard process has no broker channel (asked for {name})")

        # this process reloads its own mappings (mappings_reload_s), as every worker does
        reloader = MappingReloader(lambda: load_catalog(settings), Path(settings.mappings_dir),
                                   interval_s=settings.mappings_reload_s)
        sink = make_sink(settings, route, names_for(settings), reloader.holder, no_channel)
        ledger = Ledger.connect(settings.database_url, busy_timeout=settings.ledger.busy_timeout_s)
        stage = remote_stage(settings, route, spec.queue, sink, ledger, None)
    except BaseException as exc:
        conn.send(("failed", _portable(exc)))
        return
    conn.send(("ready", None))
    reloader.start()
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break  # the parent is gone
            if message is None:
                break
            try:
                reply: tuple[str, Any] = ("ok", stage.process(message))
            except BaseException as exc:
                reply = ("error", _portable(exc))
            try:
                conn.send(reply)
            except (OSError, ValueError):
                break
    finally:
        reloader.stop()
        stage.close()
        close = getattr(stage.sink, "close", None)
        if callable(close):
            close()
        ledger.close()


class _Shard:
    """One shard process and the parent's end of its pipe."""

    def __init__(self, spec: _ShardSpec) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_shard_main, args=(child, spec), name=f"deliver-{spec.route}-{spec.index}", daemon=True
        )
        self.process.start()
        child.close()
        self.index = spec.index

    def wait_ready(self, timeout_s: float) -> None:
        """Raises: ConfigError or TransientError: the shard did not start (says why)."""
        if not self.conn.poll(timeout_s):
            self.stop()
            raise TransientError(f"deliver shard {self.index} did not start within {timeout_s:.0f} s")
        try:
            kind, error = self.conn.recv()
        except (EOFError, OSError):
            raise TransientError(f"deliver shard {self.index} exited while starting") from None
        if kind != "ready":
            self.stop()
            raise error

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, timeout_s: float = 60.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self.conn.close()


class ShardedDeliverStage:
    """A remote route's events over ``processes`` shard processes (see the module)."""

    def __init__(
        self,
        route: str,
        queue: str,
        sink: Any,
        ledger: Any,
        *,
        settings: Any,
        processes: int,
        metrics: Any = None,
    ) -> None:
        from bridge.redaction import REVEAL_SECRETS

        self.name = "deliver"
        self.route = route
        self.queue = queue
        self.sink = sink  # its serial_key only: the shards make the calls
        self.ledger = ledger
        self.metrics = metrics
        self._dump = settings.model_dump(mode="json", context=REVEAL_SECRETS)
        self._lock = threading.Lock()
        self._shards: list[_Shard | None] = [None] * processes
        started = [self._spawn(index) for index in range(processes)]
        try:
            for shard in started:
                shard.wait_ready(START_TIMEOUT_S)
        except BaseException:
            for shard in started:
                shard.stop(5)
            raise
        self._shards = list(started)

    def _spawn(self, index: int) -> _Shard:
        return _Shard(_ShardSpec(self._dump, self.route, self.queue, index))

    def _shard(self, index: int) -> _Shard:
        """The shard, started again if it died."""
        shard = self._shards[index]
        if shard is not None and shard.alive():
            return shard
        if shard is not None:
            log.warning("route %s: deliver shard %d stopped (exit code %s); starting it again",
                        self.route, index, shard.process.exitcode)
            shard.conn.close()
        self._shards[index] = None
        fresh = self._spawn(index)
        fresh.wait_ready(START_TIMEOUT_S)
        self._shards[index] = fresh
        return fresh

    def shard_for(self, delivery: Delivery) -> int:
        try:
            key = self.sink.serial_key(event_from_delivery(delivery))
        except (ValueError, KeyError, TypeError):
            key = delivery.message_id or ""  # the shard dead-letters it, naming what is wrong
        return shard_of(key, len(self._shards))

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Each shard delivers its part of the batch (at the same time); the outcomes in order."""
        parts: dict[int, list[int]] = {}
        for position, delivery in enumerate(batch):
            parts.setdefault(self.shard_for(delivery), []).append(position)
        outcomes: list[Outcome | None] = [None] * len(batch)
        with self._lock:  # one batch at a time through the pipes
            sent: list[tuple[_Shard, list[int]]] = []
            for index, positions in sorted(parts.items()):
                try:
                    shard = self._shard(index)
                    shard.conn.send([batch[p] for p in positions])
                except (BridgeError, OSError, ValueError) as exc:
                    self._fail(outcomes, positions, index, exc)
                    continue
                sent.append((shard, positions))
            for shard, positions in sent:
                try:
                    kind, result = shard.conn.recv()
                except (EOFError, OSError) as exc:
                    self._fail(outcomes, positions, shard.index, exc)
                    continue
                if kind == "ok" and len(result) == len(positions):
                    for position, outcome in zip(positions, result, strict=True):
                        outcomes[position] = outcome
                else:
                    self._fail(outcomes, positions, shard.index, result)
        for outcome in outcomes:
            assert outcome is not None
            if outcome.kind is OutcomeKind.FORWARD and outcome.note.get("entity"):
                count_decision(self.metrics, self.route, str(outcome.note.get("decision")), str(outcome.note["entity"]))
        return [o for o in outcomes if o is not None]

    def _fail(self, outcomes: list[Outcome | None], positions: list[int], index: int, why: Any) -> None:
        error = why if isinstance(why, TransientError) else TransientError(
            f"route {self.route}: deliver shard {index} failed ({why}); its events are retried, "
            "a call it left in doubt is looked up first"
        )
        if not isinstance(why, TransientError):
            log.warning("%s", error)
        for position in positions:
            outcomes[position] = Outcome.retry(error)

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """A dead-lettered event lets the later events of its order go (as in one process)."""
        release_dead_letter_holds(self.ledger.holds, self.route, batch, outcomes)

    def close(self) -> None:
        """Stop the shard processes (each finishes its batch first)."""
        with self._lock:
            shards, self._shards = self._shards, [None] * len(self._shards)
        for shard in shards:
            if shard is not None:
                shard.stop()
