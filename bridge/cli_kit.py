"""What every ``bridge`` command shares, for the bridge's own commands and those adapters bring
(``bridge idoc show`` comes with the SAP adapter): one-line errors with exit codes, warnings on
stderr, streamed output, the common options, one-shot logging (warnings only unless
``--verbose``), the documents among the files and folders a command is given, and the progress
counter and closing summary of a run over many files (stderr only: stdout stays the output)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import click

from bridge.errors import BridgeError, ConfigError, DecodeError
from bridge.redaction import redact

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CONFIG",
    "NOT_DOCUMENT_SUFFIXES",
    "SNIFF_BYTES",
    "DocumentFiles",
    "Progress",
    "config_option",
    "configure_one_shot_logging",
    "counted",
    "definitions_option",
    "document_files",
    "echo_chunks",
    "encoding_option",
    "fail",
    "is_verbose",
    "load_settings_logged",
    "reported",
    "stderr_is_terminal",
    "strict_option",
    "verbose_option",
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

strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Refuse (exit 1, naming each) files in a folder that are not documents, instead of skipping them.",
)

_ECHO_BUFFER = 1 << 16
_VERBOSE = "bridge.verbose"  # key in the root context's meta


# -- logging --------------------------------------------------------------------------------


def is_verbose() -> bool:
    """Whether ``--verbose`` was given (to ``bridge`` or to the command)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().meta.get(_VERBOSE))


def configure_one_shot_logging(settings_level: str | None = None) -> None:
    """Log a one-shot command for a person (``bridge: warning: ...`` on stderr): warnings and up,
    or as ``settings_level`` says when that is stricter; with ``--verbose`` INFO too (DEBUG when
    the settings say DEBUG)."""
    from bridge.observability.logging import configure_cli_logging

    named = logging.getLevelName(settings_level) if settings_level else logging.WARNING
    configured = named if isinstance(named, int) else logging.WARNING
    if is_verbose():
        level = logging.DEBUG if configured <= logging.DEBUG else logging.INFO
    else:
        level = max(logging.WARNING, configured)
    configure_cli_logging(level, stream=_LogStream())  # type: ignore[arg-type]


class _LogStream:
    """stderr as it is at each write, with a progress counter taken off the line first."""

    def write(self, text: str) -> int:
        if Progress.active is not None:
            Progress.active.clear()
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_root().meta[_VERBOSE] = True
        configure_one_shot_logging()
    return value


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_set_verbose,
    help="Also log what the command does (INFO lines on stderr); by default only warnings.",
)


def load_settings_logged(config_path: Path | None, *, service: bool = False) -> Any:
    """The settings (file, environment), with logging configured.

    Args:
        config_path: the configuration file (default ``$BRIDGE_CONFIG``, else built-in defaults).
        service: a long-running command (``bridge run``): log as the settings say (JSON lines
            at ``log_level`` by default). Otherwise a one-shot command: warnings only, for a
            person, unless ``--verbose`` (:func:`configure_one_shot_logging`).
    """
    from bridge.config import load_settings
    from bridge.observability.logging import configure_logging

    settings = load_settings(config_path)
    if service:
        configure_logging(settings.log_level, settings.log_format)
    else:
        configure_one_shot_logging(settings.log_level)
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


def counted(count: int, word: str) -> str:
    """``1 document``, ``12 documents``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


# -- documents among files and folders -----------------------------------------------------------

#: How much of a file in a folder is read to tell whether it is a document (the codecs sniff no more).
SNIFF_BYTES = 65536
#: Extensions of files that are never documents: in a folder they are skipped unread.
NOT_DOCUMENT_SUFFIXES = frozenset(
    {
        ".md", ".markdown", ".rst", ".adoc", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf",
        ".py", ".pyc", ".sh", ".bat", ".ps1", ".html", ".htm", ".css", ".js",
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".ico", ".pdf",
        ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods",
        ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".tar", ".rar",
        ".exe", ".dll", ".so", ".sqlite", ".sqlite3", ".db", ".log", ".lock", ".swp", ".bak", ".tmp",
    }
)  # fmt: skip


@dataclass
class DocumentFiles:
    """The documents among the paths a command was given.

    Attributes:
        files: the document files, in order (a folder's sorted by path).
        skipped: (file, reason) for each file in a folder that is not a document.
        folders: how many of the paths were folders.
    """

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    folders: int = 0


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _not_a_document(path: Path, sniff: Callable[[bytes], bool], reader: str) -> str | None:
    """Why ``path`` is not a document (its extension, or what its first bytes are), or None.

    Raises:
        DecodeError: the file cannot be read, or it is larger than the document size limit.
        ConfigError: ``BRIDGE_MAX_DOCUMENT_BYTES`` is not a positive integer.
    """
    from bridge.limits import max_document_bytes, too_large

    suffix = path.suffix.lower()
    if suffix in NOT_DOCUMENT_SUFFIXES:
        return f"a {suffix} file"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            return None  # a pipe or /dev/stdin: opened once, by the command, which reads it whole
        limit = max_document_bytes()
        if info.st_size > limit:  # what it is matters less than that it is refused unread
            raise too_large(info.st_size, limit, source=str(path))
        with path.open("rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise DecodeError("cannot read file: Is a directory", source=str(path)) from None
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from exc
    if not head.strip():
        return "an empty file" if not head else "only blanks"
    if not sniff(head):
        return f"not recognised by {reader}"
    return None


def document_files(
    paths: Sequence[Path],
    sniff: Callable[[bytes], bool],
    *,
    reader: str,
    strict: bool = False,
    check_named: bool = False,
) -> DocumentFiles:
    """The document files among ``paths`` (files and folders alike).

    A folder is read recursively (hidden files and folders left out); a file in it whose
    extension is in :data:`NOT_DOCUMENT_SUFFIXES`, that is empty, or whose first bytes ``sniff``
    (a codec's) does not recognise is skipped, or refused with ``strict``. A file in a folder
    that cannot be read is kept: the command reports it when it reads it. A file named itself is
    kept as it is, unless ``check_named``: then it must be readable, within the document size
    limit and a document.

    Args:
        paths: the files and folders given.
        sniff: whether a file's first :data:`SNIFF_BYTES` bytes look like a document.
        reader: what ``sniff`` stands for, named in the reasons ("the sap codec").
        strict: refuse the files in folders that are not documents.
        check_named: refuse a named file that cannot be read or is not a document.

    Raises:
        DecodeError: one line per refused file, naming it and why.
    """
    found = DocumentFiles()
    refused: list[str] = []
    for path in paths:
        if path.is_dir():
            found.folders += 1
            for file in sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path)):
                try:
                    reason = _not_a_document(file, sniff, reader)
                except DecodeError:
                    reason = None  # read again and reported by the command, in its turn
                if reason is None:
                    found.files.append(file)
                elif strict:
                    refused.append(f"{file}: not a document ({reason}); --strict refuses it")
                else:
                    found.skipped.append((file, reason))
            continue
        if check_named:
            reason = _not_a_document(path, sniff, reader)
            if reason is not None:
                refused.append(f"{path}: not a document ({reason})")
                continue
        found.files.append(path)
    if refused:
        raise DecodeError("\n".join(refused))
    return found


# -- progress ---------------------------------------------------------------------------------

#: A run's progress counter appears once the run has taken this long (seconds).
PROGRESS_AFTER_S = 0.5
#: The counter is redrawn at most this often (seconds).
_REDRAW_S = 0.1


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (a person watching), not a file or a pipe."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A one-line counter on stderr (``translate: 12/200 files (6%) NAME``) while a command works
    through many files, drawn only when stderr is a terminal and the run lasts
    :data:`PROGRESS_AFTER_S`; with the lines printed around it, so that none is drawn over.

    Args:
        verb: what the command does (``translate``, ``ingest``).
        total: how many files the run takes.
    """

    def __init__(self, verb: str, total: int) -> None:
        self.verb = verb
        self.total = total
        self.done = 0
        self._live = total > 1 and stderr_is_terminal()
        self._shares_terminal = self._live and _stdout_is_terminal()
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._width = 0

    #: The run whose counter is on the terminal now (log lines take it off first).
    active: ClassVar[Progress | None] = None

    def __enter__(self) -> Progress:
        Progress.active = self
        return self

    def __exit__(self, *_exc: object) -> None:
        self.clear()  # before an error is printed, or the summary of the caller
        Progress.active = None

    def advance(self, name: str = "", count: int = 1) -> None:
        """``count`` more files are done, the last one ``name``."""
        self.done += count
        if not self._live:
            return
        now = time.monotonic()
        if now - self._started < PROGRESS_AFTER_S or (now - self._drawn_at < _REDRAW_S and self.done < self.total):
            return
        self._drawn_at = now
        text = f"{self.verb}: {self.done}/{self.total} files ({self.done * 100 // self.total}%) {name}".rstrip()
        room = max(20, shutil.get_terminal_size().columns - 1)
        text = text[:room]
        click.echo("\r" + text.ljust(self._width), nl=False, err=True)
        self._width = len(text)

    def out(self, line: str) -> None:
        """A line of output on stdout (the counter cleared first when they share the terminal)."""
        if self._shares_terminal:
            self.clear()
        click.echo(line)

    def err(self, line: str) -> None:
        """A line on stderr (an error, a skipped file, the summary)."""
        self.clear()
        click.echo(line, err=True)

    def clear(self) -> None:
        """Take the counter off the terminal."""
        if self._width:
            click.echo("\r" + " " * self._width + "\r", nl=False, err=True)
            self._width = 0
