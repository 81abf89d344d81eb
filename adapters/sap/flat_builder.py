"""Building one IDoc from a flat file's control line and data lines (see
:mod:`adapters.sap.flat_reader`): fields cut by the segment definitions, numbers checked, short
lines warned about, segments placed in the tree."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sap.definitions import (
    DefinitionRegistry,
    IDocTypeDefinition,
    SegmentDefinition,
    segment_type_from_definition,
)
from adapters.sap.encodings import FlatEncoding
from adapters.sap.errors import IDocError
from adapters.sap.flat_hierarchy import SegmentHierarchy
from adapters.sap.flat_layout import DATA_HEADER_LAYOUT, DATA_LENGTH, HEADER_LENGTH, RAW_SDATA, SDATA_REST
from adapters.sap.flat_records import ByteLayout, FieldBytesError, bad_bytes_reason
from adapters.sap.flat_sdata import RAW_LAYOUT, byte_layout, decode_sdata, field_ending_inside
from adapters.sap.model import IDoc, Segment
from bridge.errors import DecodeError

__all__ = ["MAX_WARNINGS", "FlatIDoc", "IDocBuilder"]

#: Warnings kept per IDoc; further ones are counted in a last "... and N more" line.
MAX_WARNINGS = 20
#: Short lines described in full in the one warning that lists the lines ending inside a field
#: (SAP's unpadded output has many: one line per IDoc says it, naming the first few).
SHORT_LINES_DETAILED = 3
#: Line numbers listed in that warning before "and N more".
SHORT_LINES_LISTED = 10

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


class IDocBuilder:
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
