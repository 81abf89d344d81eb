"""A snapshot file (what the MES held at a moment) read as Records, streamed.

Two formats: ``csv`` (a header row naming the columns, then one record per row; quoted fields
may span lines) and ``jsonl`` (one JSON object per line, fields found by dotted paths). The
format is given or taken from the suffix (``.csv``; ``.jsonl``, ``.ndjson``).

The file is strict UTF-8 (a byte order mark at its start is accepted), at most ``max_bytes``
(checked with ``stat`` before anything is read, and again while reading, for a file that
grows), with lines of at most ``max_line_bytes``. Blank lines are skipped. A line that cannot be
read is a ConfigError naming the file, the line number and what is wrong, never a traceback;
records come out in file order (the engine sorts them), each with ``file:line`` as its ref.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

from bridge.errors import ConfigError, shown
from bridge.reconcile.layout import Getter, Layout, RowError, build_records
from bridge.reconcile.records import Record

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_SNAPSHOT_BYTES",
    "Format",
    "read_snapshot",
]

Format = Literal["csv", "jsonl"]

#: A snapshot of a few million records is a few hundred MB; reading is streamed, so the
#: limit bounds the time and disk a job may take, not its memory.
DEFAULT_MAX_SNAPSHOT_BYTES = 4 * 1024**3
DEFAULT_MAX_LINE_BYTES = 1024**2

_SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BOM = b"\xef\xbb\xbf"


def read_snapshot(
    path: str | Path,
    layout: Layout,
    *,
    format: Format | None = None,
    max_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    delimiter: str = ",",
) -> Iterator[Record]:
    """The records of the snapshot at ``path``, read lazily in file order.

    Raises:
        ConfigError: at once, when the file is missing, larger than ``max_bytes`` or of an
            unknown format; while iterating, for a line that is not UTF-8, not CSV/JSON, or
            does not fit ``layout`` (names the file and line).
    """
    file = Path(path)
    kind = format or _SUFFIXES.get(file.suffix.lower())
    if kind not in ("csv", "jsonl"):
        raise ConfigError(f"{file}: unknown snapshot format {format or file.suffix!r} (csv or jsonl)")
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the snapshot: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise ConfigError(f"{file}: the snapshot is {size} bytes, more than the limit of {max_bytes}")
    lines = _Lines(file, max_bytes, max_line_bytes)
    return _csv_records(lines, layout, delimiter) if kind == "csv" else _json_records(lines, layout)


class _Lines:
    """The file's lines as text, numbered, strict UTF-8, within the limits."""

    def __init__(self, file: Path, max_bytes: int, max_line_bytes: int) -> None:
        self.file = file
        self.max_bytes = max_bytes
        self.max_line = max_line_bytes
        self.number = 0  # of the line last read

    def error(self, what: str, line: int | None = None) -> ConfigError:
        return ConfigError(f"{self.file}: line {self.number if line is None else line}: {what}")

    def __iter__(self) -> Iterator[str]:
        try:
            stream = self.file.open("rb")
        except OSError as exc:
            raise ConfigError(f"{self.file}: cannot read the snapshot: {exc.strerror or exc}") from None
        with stream:
            yield from self._read(stream)

    def _read(self, stream: BinaryIO) -> Iterator[str]:
        total = 0
        limit = self.max_line + 2  # room for the line end
        while raw := stream.readline(limit):
            self.number += 1
            total += len(raw)
            if total > self.max_bytes:
                raise self.error(f"the snapshot grew past the limit of {self.max_bytes} bytes")
            if len(raw) == limit and not raw.endswith(b"\n"):
                raise self.error(f"the line is longer than {self.max_line} bytes")
            if self.number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.error(
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
                ) from None


def _json_records(lines: _Lines, layout: Layout) -> Iterator[Record]:
    build = build_records(layout, _path_getter)
    name = lines.file.name
    decode = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant).decode
    for text in lines:
        if not text.strip():
            continue
        try:
            row = decode(text)
        except ValueError as exc:
            raise lines.error(f"not JSON: {getattr(exc, 'msg', exc)}") from None
        if not isinstance(row, dict):
            raise lines.error(f"a line must hold a JSON object, not {shown(text.strip(), 40)}")
        try:
            yield build(row, f"{name}:{lines.number}")
        except RowError as exc:
            raise lines.error(str(exc)) from None


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number a quantity can be")


def _path_getter(path: str) -> Getter:
    parts = path.split(".")
    if len(parts) == 1:
        return lambda row: row.get(path)

    def slowly(row: Any) -> Any:
        node = row
        for depth, part in enumerate(parts):
            if not isinstance(node, dict):
                raise RowError(f"{'.'.join(parts[:depth])} is not an object (reading {path})")
            node = node.get(part)
            if node is None:
                return None
        return node

    def get(row: Any) -> Any:
        node = row
        try:
            for part in parts:
                node = node[part]
        except (KeyError, TypeError, IndexError):  # absent, null or not an object on the way
            return slowly(row)
        return node

    return get


def _csv_records(lines: _Lines, layout: Layout, delimiter: str) -> Iterator[Record]:
    rows = csv.reader(_ended(lines), delimiter=delimiter, strict=True)
    name = lines.file.name
    try:
        header = next(rows, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(rows, None)
        if header is None:
            return
        index = _columns(lines, [cell.strip() for cell in header], layout)
        build = build_records(layout, lambda column: _cell(index[column]))
        width = len(header)
        first = lines.number + 1
        for row in rows:
            if row and (len(row) != 1 or row[0].strip()):
                if len(row) != width:
                    raise lines.error(f"{len(row)} fields, the header has {width}", first)
                try:
                    yield build(row, f"{name}:{first}")
                except RowError as exc:
                    raise lines.error(str(exc), first) from None
            first = lines.number + 1
    except csv.Error as exc:
        raise lines.error(f"not CSV: {exc}") from None


def _ended(lines: _Lines) -> Iterator[str]:
    # csv needs a line end on every line, including a last line without one
    for text in lines:
        yield text if text.endswith("\n") else text + "\n"


def _columns(lines: _Lines, header: list[str], layout: Layout) -> dict[str, int]:
    index: dict[str, int] = {}
    for at, column in enumerate(header):
        if column in index:
            raise lines.error(f"the header names column {column} twice")
        index[column] = at
    unknown = [column for column in layout.columns() if column not in index]
    if unknown:
        raise lines.error(
            f"the header has no column {', '.join(unknown)} (it has {', '.join(map(shown, header))})"
        )
    return index


def _cell(at: int) -> Callable[[list[str]], str]:
    return lambda row: row[at]
