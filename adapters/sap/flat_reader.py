"""Reading flat IDoc files (record type version 3: EDI_DC40 control + EDI_DD40 data lines).

* Each ``EDI_DC40``/``EDI_DC40_U`` line starts an IDoc; data lines up to the next control line
  belong to it; ``EDI_DS40`` status lines are skipped; old record type version 2
  (``EDI_DC``/``EDI_DD``) is rejected with a clear error. Lines end in LF, CRLF or CR (the
  file's first line end decides; see :mod:`adapters.sap.flat_records`).
* Encoding: UTF-8 (a BOM allowed) unless another is declared (``encoding``: a Python codec or a
  SAP code page number, :mod:`adapters.sap.encodings`). Decoding is strict: the first invalid
  byte sequence is a DecodeError naming the line, the byte offset and the bytes. Field
  positions count characters in UTF-8 and bytes in a single- or double-byte code page (a GBK
  Chinese character takes two columns); there each field is cut from the line's bytes and
  decoded alone, and a field boundary inside a double-byte character is a DecodeError naming
  line, segment and field. The control record and the 63-column data header are ASCII.
* The control record must be complete by the rule of :mod:`adapters.sap.flat_control`.
* An explicit ``idoc_type`` decides the definitions used, whatever IDOCTYP says (files from EDI
  tools carry junk there); without one, IDOCTYP does.
* SEGNAM carries the segment *definition* (``E2AFKOL005``, possibly without its version suffix,
  possibly namespaced); SDATA is cut into fields by the definition's positions, right-trimmed,
  empty fields dropped. Nothing is silently lost: a segment the definitions do not know, or
  whose definition lists no fields (hierarchy only), keeps its raw SDATA (right-trimmed) under
  the field name ``SDATA`` (an unknown one gets a type guessed by
  :func:`~adapters.sap.definitions.segment_type_from_definition`), and non-blank data after the
  last field a partial definition knows is kept under ``SDATA_REST``.
* Short lines are padded: SAP strips trailing blanks. A data line that ends inside a field (or
  header field; in SAP's stripped lines, always a non-blank one) is read as it is, with a
  warning naming the line and the field, since a line cut there would look the same (a line
  ending exactly between two fields cannot be told from SAP's output with the rest blank). SAP's
  unpadded files have many such lines, so they are said in ONE warning per IDoc that lists the
  lines and describes the first few (one line alone gets the single-line wording). A
  data line without the DOCNUM of its control record is read with a warning too: SAP writes
  it in every record, and a line break inside a record splits it so. At most
  :data:`MAX_WARNINGS` warnings per IDoc are worded. SEGNUM, PSGNUM and HLEVEL are ASCII digits
  of their full width, or blank.
* Segments are placed in the tree by :mod:`adapters.sap.flat_hierarchy` (PSGNUM when it can be
  trusted, else the definition, else HLEVEL).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sap.definitions import (
    DefinitionRegistry,
    IDocTypeDefinition,
    SegmentDefinition,
    segment_type_from_definition,
)
from adapters.sap.encodings import FlatEncoding, flat_encoding
from adapters.sap.errors import IDocError
from adapters.sap.flat_control import read_control
from adapters.sap.flat_hierarchy import SegmentHierarchy
from adapters.sap.flat_layout import (
    CONTROL_TAG,
    DATA_HEADER_LAYOUT,
    DATA_LENGTH,
    HEADER_LENGTH,
    RAW_SDATA,
    SDATA_REST,
    STATUS_TAG,
    V2_TAGS,
)
from adapters.sap.flat_records import ByteLayout, FieldBytesError, LineEndError, bad_bytes_reason, iter_lines
from adapters.sap.flat_sdata import RAW_LAYOUT, byte_layout, decode_sdata, field_ending_inside
from adapters.sap.model import IDoc, Segment
from bridge.errors import DecodeError

__all__ = ["MAX_WARNINGS", "FlatIDoc", "parse_idoc_flat", "read_controls_flat", "read_idocs_flat"]

#: Warnings kept per IDoc; further ones are counted in a last "... and N more" line.
MAX_WARNINGS = 20
#: Short lines described in full in the one warning that lists the lines ending inside a field
#: (SAP's unpadded output has many: one line per IDoc says it, naming the first few).
SHORT_LINES_DETAILED = 3
#: Line numbers listed in that warning before "and N more".
SHORT_LINES_LISTED = 10

_UTF8_BOM = b"\xef\xbb\xbf"
_CONTROL = CONTROL_TAG.encode()
_STATUS = STATUS_TAG.encode()
_V2 = tuple(tag.encode() for tag in V2_TAGS)
_SHORT_HEADER = DATA_HEADER_LAYOUT[:3]  # SEGNAM, MANDT, DOCNUM; the numbers are checked


@dataclass(frozen=True, slots=True)
class FlatIDoc:
    """One IDoc read from a flat file, with what the reader warns about.

    Attributes:
        idoc: the IDoc tree.
        warnings: ``line N: ...`` texts (short lines ending inside a field), bounded.
    """

    idoc: IDoc
    warnings: tuple[str, ...] = ()


def _number(raw: str, width: int) -> int | None:
    """A SEGNUM/PSGNUM/HLEVEL value: ``None`` when blank, else ``width`` ASCII digits.

    Raises:
        ValueError: anything else (superscripts and other Unicode digits included).
    """
    if not raw or raw.isspace():
        return None
    if len(raw) != width or not (raw.isascii() and raw.isdigit()):
        raise ValueError(raw)
    return int(raw)


class _IDocBuilder:
    """Builds one IDoc from its control line and data lines."""

    def __init__(
        self,
        control: dict[str, str],
        registry: DefinitionRegistry,
        source: str | None,
        explicit_type: str | None,
        encoding: FlatEncoding,
    ) -> None:
        self.source = source
        self.encoding = encoding
        self.docnum = control.get("DOCNUM")
        idoc_type = explicit_type or control.get("IDOCTYP") or ""
        extension = control.get("CIMTYP") or None
        self.idoc = IDoc(control=control, idoc_type=idoc_type, extension=extension)
        self.types: IDocTypeDefinition = registry.resolve(
            idoc_type or None, extension, source=source, document_id=self.docnum
        )
        self.count = 0
        self.hierarchy = SegmentHierarchy(self.idoc.root)
        self.layouts: dict[str, ByteLayout] = {}
        self.warnings: list[str] = []
        self.warning_count = 0
        self.short_lines: list[int] = []  # at most SHORT_LINES_LISTED kept
        self.short_line_count = 0
        self.short_details: list[str] = []

    def counted(self) -> bool:
        """Count one warning; True while it is still to be worded (under :data:`MAX_WARNINGS`)."""
        self.warning_count += 1
        return self.warning_count <= MAX_WARNINGS

    def warn_ends_inside(
        self, line_no: int, segnam: str, column: int, where: str, first: int, length: int
    ) -> None:
        """Note a line ending inside a field; :meth:`result` words all of them as one warning."""
        self.short_line_count += 1
        if len(self.short_lines) < SHORT_LINES_LISTED:
            self.short_lines.append(line_no)
        if len(self.short_details) < SHORT_LINES_DETAILED:
            self.short_details.append(
                f"line {line_no}: {segnam} ends at column {column}, inside {where} (columns "
                f"{first}-{first + length - 1})"
            )

    def _short_lines_warning(self) -> str | None:
        count = self.short_line_count
        if count == 0:
            return None
        if count == 1:
            return f"{self.short_details[0]}: read as it is, but a line cut there would look the same"
        listed = ", ".join(str(n) for n in self.short_lines)
        more = f" and {count - len(self.short_lines)} more" if count > len(self.short_lines) else ""
        return (
            f"lines {listed}{more} ({count} in all) end inside a field, as SAP's unpadded lines do: "
            f"read as they are, but a line cut there would look the same ({'; '.join(self.short_details)}"
            f"{'; ...' if count > len(self.short_details) else ''})"
        )

    def result(self) -> FlatIDoc:
        short = self._short_lines_warning()
        warnings = [short, *self.warnings] if short else self.warnings
        if self.warning_count > MAX_WARNINGS:
            warnings = [*warnings, f"... and {self.warning_count - MAX_WARNINGS} more warnings"]
        return FlatIDoc(self.idoc, tuple(warnings))

    def fail(self, reason: str, segment: str | None = None) -> DecodeError:
        return IDocError(reason, source=self.source, document_id=self.docnum, segment=segment)

    def add(self, line: str | bytes, line_no: int, offset: int) -> None:
        """One data line: ``str`` when decoded whole, ``bytes`` for a multi-byte code page line
        holding non-ASCII bytes (its fields are then cut at byte offsets)."""
        header = self._header(line, line_no, offset)
        segnam = header[:30].rstrip()
        if not segnam:
            raise self.fail(f"line {line_no}: data record without SEGNAM")
        docnum = header[33:49].strip()
        if docnum and self.docnum and docnum != self.docnum:
            raise self.fail(
                f"line {line_no}: data record DOCNUM {docnum} does not match the control "
                f"record's DOCNUM {self.docnum}",
                segnam,
            )
        if not docnum and self.docnum and self.counted():  # SAP writes it in every record
            self.warnings.append(
                f"line {line_no}: {segnam} has no DOCNUM, though the control record's is "
                f"{self.docnum}: a line break inside a record?"
            )
        if len(line) > DATA_LENGTH and not line[DATA_LENGTH:].isspace():
            unit = "bytes" if isinstance(line, bytes) else "characters"
            raise self.fail(
                f"line {line_no}: data record is {len(line)} {unit}, longer than {DATA_LENGTH}", segnam
            )
        self.count += 1
        label = f"{segnam} (line {line_no})"
        numbers = header[49:63]
        if len(numbers) == 14 and numbers.isascii() and numbers.isdigit():  # the usual case
            segnum, psgnum, hlevel = int(numbers[:6]), int(numbers[6:12]), int(numbers[12:])
        else:
            segnum = self._number(header, 49, 6, "SEGNUM", line_no, label)
            psgnum = self._number(header, 55, 6, "PSGNUM", line_no, label)
            hlevel = self._number(header, 61, 2, "HLEVEL", line_no, label)
            if len(line) < HEADER_LENGTH:
                self._check_short_header(header, line_no, segnam)
        definition = self.types.lookup(segnam)
        segment = self._segment(definition, segnam, line[HEADER_LENGTH:DATA_LENGTH], line_no, offset, label)
        segment.segnum = segnum or self.count
        if hlevel is None and definition is not None:
            hlevel = definition.level
        self.hierarchy.place(segment, definition, segnum, psgnum, hlevel)

    def _header(self, line: str | bytes, line_no: int, offset: int) -> str:
        if not isinstance(line, bytes):
            return line[:HEADER_LENGTH]
        head = line[:HEADER_LENGTH]
        if not head.isascii():
            at = next(i for i, byte in enumerate(head) if byte > 0x7F)
            raise self.fail(
                f"line {line_no}, byte {at + 1} (file offset {offset + at}): non-ASCII bytes "
                f"{line[at : at + 4].hex(' ')} in the data record header (SEGNAM to HLEVEL are "
                "ASCII in every encoding)"
            )
        return head.decode("ascii")

    def _segment(
        self,
        definition: SegmentDefinition | None,
        segnam: str,
        sdata: str | bytes,
        line_no: int,
        offset: int,
        label: str,
    ) -> Segment:
        """The segment of one line's SDATA (warning when the line ends inside a field)."""
        if definition is None:
            if isinstance(sdata, bytes):
                fields = self._cut_bytes(None, sdata, line_no, offset, label)
            else:
                raw = sdata.rstrip()
                fields = {RAW_SDATA: raw} if raw else {}
            return Segment(segment_type_from_definition(segnam), fields, definition=segnam)
        if isinstance(sdata, bytes):
            fields = self._cut_bytes(definition, sdata, line_no, offset, label)
            ends_inside = field_ending_inside(definition, sdata)
        else:
            fields, ends_inside = decode_sdata(definition, sdata)
        if ends_inside is not None:
            first = HEADER_LENGTH + ends_inside.offset + 1
            where = f"field {ends_inside.name}"
            column = HEADER_LENGTH + len(sdata)
            self.warn_ends_inside(line_no, segnam, column, where, first, ends_inside.length)
        return Segment(definition.segment_type, fields, definition=segnam)

    def _number(
        self, header: str, offset: int, width: int, name: str, line_no: int, label: str
    ) -> int | None:
        raw = header[offset : offset + width]
        try:
            return _number(raw, width)
        except ValueError:
            raise self.fail(
                f"line {line_no}: {name} {raw!r} is not a number of {width} ASCII digits "
                "(truncated or shifted record?)",
                label,
            ) from None

    def _check_short_header(self, header: str, line_no: int, segnam: str) -> None:
        end = len(header)
        for name, offset, length in _SHORT_HEADER:
            if offset < end < offset + length:
                self.warn_ends_inside(line_no, segnam, end, f"header field {name}", offset + 1, length)

    def _cut_bytes(
        self, definition: SegmentDefinition | None, sdata: bytes, line_no: int, offset: int, label: str
    ) -> dict[str, str]:
        layout = RAW_LAYOUT
        if definition is not None:
            layout = self.layouts.get(definition.definition) or self.layouts.setdefault(
                definition.definition, byte_layout(definition)
            )
        try:
            return layout.cut(sdata, self.encoding.codec)
        except FieldBytesError as exc:
            field = layout.field_at(exc.position) or RAW_SDATA
            column = HEADER_LENGTH + exc.position + 1
            where = f"line {line_no}, byte {column} (file offset {offset + column - 1}), field {field}"
            if exc.boundary is None:
                reason = bad_bytes_reason(sdata, exc.position, self.encoding)
            elif exc.boundary == len(sdata):
                reason = f"the line ends inside a multi-byte {self.encoding.label} character (cut short?)"
            else:
                after = layout.field_at(exc.boundary) or SDATA_REST
                reason = (
                    f"the field boundary before {after} (column {HEADER_LENGTH + exc.boundary + 1}) "
                    f"falls inside a double-byte {self.encoding.label} character: the definition's "
                    f"positions do not fit this file, or it is not {self.encoding.label}"
                )
            raise self.fail(f"{where}: {reason}", label) from None

def _as_bytes(data: bytes | str, encoding: FlatEncoding, source: str | None) -> tuple[bytes, int]:
    """The file's bytes and where its first line starts (after a UTF-8 BOM)."""
    if isinstance(data, str):
        try:
            return data.removeprefix("\ufeff").encode(encoding.codec), 0
        except UnicodeEncodeError as exc:
            raise IDocError(
                f"character {exc.object[exc.start]!r} at position {exc.start} cannot be written "
                f"in {encoding.label}",
                source=source,
            ) from None
    if data.startswith(_UTF8_BOM):
        if encoding.kind != "utf-8":
            raise IDocError(
                f"the file starts with a UTF-8 byte order mark, but its encoding is declared as "
                f"{encoding.label}",
                source=source,
            )
        return data, len(_UTF8_BOM)
    return data, 0


def _decoded(
    raw: bytes, line_no: int, offset: int, encoding: FlatEncoding, source: str | None, docnum: str | None
) -> str | bytes:
    """A line as text, or as bytes when a multi-byte code page line holds non-ASCII bytes."""
    if encoding.kind == "multi-byte":
        return raw.decode("ascii") if raw.isascii() else raw
    try:
        return raw.decode(encoding.codec)
    except UnicodeDecodeError as exc:
        segnam = raw[:30].decode("ascii", "replace").rstrip() if not raw.startswith(_CONTROL) else "EDI_DC40"
        raise IDocError(
            f"line {line_no}, byte {exc.start + 1} (file offset {offset + exc.start}): "
            f"{bad_bytes_reason(raw, exc.start, encoding)}",
            source=source,
            document_id=docnum,
            segment=f"{segnam} (line {line_no})" if segnam else None,
        ) from None


def read_idocs_flat(
    data: bytes | str,
    registry: DefinitionRegistry,
    *,
    source: str | None = None,
    idoc_type: str | None = None,
    encoding: str | int | None = None,
) -> list[FlatIDoc]:
    """Read a flat IDoc file (one or more IDocs) into IDoc trees with their warnings.

    Args:
        data: the file content (``str`` is taken as the decoded text of a file in ``encoding``).
        registry: where segment definitions come from.
        source: file name or message id, for error messages.
        idoc_type: the basic type whose definitions decode every IDoc, whatever the control
            record's IDOCTYP says; IDOCTYP decides when not given.
        encoding: the file's encoding, a Python codec name or a SAP code page number
            (default UTF-8).

    Raises:
        ConfigError: an unknown encoding, or one that cannot carry a flat IDoc (UTF-16...).
        DecodeError: not a version-3 flat IDoc, bytes invalid in the encoding, a truncated
            control record, or a malformed record (names line, byte offset, segment, field).
        DefinitionError: no definition is known for an IDoc's type.
    """
    declared = flat_encoding(encoding)
    raw_data, start = _as_bytes(data, declared, source)
    done: list[FlatIDoc] = []
    builder: _IDocBuilder | None = None
    lines = iter_lines(raw_data, start)
    try:
        for line_no, offset, raw in lines:
            if not raw or raw.isspace():
                continue
            if raw.startswith(_CONTROL):
                if builder is not None:
                    done.append(builder.result())
                line = _decoded(raw, line_no, offset, declared, source, None)
                control = read_control(line, line_no, declared, source=source)
                builder = _IDocBuilder(control, registry, source, idoc_type, declared)
            elif raw.startswith(_STATUS):
                continue
            elif raw[:10].rstrip() in _V2:
                raise IDocError(
                    f"line {line_no}: {raw[:10].rstrip().decode()} is IDoc record type version 2 "
                    "(SAP R/3 3.x); only record type version 3 (EDI_DC40/EDI_DD40) is supported",
                    source=source,
                )
            elif builder is None:
                raise IDocError(
                    f"line {line_no}: data record before any EDI_DC40 control record (not a flat IDoc file?)",
                    source=source,
                )
            else:
                builder.add(_decoded(raw, line_no, offset, declared, source, builder.docnum), line_no, offset)
    except LineEndError as exc:
        raise IDocError(str(exc), source=source, document_id=builder.docnum if builder else None) from None
    if builder is None:
        raise IDocError("no EDI_DC40 control record found: not a flat IDoc file", source=source)
    done.append(builder.result())
    return done


def parse_idoc_flat(
    data: bytes | str,
    registry: DefinitionRegistry,
    *,
    source: str | None = None,
    idoc_type: str | None = None,
    encoding: str | int | None = None,
) -> list[IDoc]:
    """Parse a flat IDoc file into IDoc trees (warnings dropped: see :func:`read_idocs_flat`).

    Raises:
        ConfigError: an unknown or unusable encoding.
        DecodeError: not a version-3 flat IDoc, or a malformed record (names line and segment).
        DefinitionError: no definition is known for an IDoc's type.
    """
    return [
        read.idoc
        for read in read_idocs_flat(data, registry, source=source, idoc_type=idoc_type, encoding=encoding)
    ]


def read_controls_flat(
    data: bytes, *, source: str | None = None, encoding: str | int | None = None
) -> list[dict[str, str]]:
    """The control record of each IDoc in a flat file, without reading its data records.

    Raises:
        ConfigError: an unknown or unusable encoding.
        DecodeError: no control record, or one that is cut short or not in the encoding.
    """
    declared = flat_encoding(encoding)
    raw_data, start = _as_bytes(data, declared, source)
    controls: list[dict[str, str]] = []
    try:
        for line_no, offset, raw in iter_lines(raw_data, start):
            if raw.startswith(_CONTROL):
                line = _decoded(raw, line_no, offset, declared, source, None)
                controls.append(read_control(line, line_no, declared, source=source))
    except LineEndError as exc:
        raise IDocError(str(exc), source=source) from None
    if not controls:
        raise IDocError("no EDI_DC40 control record found: not a flat IDoc file", source=source)
    return controls
