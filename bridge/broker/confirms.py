"""What a confirmed publish raises when the broker did not take every message of a batch.

Both errors are :class:`~bridge.errors.TransientError` (publishing again may succeed) and say
which messages were not confirmed, so a caller can publish exactly those again (same message
ids: consumers are idempotent)::

    PublishError       a nack, a lost channel or connection, no confirm in time
    └── UnroutableError  mandatory messages the broker returned: no queue is bound for them
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bridge.broker.messages import OutMessage
from bridge.errors import TransientError

__all__ = ["PublishError", "UnroutableError"]

#: How many exchange/routing key pairs an unroutable error names before it counts the rest.
NAMED_ROUTES = 10


class PublishError(TransientError):
    """Some messages of a publish were not confirmed by the broker.

    Attributes:
        unconfirmed: the messages to publish again, in publish order (every message of the
            batch when it is not known which ones the broker confirmed).
    """

    def __init__(self, message: str, unconfirmed: Sequence[OutMessage] = ()) -> None:
        super().__init__(message)
        self.unconfirmed = tuple(unconfirmed)


class UnroutableError(PublishError):
    """The broker returned mandatory messages: no queue is bound for their routing keys.

    The text names every distinct ``exchange/routing key`` returned (the first
    :data:`NAMED_ROUTES`, then how many more).

    Attributes:
        returned: message id -> ``(exchange, routing key)`` of each returned message.
        reply_text: the broker's reason (``NO_ROUTE``).
        reported: set once the condition was logged, so that callers log the repeats quietly.
    """

    def __init__(
        self,
        returned: Mapping[str, tuple[str, str]],
        unconfirmed: Sequence[OutMessage] = (),
        *,
        reply_text: str = "NO_ROUTE",
    ) -> None:
        self.returned = dict(returned)
        self.reply_text = reply_text
        self.reported = False
        super().__init__(self._describe(), unconfirmed)

    @property
    def routes(self) -> list[tuple[str, str]]:
        """The distinct ``(exchange, routing key)`` pairs returned, in the order first returned."""
        return list(dict.fromkeys(self.returned.values()))

    def only(self, message_id: str) -> UnroutableError:
        """The same error for one of the returned messages (naming its own routing key)."""
        single = UnroutableError(
            {message_id: self.returned[message_id]},
            [m for m in self.unconfirmed if m.message_id == message_id],
            reply_text=self.reply_text,
        )
        single.reported = self.reported
        return single

    def _describe(self) -> str:
        routes = self.routes
        named = ", ".join(f"{exchange}/{key}" for exchange, key in routes[:NAMED_ROUTES])
        more = f" and {len(routes) - NAMED_ROUTES} more" if len(routes) > NAMED_ROUTES else ""
        count = len(self.returned)
        returned = f"; {count} messages returned" if count > 1 else ""
        return f"unroutable: no queue is bound for {named}{more} ({self.reply_text}{returned})"
