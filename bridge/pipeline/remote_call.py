"""One remote call made exactly once: its attempt recorded before it is made, a call in doubt
looked up at the target first, its acknowledgement recorded after (see
:mod:`bridge.pipeline.remote_deliver` for the events and their order around it).
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.adapter.sink import Acknowledgement, RemoteCall, RemoteSink
from bridge.errors import BridgeError, NotSentError, PermanentError, TransientError
from bridge.ledger.remote_calls import CallState, StartedCall
from bridge.redaction import redact

__all__ = ["CallMaker"]

log = logging.getLogger(__name__)


class CallMaker:
    """Makes a route's calls through its sink, each exactly once, by the ledger's records.

    Attributes:
        lease_s: how long another worker's attempt counts as alive (the sink's call timeout
            and some): a call in flight younger than that is not made, nor looked up.
    """

    def __init__(self, route: str, sink: RemoteSink, calls: Any, lease_s: float) -> None:
        self.route = route
        self.sink = sink
        self.calls = calls
        self.lease_s = lease_s

    def start(self, call: RemoteCall, message_id: str) -> StartedCall:
        return self.calls.start(
            self.route, call.key, message_id=message_id, operation=call.operation, lease_s=self.lease_s
        )

    def settle(
        self,
        call: RemoteCall,
        started: StartedCall,
        following: tuple[RemoteCall, str] | None,
        message_id: str,
        settled: dict[str, Acknowledgement],
    ) -> tuple[Acknowledgement, StartedCall | TransientError | None]:
        """Make ``call`` unless it is settled; record its acknowledgement together with the
        attempt of the ``following`` call ``(call, its event's message id)``: one ledger
        transaction between two calls. The following call's attempt, or the TransientError it
        met (another worker has it in flight), comes back with the acknowledgement."""
        then = (following[0].key, following[1], following[0].operation, self.lease_s) if following else None
        if started.state is CallState.DONE:
            assert started.acknowledgement is not None
            if following is None:
                return started.acknowledgement, None
            try:
                return started.acknowledgement, self.start(following[0], following[1])
            except TransientError as exc:
                return started.acknowledgement, exc
        try:
            acknowledgement = self._lookup(call) if started.state is CallState.IN_DOUBT else None
            if acknowledgement is not None:
                log.info("route %s: call %s was already posted (found by lookup)", self.route, call.key)
            else:
                earlier = {key: settled[key] if key in settled else self._earlier(key) for key in call.needs}
                acknowledgement = self.sink.send(call, earlier)
        except PermanentError as exc:
            self.calls.refused(self.route, call.key, redact(str(exc)))
            raise
        except NotSentError as exc:
            try:
                self.calls.unsent(self.route, call.key, redact(str(exc)))
            except BridgeError:
                self.unanswered(call, exc)
            raise
        except BaseException as exc:
            self.unanswered(call, exc)
            raise
        return acknowledgement, self.calls.settle(self.route, call.key, acknowledgement, then=then)

    def _lookup(self, call: RemoteCall) -> Acknowledgement | None:
        try:
            return self.sink.lookup(call)
        except NotSentError as exc:  # the *lookup* was not answered: the call itself stays in doubt
            raise TransientError(str(exc)) from None

    def unanswered(self, call: RemoteCall, exc: BaseException) -> None:
        try:
            self.calls.unanswered(self.route, call.key, redact(f"{type(exc).__name__}: {exc}"))
        except BridgeError as ledger_error:  # the lease then keeps others off until it ends
            log.warning("route %s: could not mark %s in doubt: %s", self.route, call.key, ledger_error)

    def _earlier(self, key: str) -> Acknowledgement:
        found = self.calls.acknowledgement(self.route, key)
        if found is None:
            raise PermanentError(f"route {self.route}: call {key} this one depends on was never settled")
        return found
