"""The in-memory broker's dead-letter bookkeeping, as RabbitMQ keeps it in ``x-death``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["add_death", "is_cycle"]


def add_death(
    headers: dict[str, Any], reason: str, queue: str, exchange: str, routing_keys: Sequence[str], at: float
) -> None:
    """Record a death of the message in ``queue`` for ``reason`` (at epoch second ``at``) in its headers."""
    if not headers.get("x-death"):
        headers["x-first-death-reason"] = reason
        headers["x-first-death-queue"] = queue
        headers["x-first-death-exchange"] = exchange
    deaths: list[dict[str, Any]] = list(headers.get("x-death") or [])
    for index, death in enumerate(deaths):
        if death.get("queue") == queue and death.get("reason") == reason:
            # RabbitMQ counts it and moves it to the front; time and exchange stay the first ones
            entry = deaths.pop(index)
            entry["count"] = int(entry.get("count", 0)) + 1
            break
    else:
        entry = {
            "count": 1,
            "reason": reason,
            "queue": queue,
            "time": datetime.fromtimestamp(at, UTC),
            "exchange": exchange,
            "routing-keys": list(routing_keys),
        }
    headers["x-death"] = [entry, *deaths]


def is_cycle(target: str, deaths: Sequence[dict[str, Any]]) -> bool:
    """RabbitMQ drops a dead letter that would return to a queue it died in without a rejection."""
    for death in deaths:
        if death.get("reason") == "rejected":
            return False
        if death.get("queue") == target:
            return True
    return False
