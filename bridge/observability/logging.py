"""Structured logs: one JSON object per line (or text), with the current message's context.

Wrap the handling of one message in :func:`log_context` and every line logged inside it, in any
module, carries ``message_id``, ``correlation_id``, ``stage`` and so on::

    with log_context(message_id=msg.id, correlation_id=msg.correlation_id, stage="deliver"):
        log.info("delivered")   # {"ts": ..., "level": "INFO", ..., "message_id": "...", ...}

Every part of a rendered line (message, each field, exception text) goes through
:func:`bridge.redaction.redact_data`, so passwords never reach a log: :class:`~bridge.redaction.Secret`
values show masked, fields named like secrets (``password``, ``token``...) become ``***`` and
every text is redacted by pattern. Parts are redacted one by one, so a URL password is masked
only up to the end of its own field. pika's own errors while (re)connecting are shown at DEBUG
only (:class:`PikaConnectionNoise`): the bridge reports a connection failure itself, in one line.

``bridge run`` logs as its settings say (:func:`configure_logging`: JSON lines by default); the
one-shot commands (``bridge ingest``, ``bridge dlq replay``...) log for the person at the
terminal (:func:`configure_cli_logging`): ``bridge: warning: ...`` lines, warnings and up only
unless ``--verbose``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from bridge.errors import ConfigError
from bridge.redaction import redact, redact_data

__all__ = [
    "QUIET_LOGGERS",
    "CliFormatter",
    "ContextFilter",
    "JsonFormatter",
    "PikaConnectionNoise",
    "TextFormatter",
    "configure_cli_logging",
    "configure_logging",
    "current_context",
    "log_context",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("bridge_log_context", default=_EMPTY)
_BASE_KEYS = ("ts", "level", "logger", "msg")
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged too.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "bridge_context",
}
#: Libraries whose INFO chatter is kept out of the bridge's logs (they log WARNING and up).
QUIET_LOGGERS = ("pika", "httpx", "httpcore")  # httpx logs every request (URL and query) at INFO
#: pika modules that only ever log about opening, losing or closing the connection.
_PIKA_CONNECTION_MODULES = frozenset(
    {
        "pika.adapters.utils.connection_workflow",
        "pika.adapters.utils.io_services_utils",
        "pika.adapters.base_connection",
        "pika.adapters.select_connection",
    }
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` to every log line inside the block (nested blocks add to it; None drops)."""
    merged = {**_context.get(), **fields}
    token = _context.set(MappingProxyType({key: value for key, value in merged.items() if value is not None}))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    """The fields bound by the enclosing :func:`log_context` blocks."""
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Attaches the current log context to each record (as ``record.bridge_context``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "bridge_context"):
            record.bridge_context = dict(_context.get())
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """Context fields, then ``extra=`` fields, without the keys the formatter owns."""
    fields = dict(getattr(record, "bridge_context", None) or _context.get())
    fields.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRS)
    return {key: value for key, value in fields.items() if key not in _BASE_KEYS}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _redacted_text(value: object) -> str:
    """An object that is not JSON data, as redacted text."""
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO UTC), level, logger, msg, context, ``exc`` text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(redact_data(entry), default=_redacted_text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts LEVEL logger: msg key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        shown = redact_data(_fields(record))
        fields = " ".join(
            f"{key}={value if isinstance(value, str) else _redacted_text(value)}" for key, value in shown.items()
        )
        line = f"{_timestamp(record)} {record.levelname:<8} {record.name}: {redact(record.getMessage())}"
        if fields:
            line += f" [{fields}]"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + redact(self.formatStack(record.stack_info))
        return line


class CliFormatter(logging.Formatter):
    """``bridge: warning: msg [key=value ...]``: a one-shot command's log line, as its errors look."""

    def format(self, record: logging.LogRecord) -> str:
        shown = redact_data(_fields(record))
        line = f"bridge: {record.levelname.lower()}: {redact(record.getMessage())}"
        if shown:
            line += " [" + " ".join(
                f"{key}={value if isinstance(value, str) else _redacted_text(value)}" for key, value in shown.items()
            ) + "]"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class _CurrentStderr:
    """``sys.stderr`` as it is at each write: a command's handler outlives a test runner's swap."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class PikaConnectionNoise(logging.Filter):
    """Shows pika's warnings and errors about the connection at DEBUG (or drops them above DEBUG).

    When the broker is down, pika logs half a dozen ERROR lines and a traceback per attempt
    before the bridge's own one line (``cannot connect to RabbitMQ at host:port: ...``, an error
    for a command, a WARNING per attempt while ``bridge run`` reconnects). A record counts as
    connection noise when it comes from one of pika's connection modules, mentions the
    connection, or carries a connection error (``AMQPConnectionError``, ``OSError``).

    Args:
        level: the level the bridge logs at; demoted records are kept only when it is DEBUG.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and _is_pika_connection_noise(record):
            if self.level > logging.DEBUG:
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _is_pika_connection_noise(record: logging.LogRecord) -> bool:
    if not record.name.startswith("pika."):
        return False
    if record.name in _PIKA_CONNECTION_MODULES:
        return True
    if isinstance(record.msg, str) and "connection" in record.msg.lower():
        return True
    error = record.exc_info[1] if record.exc_info else None
    # by name: importing pika here would load it into every process that logs
    return isinstance(error, OSError) or any(
        cls.__name__ == "AMQPConnectionError" for cls in type(error).__mro__
    )


def configure_logging(
    level: str | int = "INFO", fmt: str = "json", stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger to ``stream`` (stderr) in ``fmt`` (json or text) at ``level``.

    Calling it again replaces the handler it installed before; other handlers stay.

    Raises:
        ConfigError: unknown level or format.
    """
    formatters: dict[str, type[logging.Formatter]] = {
        "json": JsonFormatter,
        "text": TextFormatter,
        "cli": CliFormatter,  # one-shot commands (configure_cli_logging), not a log_format setting
    }
    if fmt not in formatters:
        raise ConfigError(f"log_format = {fmt!r}: must be json or text")
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(numeric, int):
        raise ConfigError(f"log_level = {level!r}: must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "bridge_handler", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.bridge_handler = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.addFilter(PikaConnectionNoise(numeric))
    handler.setFormatter(formatters[fmt]())
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)
    return handler


def configure_cli_logging(level: str | int = logging.WARNING, stream: TextIO | None = None) -> logging.Handler:
    """Log a one-shot command's lines for a person: ``bridge: warning: ...`` on stderr at ``level``.

    The handler writes to ``stream``, by default to whatever ``sys.stderr`` is when a line is
    logged, and replaces the handler :func:`configure_logging` installed before (as that does).

    Raises:
        ConfigError: unknown level.
    """
    return configure_logging(level, "cli", stream=stream or _CurrentStderr())  # type: ignore[arg-type]
