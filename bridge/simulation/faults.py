"""Fault modes every simulator offers: failures, latency, locks and lost replies.

One :class:`FaultSettings` per simulator, mutable while it runs (tests turn a fault on and
off); :func:`fault_options` adds the same flags to each simulator's command.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

__all__ = ["FaultSettings", "fault_options"]

F = TypeVar("F", bound=Callable[..., Any])


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass
class FaultSettings:
    """The share of calls that fail, lock or lose their reply, and the latency of each call.

    Attributes:
        fail_rate: share of calls answered "service unavailable" before any effect.
        latency_ms: added to every call before it is answered.
        lock_rate: share of postings refused with the system's lock error, nothing posted.
        lose_reply_rate: share of postings committed whose reply is then dropped.
        seed: seed of the random generator (``None``: unpredictable).
    """

    fail_rate: float = 0.0
    latency_ms: int = 0
    lock_rate: float = 0.0
    lose_reply_rate: float = 0.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for name in ("fail_rate", "lock_rate", "lose_reply_rate"):
            _check_rate(name, getattr(self, name))
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, got {self.latency_ms}")
        self._rng = random.Random(self.seed)

    def _hit(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        with self._lock:  # random.Random is not safe to share between threads
            return self._rng.random() < rate

    def should_fail(self) -> bool:
        """Draw whether this call fails."""
        return self._hit(self.fail_rate)

    def should_lock(self) -> bool:
        """Draw whether this posting meets a lock."""
        return self._hit(self.lock_rate)

    def should_lose_reply(self) -> bool:
        """Draw whether this posting's reply is lost after the commit."""
        return self._hit(self.lose_reply_rate)

    @property
    def latency_s(self) -> float:
        return self.latency_ms / 1000.0


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter(f"must be between 0 and 1, got {value}", ctx=ctx, param=param)
    return value


def fault_options(command: F) -> F:
    """Add ``--fail-rate --latency-ms --lock-rate --lose-reply-rate --random-seed`` to a command.

    The command receives them as one keyword argument ``faults`` (a :class:`FaultSettings`).
    """
    options = (
        click.option("--random-seed", type=int, default=None, help="Seed of the fault generator (repeatable runs)."),
        click.option("--lose-reply-rate", type=float, default=0.0, callback=_rate,
                     help="Share of postings committed whose reply is then dropped (0..1)."),
        click.option("--lock-rate", type=float, default=0.0, callback=_rate,
                     help="Share of postings refused with a lock error, nothing posted (0..1)."),
        click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay added to every call."),
        click.option("--fail-rate", type=float, default=0.0, callback=_rate,
                     help="Share of calls answered 'service unavailable' before any effect (0..1)."),
    )

    @functools.wraps(command)  # carries the options declared below this decorator
    def wrapped(*args: Any, fail_rate: float, latency_ms: int, lock_rate: float, lose_reply_rate: float,
                random_seed: int | None, **kwargs: Any) -> Any:
        faults = FaultSettings(fail_rate=fail_rate, latency_ms=latency_ms, lock_rate=lock_rate,
                               lose_reply_rate=lose_reply_rate, seed=random_seed)
        return command(*args, faults=faults, **kwargs)

    decorated: Any = wrapped
    for option in options:
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
