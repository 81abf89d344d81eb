"""Bytes of a flat IDoc file -> its lines, and a line's bytes -> text or fields.

Lines end in LF, CRLF or CR: the first line end of the file decides which, and a CR or LF
anywhere else inside a line is refused (mixed line ends would otherwise glue or split records
without a word). Lines are handed out one at a time as slices of the file's bytes, so no decoded
copy or line list of the whole file is ever held.

A UTF-8 or single-byte line is decoded whole (positions then count characters, which in a
single-byte code page are the bytes). A line of a multi-byte code page that holds non-ASCII bytes
is cut at the layout's byte offsets first and each piece decoded on its own: every piece decoding
strictly proves that every field boundary falls between two characters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from adapters.sap.encodings import FlatEncoding

__all__ = ["ByteLayout", "FieldBytesError", "LineEndError", "bad_bytes_reason", "iter_lines"]

_CR = b"\r"
_LF = b"\n"


class LineEndError(ValueError):
    """A CR or LF inside a line of a file whose line ends are another kind."""

    def __init__(self, line_no: int, offset: int, found: str, expected: str) -> None:
        self.line_no = line_no
        super().__init__(
            f"line {line_no}: {found} at byte {offset} inside the line, but the file's lines "
            f"end in {expected} (mixed line ends, or a line break inside a field?)"
        )


def iter_lines(data: bytes, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """``(line number, byte offset in data, line bytes without the line end)`` for each line.

    Raises:
        LineEndError: a CR or LF inside a line (the first line end sets the file's kind).
    """
    first_lf = data.find(_LF, start)
    first_cr = data.find(_CR, start, first_lf if first_lf >= 0 else len(data))
    cr_only = first_cr >= 0 and data[first_cr + 1 : first_cr + 2] != _LF
    sep, stray = (_CR, _LF) if cr_only else (_LF, _CR)
    expected = "CR" if cr_only else ("CRLF" if first_cr >= 0 else "LF")
    size = len(data)
    pos = start
    number = 0
    while pos < size:
        end = data.find(sep, pos)
        if end < 0:
            end = size
        line = data[pos:end]
        number += 1
        if not cr_only and line.endswith(_CR):
            line = line[:-1]
        if stray in line:
            found = "a carriage return (CR)" if stray == _CR else "a line feed (LF)"
            raise LineEndError(number, pos + line.index(stray), found, expected)
        yield number, pos, line
        pos = end + 1


def bad_bytes_reason(raw: bytes, position: int, encoding: FlatEncoding) -> str:
    """``invalid utf-8 sequence at bytes c5 e4 c0 ba`` plus a hint where to declare the encoding."""
    shown = raw[position : position + 4].hex(" ")
    hint = (
        "declare the file's encoding with --encoding or sources.<system>.encoding "
        "(e.g. gbk or SAP code page 8400)"
        if encoding.kind == "utf-8" and encoding.declared == "utf-8"
        else "is the declared encoding right?"
    )
    return f"invalid {encoding.label} sequence at bytes {shown}; {hint}"


class FieldBytesError(ValueError):
    """A piece of a line that does not decode: invalid bytes, or a field boundary (or the
    line's end) inside a multi-byte character.

    Attributes:
        position: byte offset (in the cut bytes) where the undecodable character starts.
        boundary: the offset of the field boundary the character straddles, or ``None`` when
            the bytes are simply invalid; equals the length of the cut bytes when the line
            ends inside the character.
    """

    def __init__(self, position: int, boundary: int | None) -> None:
        self.position = position
        self.boundary = boundary
        super().__init__(f"undecodable bytes at {position}")


class ByteLayout:
    """Named fields at byte offsets, cut and decoded piece by piece.

    Args:
        fields: ``(name, offset, length)`` in bytes; fields may leave gaps (decoded too, so a
            character cannot hide across a gap) and may overlap.
        total: the full record length; bytes past the last field up to it form a last piece.
    """

    __slots__ = ("bounds", "fields")

    def __init__(self, fields: Sequence[tuple[str, int, int]], total: int) -> None:
        cuts = sorted({0, total, *(o for _, o, _ in fields), *(o + n for _, o, n in fields)})
        self.bounds = tuple(cuts)
        self.fields = tuple(
            (name, offset, offset + length, tuple(b for b in cuts if offset <= b < offset + length))
            for name, offset, length in fields
        )

    def field_at(self, position: int) -> str | None:
        """The name of the (first) field covering byte ``position``."""
        for name, offset, end, _ in self.fields:
            if offset <= position < end:
                return name
        return None

    def cut(self, raw: bytes, codec: str) -> dict[str, str]:
        """The non-blank fields of ``raw``, right-trimmed.

        Raises:
            FieldBytesError: a piece that does not decode strictly.
        """
        size = len(raw)
        pieces: dict[int, str] = {}
        bounds = self.bounds
        for i in range(len(bounds) - 1):
            start = bounds[i]
            if start >= size:
                break
            end = min(bounds[i + 1], size)
            try:
                pieces[start] = raw[start:end].decode(codec)
            except UnicodeDecodeError as exc:
                raise _explain(raw, start, end, exc, codec) from None
        fields: dict[str, str] = {}
        for name, offset, _, starts in self.fields:
            if offset >= size:
                continue
            if len(starts) == 1:
                value = pieces[offset].rstrip()
            else:
                value = "".join(pieces[s] for s in starts if s < size).rstrip()
            if value:
                fields[name] = value
        return fields


def _explain(raw: bytes, start: int, end: int, exc: UnicodeDecodeError, codec: str) -> FieldBytesError:
    position = start + exc.start
    if exc.end < end - start:
        return FieldBytesError(position, None)  # invalid bytes inside the piece
    if end == len(raw):
        return FieldBytesError(position, end)  # the line ends inside a character
    for extra in (1, 2, 3):  # does the character complete past the boundary?
        try:
            raw[position : end + extra].decode(codec)
        except UnicodeDecodeError:
            continue
        return FieldBytesError(position, end)
    return FieldBytesError(position, None)
