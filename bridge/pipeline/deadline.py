"""Keep trying a step that fails transiently until a deadline, then fail with one clear line.

``bridge ingest`` and every receiver after it (the :class:`~bridge.pipeline.ingest.Ingestor`
path) ride through a broker restart and through lock contention on the embedded ledger: each
step of taking in a batch (archive, publish, journal) is tried again while it raises
:class:`~bridge.errors.TransientError`, with exponential backoff and jitter (tenacity), until the
deadline of the whole batch has passed. Then ONE TransientError names what was waited for, for
how long, which setting bounds it, and the last error::

    ingest: gave up after 120.0 s waiting for the broker to confirm 200 message(s)
    (broker.ingest_deadline_s = 120 s): not connected to the broker (channel ingest)

The first failure of a step is logged as a warning, the ones after it at DEBUG, and the recovery
at INFO, so an outage is one warning and one all-clear, not a line per attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from bridge.errors import TransientError

__all__ = ["Deadline"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: First pause between attempts (seconds); doubled each time, with jitter, up to MAX_WAIT_S.
FIRST_WAIT_S = 0.1
#: Longest pause between attempts (seconds): a restarted broker is noticed within it.
MAX_WAIT_S = 2.0


class Deadline:
    """A time limit shared by the steps of one operation, each retried until it runs out.

    Args:
        seconds: how long the operation may keep trying, from now.
        setting: the setting (or option) that sets ``seconds``, named in the final error.
        clock: monotonic seconds (tests pass a fake one).
        sleep: waits between attempts (tests pass one that moves the fake clock).

    Attributes:
        failures: failed attempts so far, over every step.
        waited: seconds spent in steps that failed at least once, until they succeeded.
    """

    def __init__(
        self,
        seconds: float,
        *,
        setting: str = "broker.ingest_deadline_s",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seconds = seconds
        self.setting = setting
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self.failures = 0
        self.waited = 0.0

    def remaining(self) -> float:
        """Seconds left (0 once the deadline has passed)."""
        return max(0.0, self.seconds - (self._clock() - self._started))

    def elapsed(self) -> float:
        """Seconds since the deadline started."""
        return self._clock() - self._started

    def run(
        self,
        what: str,
        step: Callable[[float], T],
        *,
        on_failure: Callable[[TransientError], None] | None = None,
    ) -> T:
        """Run ``step(seconds_left)`` until it returns, retrying TransientError until the deadline.

        Args:
            what: what is waited for, e.g. ``"the broker to confirm 200 message(s)"``.
            step: the step; it gets the seconds left, to bound its own waits.
            on_failure: called with each transient failure (e.g. to publish less next time).

        Raises:
            TransientError: the step still failed when the deadline passed (one line: what,
                how long, the setting, the last error).
            Exception: anything else the step raised, at once.
        """
        begun = self._clock()
        # jitter: workers and receivers that failed together do not all come back at once
        backoff = tenacity.wait_exponential(multiplier=FIRST_WAIT_S, max=MAX_WAIT_S) + tenacity.wait_random(
            0, FIRST_WAIT_S
        )

        def failed(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.failures += 1
            if on_failure is not None and isinstance(error, TransientError):
                on_failure(error)
            level = logging.WARNING if state.attempt_number == 1 else logging.DEBUG
            log.log(
                level,
                "waiting for %s: %s; trying again for up to %.0f s (%s)",
                what,
                error,
                self.remaining(),
                self.setting,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError),
            stop=lambda _state: self.remaining() <= 0,
            wait=lambda state: min(backoff(state), self.remaining()),
            sleep=self._sleep,
            before_sleep=failed,
            reraise=True,
        )
        try:
            result = retrying(lambda: step(self.remaining()))
        except TransientError as exc:
            self.failures += 1
            raise TransientError(
                f"gave up after {self.elapsed():.1f} s waiting for {what} "
                f"({self.setting} = {self.seconds:g} s): {_reason(exc)}"
            ) from exc
        attempts = retrying.statistics.get("attempt_number", 1)
        if attempts > 1:
            took = self._clock() - begun
            self.waited += took
            log.info("waited %.1f s for %s (%d attempts)", took, what, attempts)
        return result


def _reason(exc: BaseException) -> str:
    """The error's first line, without the ledger's "; retry" advice (retrying is over)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.removesuffix("; retry")
