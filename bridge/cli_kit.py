"""What every ``bridge`` command shares, for the bridge's own commands and those adapters bring
(``bridge idoc show`` comes with the SAP adapter): one-line errors with exit codes, warnings on
stderr, streamed output and the common options."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from bridge.errors import BridgeError, ConfigError
from bridge.redaction import redact

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CONFIG",
    "config_option",
    "definitions_option",
    "echo_chunks",
    "encoding_option",
    "fail",
    "load_settings_logged",
    "reported",
    "warning_printer",
]

#: Exit codes: 1 a document could not be translated, 2 bad usage or configuration.
EXIT_BAD_INPUT = 1
EXIT_CONFIG = 2

encoding_option = click.option(
    "--encoding",
    default=None,
    help="Encoding of flat IDoc files: a Python codec (utf-8, gbk, latin-1, cp1252, big5, "
    "shift_jis) or a SAP code page number (4110, 8400, 8300, 8000, 1100, 1160); default UTF-8. "
    "IDoc-XML declares its own.",
)
definitions_option = click.option(
    "--definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Extra SAP WE60 'parser' definition file or folder (repeatable).",
)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Bridge configuration YAML (default $BRIDGE_CONFIG; built-in defaults without one).",
)

_ECHO_BUFFER = 1 << 16


def load_settings_logged(config_path: Path | None) -> Any:
    """The settings (file, environment), with logging configured as they say."""
    from bridge.config import load_settings
    from bridge.observability.logging import configure_logging

    settings = load_settings(config_path)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def fail(message: str, code: int) -> NoReturn:
    """Print ``bridge: error: ...`` (redacted, one line per line) and exit with ``code``."""
    for line in redact(str(message)).splitlines() or [""]:  # the last line of defence for secrets
        click.echo(f"bridge: error: {line}", err=True)
    sys.exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn bridge errors into one-line messages and exit codes, never tracebacks."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    except BridgeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def warning_printer(path: Path) -> Callable[[str], None]:
    """A callback printing ``bridge: warning: PATH: ...`` on stderr."""

    def warn(warning: str) -> None:
        click.echo(f"bridge: warning: {path}: {warning}", err=True)

    return warn


def echo_chunks(chunks: Iterator[str]) -> None:
    """Write text pieces to stdout in blocks of about 64 KiB, then a newline."""
    block: list[str] = []
    size = 0
    for chunk in chunks:
        block.append(chunk)
        size += len(chunk)
        if size >= _ECHO_BUFFER:
            click.echo("".join(block), nl=False)
            block.clear()
            size = 0
    click.echo("".join(block))
