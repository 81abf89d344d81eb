"""Value types of the settings: durations (``"500ms"``, ``"5m"``) and AMQP topic patterns."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

import pydantic
from pydantic import BeforeValidator

from bridge.errors import ConfigError
from bridge.redaction import SecretUrl

__all__ = ["Duration", "TopicPattern", "check_amqp_url", "check_database_url", "check_tls_files", "parse_duration"]

_DURATION = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}
_TOPIC_WORD = re.compile(r"^(?:\*|#|[A-Za-z0-9_-]+)$")


def parse_duration(text: str | float) -> float:
    """Seconds in a duration: ``"500ms"``, ``"5s"``, ``"5m"``, ``"1h"``, ``"7d"``, ``"2w"`` or plain
    seconds (``30``).

    Raises:
        ConfigError: the text is not a non-negative duration.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ConfigError(f"invalid duration {text!r}: must not be negative")
        return float(text)
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"invalid duration {text!r}: expected e.g. '500ms', '5s', '5m', '1h', '7d' or seconds")
    return float(match["num"]) * _UNIT_SECONDS[match["unit"]]


def _check_topic_pattern(pattern: str) -> str:
    if (
        not pattern
        or len(pattern.encode()) > 255
        or not all(_TOPIC_WORD.match(word) for word in pattern.split("."))
    ):
        raise ValueError(
            f"invalid topic pattern {pattern!r}: dot-separated words of [A-Za-z0-9_-], '*' (one word) or '#' (any words)"
        )
    return pattern


Duration = Annotated[float, BeforeValidator(parse_duration)]
TopicPattern = Annotated[str, pydantic.AfterValidator(_check_topic_pattern)]


# no "@" in this text: the redaction pass would take it for the end of a URL's password
_UNREADABLE_URL = (
    "is not a URL {reader} can read: check the port, and write the user and password percent-encoded"
    " (%2F for a slash, %40 for an at sign, %3A for a colon, %5B %5D for brackets)"
)


def _scheme_note(url: SecretUrl) -> str:
    """`` (scheme is 'X')`` for a URL; nothing for a value that is not one (it may be all secret)."""
    scheme, sep, _ = url.reveal().partition("://")
    return f" (scheme is {scheme!r})" if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,30}", scheme) else ""


def check_amqp_url(value: SecretUrl) -> SecretUrl:
    try:
        parts = urlsplit(value.reveal())
        _ = parts.port  # what pika reads; urllib's own messages may quote the password
    except ValueError:
        raise ValueError(_UNREADABLE_URL.format(reader="pika")) from None
    if "@" in parts.path:  # a raw "/" in the password: the rest of it became the vhost
        raise ValueError(_UNREADABLE_URL.format(reader="pika"))
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"must be an amqp:// or amqps:// URL{_scheme_note(value)}")
    return value


def check_database_url(value: SecretUrl) -> SecretUrl:
    if not re.match(r"^[a-z][a-z0-9+]*://", value.reveal()):
        raise ValueError(
            f"must be a SQLAlchemy URL such as sqlite:///bridge-ledger.sqlite{_scheme_note(value)}"
        )
    from sqlalchemy.engine import make_url  # only when a URL is given: a heavy import
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(value.reveal())
    except (ArgumentError, ValueError):  # its message quotes the whole URL
        raise ValueError(_UNREADABLE_URL.format(reader="SQLAlchemy")) from None
    if "@" in (parsed.host or ""):  # a raw "@" in the password: the rest of it became the host
        raise ValueError(_UNREADABLE_URL.format(reader="SQLAlchemy"))
    return value


def check_tls_files(settings: Any) -> None:
    """The TLS keys every ERP client takes (``verify``, ``ca_bundle``, ``client_cert``,
    ``client_key``) in agreement, each file readable.

    Raises:
        ValueError: naming the key (pydantic turns it into the setting's error).
    """
    for name in ("ca_bundle", "client_cert", "client_key"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise ValueError(f"{name}: {path} is not a readable file")
    if settings.client_key is not None and settings.client_cert is None:
        raise ValueError("client_key needs client_cert")
    if not settings.verify and settings.ca_bundle is not None:
        raise ValueError("verify: false and a ca_bundle contradict each other")
