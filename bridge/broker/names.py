"""Names of the bridge's exchanges and queues, all derived from one prefix.

Per work queue ``q`` there is a retry queue per tier (``q.retry.5s``: TTL, then back to ``q``)
and a dead-letter queue ``q.dlq`` fed through the dead-letter exchange with routing key ``q``.
Tests give every run its own prefix, so they never share a queue.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Names", "tier_label"]


def tier_label(seconds: float) -> str:
    """``5`` -> ``5s``, ``300`` -> ``5m``, ``1800`` -> ``30m``, ``0.5`` -> ``500ms``, ``3600`` -> ``1h``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"


@dataclass(frozen=True, slots=True)
class Names:
    """Exchange and queue names for one bridge installation."""

    prefix: str = "bridge"
    mes_exchange: str = "mes.events"
    feedback_exchange: str = "mes.feedback"

    @property
    def feedback_queue(self) -> str:
        """The bridge's queue on :attr:`feedback_exchange` (the MES's reports and lot events,
        routing key ``<entity>.<event>``): durable, so the MES can publish while the bridge is down."""
        return f"{self.prefix}.feedback"

    @property
    def inbound_exchange(self) -> str:
        """Topic exchange for raw source documents, routing key ``<system>.<document type>``."""
        return f"{self.prefix}.inbound"

    @property
    def canonical_exchange(self) -> str:
        """Topic exchange for canonical events, routing key ``<entity>.<event>``."""
        return f"{self.prefix}.canonical"

    @property
    def dead_letter_exchange(self) -> str:
        """Direct exchange for dead letters, routing key = the work queue's name."""
        return f"{self.prefix}.dlx"

    @property
    def translate_queue(self) -> str:
        """Raw documents waiting to be translated."""
        return f"{self.prefix}.translate"

    def deliver_queue(self, route: str) -> str:
        """Canonical events waiting for one route's sink."""
        return f"{self.prefix}.deliver.{route}"

    @staticmethod
    def retry_queue(queue: str, seconds: float) -> str:
        """Where a message waits ``seconds`` before going back to ``queue``."""
        return f"{queue}.retry.{tier_label(seconds)}"

    @staticmethod
    def dead_letter_queue(queue: str) -> str:
        """Dead letters of ``queue``."""
        return f"{queue}.dlq"
