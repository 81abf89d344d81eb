"""Retry and dead-letter policy: growing delays through retry queues, then the dead-letter queue.

A transient failure is first retried in-process (tenacity, a few quick attempts); if it
persists, the delivery is copied to ``<queue>.retry.<tier>`` whose TTL sends it back to the
work queue: tier n for the n-th delayed attempt (5 s, 30 s, 5 min, 30 min by default). After
the last tier, or at once for a permanent error, it is copied to the dead-letter queue with
headers saying what failed, where and how often. Error text is redacted of credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import tenacity

from bridge.broker.messages import Delivery, Headers, OutMessage
from bridge.broker.names import Names
from bridge.errors import BridgeError, MappingError, TransientError, WaitingError
from bridge.observability.metrics import error_class_label
from bridge.redaction import redact

__all__ = ["RetryPolicy"]

T = TypeVar("T")

#: Longest error text put into a header (headers travel with every copy).
MAX_ERROR_TEXT = 1000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _attempts(delivery: Delivery) -> int:
    try:
        return int(delivery.header(Headers.ATTEMPTS, 0) or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class RetryPolicy:
    """Where failed deliveries go, and the in-process retry around a stage.

    Args:
        names: exchange and queue names.
        tiers: delays in seconds of the retry queues, in order.
        in_process_attempts: tenacity attempts for transient errors before a delayed retry.
        in_process_wait: first wait between in-process attempts, doubled each time.
    """

    names: Names
    tiers: Sequence[float] = (5, 30, 300, 1800)
    in_process_attempts: int = 3
    in_process_wait: float = 0.05

    def call(self, func: Callable[[], T]) -> T:
        """Run ``func``, retrying TransientError a few times with exponential backoff."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.in_process_attempts),
            wait=tenacity.wait_exponential(multiplier=self.in_process_wait, max=2.0),
            retry=tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        return retrying(func)

    def retry_message(self, delivery: Delivery, error: BridgeError, stage: str) -> tuple[OutMessage, bool]:
        """The copy to publish for a delayed retry, or the dead letter once retries ran out.

        Returns:
            (message, dead_lettered)
        """
        attempts = _attempts(delivery)
        if isinstance(error, WaitingError) and self.tiers:  # not a failure of its own: its retries are kept
            headers = self._carry(delivery, error, stage)
            headers[Headers.ATTEMPTS] = attempts
            return delivery.as_out("", self.names.retry_queue(delivery.queue, self.tiers[0]), headers), False
        if attempts >= len(self.tiers):
            error_text = f"retries exhausted after {attempts} delayed attempt(s): {error}"
            return self.dead_letter_message(delivery, error, stage, reason=error_text), True
        headers = self._carry(delivery, error, stage)
        headers[Headers.ATTEMPTS] = attempts + 1
        queue = self.names.retry_queue(delivery.queue, self.tiers[attempts])
        return delivery.as_out("", queue, headers), False

    def dead_letter_message(
        self, delivery: Delivery, error: BridgeError, stage: str, *, reason: str | None = None
    ) -> OutMessage:
        """The copy for the dead-letter queue of the delivery's work queue."""
        headers = self._carry(delivery, error, stage, reason)
        headers[Headers.ATTEMPTS] = _attempts(delivery) + 1
        return delivery.as_out(self.names.dead_letter_exchange, delivery.queue, headers)

    @staticmethod
    def _carry(
        delivery: Delivery, error: BridgeError, stage: str, reason: str | None = None
    ) -> dict[str, Any]:
        headers = {
            k: v
            for k, v in delivery.headers.items()
            if not k.startswith("x-death") and k != "x-first-death-queue"
        }
        now = _now()
        headers.setdefault(Headers.FIRST_FAILURE, now)
        headers[Headers.LAST_FAILURE] = now
        headers[Headers.STAGE] = stage
        # the bridge's own class (DecodeError, not an adapter's IDocError): what operators filter by
        headers[Headers.ERROR_CLASS] = error_class_label(error)
        headers[Headers.ERROR_MESSAGE] = redact(reason or str(error))[:MAX_ERROR_TEXT]
        if isinstance(error, MappingError):
            if error.mapping:
                headers[Headers.MAPPING] = error.mapping
            if error.field:
                headers[Headers.FIELD] = error.field
        # the route a replay goes back to: kept from the first delivery, not the retry hop
        headers.setdefault(Headers.ORIGINAL_EXCHANGE, delivery.exchange)
        headers.setdefault(Headers.ORIGINAL_ROUTING_KEY, delivery.routing_key)
        headers.setdefault(Headers.ORIGINAL_QUEUE, delivery.queue)
        return headers
