"""The consume loop shared by every stage: batch in, decide, publish with confirms, then ack.

For each batch: the stage decides an :class:`Outcome` per delivery (in-process retries for
transient errors around it); the outputs, retry copies and dead letters of the whole batch are
published together and confirmed; only then is the batch acked. If that publish fails, the
batch is nacked back to its queue (the broker's delivery limit stops a message that fails for
ever) and nothing is lost. A stop request finishes the deliveries already received first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from bridge.broker.messages import Delivery, OutMessage
from bridge.errors import BridgeError, TransientError
from bridge.observability.logging import log_context
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.pipeline.retry import RetryPolicy

__all__ = ["Channel", "Stage", "Worker"]

log = logging.getLogger(__name__)


class Channel(Protocol):
    """What a worker needs of a broker channel (AmqpChannel or the stub's)."""

    def get_batch(self, max_items: int, wait: float, block: float = 1.0) -> list[Delivery]: ...
    def publish(self, messages: Sequence[OutMessage], timeout: float = 30.0) -> None: ...
    def ack_batch(self, deliveries: Sequence[Delivery]) -> int: ...
    def nack(self, deliveries: Sequence[Delivery], *, requeue: bool) -> None: ...
    def cancel(self) -> None: ...


class Stage(Protocol):
    """One step of the pipeline (translate, deliver to a route)."""

    name: str
    queue: str

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Decide what happens to each delivery (same order); may raise TransientError."""
        ...

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """Called after the batch's messages were confirmed, before the ack."""
        ...


class _NoMetrics:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class Worker:
    """Runs one stage on one channel until stopped."""

    def __init__(
        self,
        stage: Stage,
        channel: Channel,
        policy: RetryPolicy,
        *,
        batch_size: int = 100,
        batch_wait: float = 0.02,
        confirm_timeout: float = 30.0,
        metrics: Any = None,
    ) -> None:
        self.stage = stage
        self.channel = channel
        self.policy = policy
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.confirm_timeout = confirm_timeout
        self.metrics = metrics or _NoMetrics()
        self.stopping = threading.Event()
        self.processed = 0

    def run(self) -> None:
        """Consume until :meth:`stop`; then finish what was already received and return."""
        while True:
            batch = self.channel.get_batch(self.batch_size, self.batch_wait, block=0.2)
            if batch:
                try:
                    self.handle(batch)
                except Exception:  # a bug must not silently stop this worker
                    log.exception(
                        "%s: unexpected failure; returning %d message(s) to %s (the queue's "
                        "delivery limit dead-letters one that keeps failing)",
                        self.stage.name,
                        len(batch),
                        self.stage.queue,
                    )
                    self.channel.nack(batch, requeue=True)
            elif self.stopping.is_set():
                return

    def stop(self) -> None:
        """Stop consuming; :meth:`run` returns once the deliveries in hand are done."""
        self.stopping.set()
        self.channel.cancel()

    def handle(self, batch: Sequence[Delivery]) -> None:
        """Process one batch end to end."""
        started = time.perf_counter()
        self.metrics.add_in_flight(self.stage.name, len(batch))
        try:
            outcomes = self._decide(batch)
            messages, final = self._messages(batch, outcomes)
            try:
                self.channel.publish(messages, timeout=self.confirm_timeout)
                self.stage.settled(batch, final)
            except BridgeError as exc:
                log.warning(
                    "%s: could not publish the batch's results (%s); returning %d message(s) to %s",
                    self.stage.name,
                    exc,
                    len(batch),
                    self.stage.queue,
                )
                self.channel.nack(batch, requeue=True)
                return
            self.channel.ack_batch(batch)
            self.processed += len(batch)
        finally:
            self.metrics.add_in_flight(self.stage.name, -len(batch))
            self.metrics.observe(self.stage.name, time.perf_counter() - started)

    def _decide(self, batch: Sequence[Delivery]) -> list[Outcome]:
        try:
            outcomes = self.policy.call(lambda: self.stage.process(batch))
        except TransientError as exc:
            log.log(
                _level(exc, logging.WARNING),
                "%s: transient failure for a batch of %d: %s",
                self.stage.name,
                len(batch),
                exc,
            )
            return [Outcome.retry(exc) for _ in batch]
        if len(outcomes) != len(batch):
            raise RuntimeError(
                f"stage {self.stage.name} returned {len(outcomes)} outcomes for {len(batch)} deliveries"
            )
        return outcomes

    def _messages(
        self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]
    ) -> tuple[list[OutMessage], list[Outcome]]:
        """What to publish, and each delivery's final outcome (a retry that ran out of retries
        is a dead letter)."""
        messages: list[OutMessage] = []
        final: list[Outcome] = []
        for delivery, outcome in zip(batch, outcomes, strict=True):
            final.append(outcome)
            if outcome.kind is OutcomeKind.FORWARD:
                messages.extend(outcome.outputs)
                continue
            assert outcome.error is not None
            error = outcome.error
            if outcome.kind is OutcomeKind.RETRY:
                message, exhausted = self.policy.retry_message(delivery, outcome.error, self.stage.name)
            else:
                message, exhausted = (
                    self.policy.dead_letter_message(delivery, outcome.error, self.stage.name),
                    True,
                )
            with log_context(
                message_id=delivery.message_id, correlation_id=delivery.correlation_id, stage=self.stage.name
            ):
                if exhausted:
                    final[-1] = Outcome.dead_letter(error, **outcome.note)
                    self.metrics.dead_lettered(self.stage.name, error)
                    log.error("dead-lettered: %s", error)
                else:
                    self.metrics.retried(self.stage.name, error)
                    log.log(_level(error, logging.WARNING), "will retry: %s", error)
            messages.append(message)
        return messages, final


def _level(error: BaseException, level: int) -> int:
    """``level``, or DEBUG for an error whose condition was already reported (an unroutable
    route warns once, not for every batch, message and retry)."""
    return logging.DEBUG if getattr(error, "reported", False) else level
