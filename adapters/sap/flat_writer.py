"""Writing flat IDoc files (record type version 3).

Writing numbers segments from 1, sets PSGNUM to the parent's SEGNUM (``000000`` at top level),
HLEVEL to the definition's LEVEL (else one more than the parent's), copies MANDT/DOCNUM from the
control record, writes SEGNAM as read (else the type's definition name), places ``SDATA`` and
``SDATA_REST`` back where they came from and pads lines to full length unless ``pad=False``.
Control fields outside the EDI_DC40 layout (e.g. DMC's ``CUSTOMED_EXT_DOC_TYPE``) have no
column and are not written.

In a multi-byte code page (``encoding="gbk"``...) positions and lengths count bytes, as the
reader's do: the text returned is laid out so that, encoded in that code page, every field sits
at its byte columns (a Chinese character takes two). Encode it with the same encoding.
"""

from __future__ import annotations

from adapters.sap.definitions import DefinitionRegistry, IDocTypeDefinition, SegmentDefinition
from adapters.sap.encodings import FlatEncoding, flat_encoding
from adapters.sap.errors import DefinitionError, IDocError
from adapters.sap.flat_layout import (
    CONTROL_LAYOUT,
    CONTROL_LENGTH,
    CONTROL_TAG,
    DATA_LENGTH,
    RAW_SDATA,
    SDATA_LENGTH,
    SDATA_REST,
)
from adapters.sap.model import IDoc, Segment

__all__ = ["write_idoc_flat"]


class _Columns:
    """Measures and places values in columns: characters, or bytes of a multi-byte code page."""

    def __init__(self, encoding: FlatEncoding) -> None:
        self.encoding = encoding
        self.bytewise = encoding.kind == "multi-byte"
        self.check = encoding.kind != "utf-8"  # can every character be written?

    def fit(
        self, value: str, length: int, what: str, *, segment: str | None, docnum: str | None
    ) -> bytes | str:
        """The value as placed (``bytes`` in a multi-byte code page), checked to fit ``length``."""
        placed: bytes | str = value
        if self.check:
            try:
                encoded = value.encode(self.encoding.codec)
            except UnicodeEncodeError as exc:
                raise IDocError(
                    f"{what} value {value!r}: character {exc.object[exc.start]!r} cannot be "
                    f"written in {self.encoding.label}",
                    document_id=docnum,
                    segment=segment,
                ) from None
            if self.bytewise:
                placed = encoded
        if len(placed) > length:
            unit = f"bytes in {self.encoding.label}" if self.bytewise else "characters"
            raise IDocError(
                f"{what} value {value!r} is {len(placed)} {unit}, longer than its {length}",
                document_id=docnum,
                segment=segment,
            )
        if "\n" in value or "\r" in value:
            raise IDocError(
                f"{what} value {value!r} contains a line break", document_id=docnum, segment=segment
            )
        return placed

    def blank(self, size: int) -> list[str] | bytearray:
        return bytearray(b" " * size) if self.bytewise else [" "] * size

    def text(self, buf: list[str] | bytearray) -> str:
        if isinstance(buf, bytearray):
            return buf.decode(self.encoding.codec)
        return "".join(buf)

    def pad(self, line: str, length: int) -> str:
        """``line`` right-padded with blanks to ``length`` columns."""
        if self.bytewise:
            length -= len(line.encode(self.encoding.codec)) - len(line)
        return line.ljust(length)


class _IDocWriter:
    """Writes one IDoc as flat lines."""

    def __init__(
        self, idoc: IDoc, registry: DefinitionRegistry, pad: bool, strict: bool, columns: _Columns
    ) -> None:
        self.idoc = idoc
        self.pad = pad
        self.strict = strict
        self.columns = columns
        self.docnum = idoc.control.get("DOCNUM")
        self.lines: list[str] = []
        self.counter = 0
        try:
            self.types: IDocTypeDefinition | None = registry.resolve(
                idoc.idoc_type or None, idoc.extension, document_id=self.docnum
            )
        except DefinitionError:
            self.types = None  # fine as long as every segment is raw SDATA
        self.type_names = (idoc.idoc_type, idoc.extension)

    def control_line(self) -> str:
        control = dict(self.idoc.control)
        control.setdefault("TABNAM", CONTROL_TAG)
        if self.idoc.idoc_type:
            control.setdefault("IDOCTYP", self.idoc.idoc_type)
        if self.idoc.extension:
            control.setdefault("CIMTYP", self.idoc.extension)
        buf = self.columns.blank(CONTROL_LENGTH)
        for name, offset, length in CONTROL_LAYOUT:
            value = control.get(name)
            if value:
                placed = self.columns.fit(
                    value, length, f"control field {name}", segment="EDI_DC40", docnum=self.docnum
                )
                buf[offset : offset + len(placed)] = placed  # type: ignore[assignment]
        line = self.columns.text(buf)
        return line if self.pad else line.rstrip()

    def write(self) -> list[str]:
        self.lines.append(self.control_line())
        mandt = self.idoc.control.get("MANDT", "")
        header = f"{mandt:<3}{self.docnum or '':<16}"  # lengths checked by control_line()
        stack: list[tuple[Segment, int, int]] = [(seg, 0, 0) for seg in reversed(self.idoc.segments)]
        while stack:
            segment, psgnum, parent_level = stack.pop()
            self.counter += 1
            segnum = self.counter
            level = self._segment_line(segment, header, segnum, psgnum, parent_level)
            stack.extend((child, segnum, level) for child in reversed(segment.children))
        return self.lines

    def _definition(self, segment: Segment) -> SegmentDefinition | None:
        if self.types is None:
            return None
        if segment.definition:
            found = self.types.lookup(segment.definition)
            if found is not None:
                return found
        return self.types.by_type.get(segment.segment_type)

    def _segment_line(
        self, segment: Segment, header: str, segnum: int, psgnum: int, parent_level: int
    ) -> int:
        label = segment.label()
        definition = self._definition(segment)
        fields = segment.fields()
        if definition is not None and definition.fields and set(fields) != {RAW_SDATA}:
            sdata = self._sdata(definition, fields, label)
        else:
            sdata = self._raw_sdata(definition, segment, fields, label)
        segnam = segment.definition or (definition.definition if definition else segment.segment_type)
        self.columns.fit(segnam, 30, "SEGNAM", segment=label, docnum=self.docnum)
        if self.columns.bytewise and not (segnam + header).isascii():
            raise IDocError(
                f"SEGNAM/MANDT/DOCNUM {segnam!r}/{header!r}: the data record header must be ASCII "
                f"in {self.columns.encoding.label}",
                document_id=self.docnum,
                segment=label,
            )
        level = parent_level + 1
        if definition is not None and definition.level is not None:
            level = definition.level
        if level > 99 or segnum > 999999:
            raise IDocError(
                f"SEGNUM {segnum} / HLEVEL {level} do not fit the record",
                document_id=self.docnum,
                segment=label,
            )
        line = f"{segnam:<30}{header}{segnum:06d}{psgnum:06d}{level:02d}{sdata}"
        self.lines.append(self.columns.pad(line, DATA_LENGTH) if self.pad else line.rstrip())
        return level

    def _raw_sdata(
        self, definition: SegmentDefinition | None, segment: Segment, fields: dict[str, str], label: str
    ) -> str:
        """SDATA of a segment without field layout: its raw ``SDATA`` field, nothing else."""
        named = [name for name in fields if name != RAW_SDATA]
        if named:
            idoc_type, extension = self.type_names
            what = (
                f"segment definition {definition.definition} has no field layout"
                if definition
                else f"no segment definition for {segment.segment_type} in IDoc type "
                f"{idoc_type or '?'}{f' / {extension}' if extension else ''}"
            )
            raise DefinitionError(
                f"{what}, so fields {', '.join(named[:5])} have no positions; give the "
                "WE60 parser export with --definitions PATH",
                document_id=self.docnum,
                segment=label,
            )
        value = fields.get(RAW_SDATA, "")
        self.columns.fit(value, SDATA_LENGTH, f"field {RAW_SDATA}", segment=label, docnum=self.docnum)
        return value

    def _sdata(self, definition: SegmentDefinition, fields: dict[str, str], label: str) -> str:
        end = definition.sdata_length
        buf = self.columns.blank(end)
        for name, value in fields.items():
            if name == SDATA_REST:
                placed = self.columns.fit(
                    value, SDATA_LENGTH - end, f"field {name}", segment=label, docnum=self.docnum
                )
                buf.extend(placed)  # type: ignore[arg-type]
                continue
            fdef = definition.field(name)
            if fdef is None:
                if self.strict:
                    raise IDocError(
                        f"field {name} is not in segment definition {definition.definition}",
                        document_id=self.docnum,
                        segment=label,
                    )
                continue
            placed = self.columns.fit(value, fdef.length, f"field {name}", segment=label, docnum=self.docnum)
            buf[fdef.offset : fdef.offset + len(placed)] = placed  # type: ignore[assignment]
        return self.columns.text(buf)


def write_idoc_flat(
    idocs: list[IDoc],
    registry: DefinitionRegistry,
    *,
    line_ending: str = "\n",
    pad: bool = True,
    strict: bool = False,
    encoding: str | int | None = None,
) -> str:
    """Write IDocs as one flat file (record type version 3).

    Args:
        idocs: the IDocs, written one after the other.
        registry: where segment definitions (SEGNAM, field positions, LEVEL) come from.
        line_ending: ``"\\n"`` or ``"\\r\\n"``; every line, the last included, ends with it.
        pad: right-pad control lines to 524 and data lines to 1063 columns; when False,
            trailing blanks are stripped as SAP's file port does.
        strict: raise on segment fields the definition does not know instead of dropping them.
        encoding: the encoding the text will be written in (Python codec or SAP code page
            number; default UTF-8): in a multi-byte code page columns count bytes, and every
            value must be representable in it. Encode the result with the same encoding.

    Raises:
        ConfigError: an unknown encoding, or one that cannot carry a flat IDoc.
        DecodeError: a value longer than its field, a value with a line break, or a character
            the encoding cannot write (names the segment and field).
        DefinitionError: a segment with named fields has no definition.
    """
    columns = _Columns(flat_encoding(encoding))
    lines: list[str] = []
    for idoc in idocs:
        lines.extend(_IDocWriter(idoc, registry, pad, strict, columns).write())
    return "".join(line + line_ending for line in lines)
