"""AMQP topic matching, as RabbitMQ's topic exchange does it (``*`` one word, ``#`` any).

Used by the stub broker and by in-process delivery, which must pick the same routes for an
event as the canonical exchange's bindings would.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["topic_matches"]


@lru_cache(maxsize=4096)
def _match_words(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match_words(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match_words(rest, words[1:])


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether an AMQP topic ``pattern`` matches ``routing_key`` (``*`` one word, ``#`` any)."""
    return _match_words(
        tuple(pattern.split(".")) if pattern else (),
        tuple(routing_key.split(".")) if routing_key else (),
    )
