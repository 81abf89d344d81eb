"""The size limit on documents from outside, checked before their bytes are read.

One limit for every way a document enters the bridge (``bridge translate``, ``bridge idoc show``,
``bridge ingest``, mapping test cases, broker messages reaching a codec): env
``BRIDGE_MAX_DOCUMENT_BYTES`` when set, else :data:`DEFAULT_MAX_BYTES` (50 MiB).

A regular file is measured with ``stat`` and refused unread when too large; anything else (a
pipe, ``/dev/stdin``, a file that grows while it is read) is read at most one byte past the
limit, so a refused document never costs more memory than the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from bridge.errors import ConfigError, DecodeError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "check_size",
    "max_document_bytes",
    "read_document",
    "read_stream",
    "too_large",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_BYTES_ENV = "BRIDGE_MAX_DOCUMENT_BYTES"


def max_document_bytes() -> int:
    """The size limit: env ``BRIDGE_MAX_DOCUMENT_BYTES`` when set, else 50 MiB.

    Raises:
        ConfigError: the environment variable is not a positive integer.
    """
    raw = os.environ.get(MAX_BYTES_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise ConfigError(f"{MAX_BYTES_ENV} must be a positive number of bytes, got {shown!r}")
    return value


def too_large(size: int | None, limit: int, *, source: str | None = None) -> DecodeError:
    """The error for a document above the limit (``size`` None: more than the limit was read)."""
    what = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    return DecodeError(
        f"document is {what}, larger than the limit of {limit} bytes (raise it with {MAX_BYTES_ENV})",
        source=source,
    )


def check_size(data: bytes | str, max_bytes: int | None = None, *, source: str | None = None) -> None:
    """Refuse a document larger than ``max_bytes`` (default: :func:`max_document_bytes`).

    Raises:
        DecodeError: the document is too large.
    """
    limit = max_document_bytes() if max_bytes is None else max_bytes
    if len(data) > limit:
        raise too_large(len(data), limit, source=source)


def _read_upto(stream: BinaryIO, count: int) -> bytes:
    """Up to ``count`` bytes: fewer only at the end of the stream (short reads are read on)."""
    chunks: list[bytes] = []
    left = count
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_stream(stream: BinaryIO, max_bytes: int | None = None, *, source: str | None = None) -> bytes:
    """Read a stream to its end, but never more than one byte past the limit.

    Raises:
        DecodeError: the stream holds more than the limit.
    """
    limit = max_document_bytes() if max_bytes is None else max_bytes
    data = _read_upto(stream, limit + 1)
    if len(data) > limit:
        raise too_large(None, limit, source=source)
    return data


def read_document(path: Path, max_bytes: int | None = None) -> bytes:
    """A document file's bytes; a file above the limit is refused before it is read.

    A regular file is measured first (a 500 MB file costs nothing to refuse) and read in one
    piece; a pipe, FIFO or ``/dev/stdin`` is read at most one byte past the limit.

    Raises:
        DecodeError: the file is missing, unreadable or larger than the limit (one line naming
            the file, its size, the limit and :data:`MAX_BYTES_ENV`).
        ConfigError: ``BRIDGE_MAX_DOCUMENT_BYTES`` is not a positive integer.
    """
    limit = max_document_bytes() if max_bytes is None else max_bytes
    source = str(path)
    try:
        with path.open("rb", buffering=0) as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise DecodeError("cannot read file: Is a directory", source=source)
            if not stat.S_ISREG(info.st_mode):
                return read_stream(stream, limit, source=source)  # pipe, FIFO, /dev/stdin, ...
            if info.st_size > limit:
                raise too_large(info.st_size, limit, source=source)
            data = _read_upto(stream, info.st_size + 1)  # one byte more: did it grow?
            if len(data) > info.st_size:  # it grew after the stat: read on, still bounded
                data += _read_upto(stream, limit + 1 - len(data))
                if len(data) > limit:
                    raise too_large(None, limit, source=source)
            return data
    except IsADirectoryError:
        raise DecodeError("cannot read file: Is a directory", source=source) from None
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}", source=source) from exc
