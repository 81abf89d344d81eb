"""Flat (fixed-width) IDoc files, record type version 3: EDI_DC40 control + EDI_DD40 data lines.

Reading:

* each ``EDI_DC40``/``EDI_DC40_U`` line starts an IDoc; data lines up to the next control line
  belong to it; ``EDI_DS40`` status lines are skipped; LF or CRLF; short (unpadded) lines are
  padded; old record type version 2 (``EDI_DC``/``EDI_DD``) is rejected with a clear error;
* SEGNAM carries the segment *definition* (``E2AFKOL005``, possibly without its version suffix,
  possibly namespaced); SDATA is cut into fields by the definition's positions, right-trimmed,
  empty fields dropped. Nothing is silently lost: a segment the definitions do not know, or
  whose definition lists no fields (hierarchy only), keeps its raw SDATA (right-trimmed) under
  the field name ``SDATA`` (an unknown one gets a type guessed by
  :func:`~adapters.sap.definitions.segment_type_from_definition`), and non-blank data after the
  last field a partial definition knows is kept under ``SDATA_REST``;
* the parent of a segment is taken, in this order, from PSGNUM when it is present and
  consistent (it names an earlier segment, the definition's parent type matches when both
  segments are known, and the parent's HLEVEL is smaller), from the definition's parent type
  (nearest open segment of that type, else the latest segment of that type), from HLEVEL
  (nearest open segment with a smaller level), else the segment is top level. PSGNUM is
  checked because tool-made files carry wrong ones. An unknown segment with neither a usable
  PSGNUM nor HLEVEL therefore lands at top level.

Writing numbers segments from 1, sets PSGNUM to the parent's SEGNUM (``000000`` at top level),
HLEVEL to the definition's LEVEL (else one more than the parent's), copies MANDT/DOCNUM from the
control record, writes SEGNAM as read (else the type's definition name), places ``SDATA`` and
``SDATA_REST`` back where they came from and pads lines to full length unless ``pad=False``.
Control fields outside the EDI_DC40 layout (e.g. DMC's ``CUSTOMED_EXT_DOC_TYPE``) have no
column and are not written.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sap.definitions import (
    DefinitionRegistry,
    IDocTypeDefinition,
    SegmentDefinition,
    segment_type_from_definition,
)
from adapters.sap.model import IDoc, Segment
from bridge.errors import DecodeError, DefinitionError

__all__ = [
    "CONTROL_LAYOUT",
    "CONTROL_LENGTH",
    "DATA_LENGTH",
    "RAW_SDATA",
    "SDATA_REST",
    "parse_idoc_flat",
    "write_idoc_flat",
]

CONTROL_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("TABNAM", 0, 10),
    ("MANDT", 10, 3),
    ("DOCNUM", 13, 16),
    ("DOCREL", 29, 4),
    ("STATUS", 33, 2),
    ("DIRECT", 35, 1),
    ("OUTMOD", 36, 1),
    ("EXPRSS", 37, 1),
    ("TEST", 38, 1),
    ("IDOCTYP", 39, 30),
    ("CIMTYP", 69, 30),
    ("MESTYP", 99, 30),
    ("MESCOD", 129, 3),
    ("MESFCT", 132, 3),
    ("STD", 135, 1),
    ("STDVRS", 136, 6),
    ("STDMES", 142, 6),
    ("SNDPOR", 148, 10),
    ("SNDPRT", 158, 2),
    ("SNDPFC", 160, 2),
    ("SNDPRN", 162, 10),
    ("SNDSAD", 172, 21),
    ("SNDLAD", 193, 70),
    ("RCVPOR", 263, 10),
    ("RCVPRT", 273, 2),
    ("RCVPFC", 275, 2),
    ("RCVPRN", 277, 10),
    ("RCVSAD", 287, 21),
    ("RCVLAD", 308, 70),
    ("CREDAT", 378, 8),
    ("CRETIM", 386, 6),
    ("REFINT", 392, 14),
    ("REFGRP", 406, 14),
    ("REFMES", 420, 14),
    ("ARCKEY", 434, 70),
    ("SERIAL", 504, 20),
)
"""EDI_DC40 fields as (name, 0-based offset, length)."""

CONTROL_LENGTH = 524
HEADER_LENGTH = 63
SDATA_LENGTH = 1000
DATA_LENGTH = HEADER_LENGTH + SDATA_LENGTH
RAW_SDATA = "SDATA"
"""Field name under which a segment without field layout keeps its raw SDATA."""
SDATA_REST = "SDATA_REST"
"""Field name for non-blank SDATA after the last field a (partial) definition knows."""

_CONTROL_TAG = "EDI_DC40"
_STATUS_TAG = "EDI_DS40"
_V2_TAGS = ("EDI_DC", "EDI_DD", "EDI_DS")


# --------------------------------------------------------------------------------------------
# Reading


def _decode_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # non-Unicode SAP file ports write Latin-1/cp1252


def _number(raw: str, width: int, name: str, line_no: int, source: str | None, segment: str) -> int | None:
    """A SEGNUM/PSGNUM/HLEVEL value: ``None`` when blank, else ``width`` digits."""
    if not raw or raw.isspace():
        return None
    if len(raw) != width or not raw.isdigit():
        raise DecodeError(
            f"line {line_no}: {name} {raw!r} is not a number (truncated or shifted record?)",
            source=source,
            segment=segment,
        )
    return int(raw)


@dataclass(slots=True)
class _Node:
    segment: Segment
    definition: SegmentDefinition | None
    hlevel: int | None
    parent: _Node | None


def _decode_sdata(definition: SegmentDefinition, sdata: str) -> dict[str, str]:
    """Cut SDATA into the definition's fields; keep what no field covers rather than lose it."""
    if not definition.fields:  # a hierarchy-only definition
        raw = sdata.rstrip()
        return {RAW_SDATA: raw} if raw else {}
    fields: dict[str, str] = {}
    for fdef in definition.fields:
        value = sdata[fdef.offset : fdef.offset + fdef.length].rstrip()
        if value:
            fields[fdef.name] = value
    rest = sdata[definition.sdata_length :].rstrip()
    if rest:
        fields[SDATA_REST] = rest
    return fields


class _IDocBuilder:
    """Builds one IDoc from its control line and data lines."""

    def __init__(
        self,
        control: dict[str, str],
        registry: DefinitionRegistry,
        source: str | None,
        fallback_type: str | None,
    ) -> None:
        self.source = source
        self.docnum = control.get("DOCNUM")
        idoc_type = control.get("IDOCTYP") or fallback_type or ""
        extension = control.get("CIMTYP") or None
        self.idoc = IDoc(control=control, idoc_type=idoc_type, extension=extension)
        self.types: IDocTypeDefinition = registry.resolve(
            idoc_type or None, extension, source=source, document_id=self.docnum
        )
        self.count = 0
        self.last: _Node | None = None
        self.by_segnum: dict[int, _Node] = {}
        self.latest_of_type: dict[str, _Node] = {}

    def add(self, line: str, line_no: int) -> None:
        segnam = line[:30].rstrip()
        if not segnam:
            raise DecodeError(
                f"line {line_no}: data record without SEGNAM", source=self.source, document_id=self.docnum
            )
        docnum = line[33:49].strip()
        if docnum and self.docnum and docnum != self.docnum:
            raise DecodeError(
                f"line {line_no}: data record DOCNUM {docnum} does not match the control "
                f"record's DOCNUM {self.docnum}",
                source=self.source,
                document_id=self.docnum,
                segment=segnam,
            )
        if len(line) > DATA_LENGTH and not line[DATA_LENGTH:].isspace():
            raise DecodeError(
                f"line {line_no}: data record is {len(line)} characters, longer than {DATA_LENGTH}",
                source=self.source,
                document_id=self.docnum,
                segment=segnam,
            )
        self.count += 1
        label = f"{segnam} (line {line_no})"
        segnum = _number(line[49:55], 6, "SEGNUM", line_no, self.source, label)
        psgnum = _number(line[55:61], 6, "PSGNUM", line_no, self.source, label)
        hlevel = _number(line[61:63], 2, "HLEVEL", line_no, self.source, label)
        sdata = line[HEADER_LENGTH:DATA_LENGTH]
        definition = self.types.lookup(segnam)
        if definition is not None:
            segment = Segment(
                definition.segment_type,
                _decode_sdata(definition, sdata),
                definition=segnam,
                segnum=segnum or self.count,
            )
            if hlevel is None:
                hlevel = definition.level
        else:
            raw = sdata.rstrip()
            segment = Segment(
                segment_type_from_definition(segnam),
                {RAW_SDATA: raw} if raw else None,
                definition=segnam,
                segnum=segnum or self.count,
            )
        parent = self._parent(definition, segment.segment_type, segnum, psgnum, hlevel)
        (parent.segment if parent else self.idoc.root).add_child(segment)
        node = _Node(segment, definition, hlevel, parent)
        self.by_segnum[segnum or self.count] = node
        self.latest_of_type[segment.segment_type] = node
        self.last = node

    def _parent(
        self,
        definition: SegmentDefinition | None,
        segment_type: str,
        segnum: int | None,
        psgnum: int | None,
        hlevel: int | None,
    ) -> _Node | None:
        if psgnum is not None:
            ok, parent = self._psgnum_parent(definition, segnum, psgnum, hlevel)
            if ok:
                return parent
        if definition is not None:
            if definition.parent_type is None:
                return None
            node = self.last
            while node is not None and node.segment.segment_type != definition.parent_type:
                node = node.parent
            # not among the open segments (a guessed placement came between): the latest one
            node = node or self.latest_of_type.get(definition.parent_type)
            if node is not None:
                return node
        if hlevel is not None:
            node = self.last
            while node is not None and (node.hlevel is None or node.hlevel >= hlevel):
                node = node.parent
            return node
        return None

    def _psgnum_parent(
        self, definition: SegmentDefinition | None, segnum: int | None, psgnum: int, hlevel: int | None
    ) -> tuple[bool, _Node | None]:
        """``(True, parent)`` when PSGNUM can be trusted, else ``(False, None)``."""
        if psgnum == 0:
            return (definition is None or definition.parent_type is None), None
        if segnum is not None and psgnum >= segnum:
            return False, None
        parent = self.by_segnum.get(psgnum)
        if parent is None:
            return False, None
        if (
            definition is not None
            and parent.definition is not None
            and definition.parent_type != parent.segment.segment_type
        ):
            return False, None
        if hlevel is not None and parent.hlevel is not None and parent.hlevel >= hlevel:
            return False, None
        return True, parent


def _control(line: str) -> dict[str, str]:
    control: dict[str, str] = {}
    for name, offset, length in CONTROL_LAYOUT:
        value = line[offset : offset + length].rstrip()
        if value:
            control[name] = value
    return control


def parse_idoc_flat(
    data: bytes | str,
    registry: DefinitionRegistry,
    *,
    source: str | None = None,
    idoc_type: str | None = None,
) -> list[IDoc]:
    """Parse a flat IDoc file (one or more IDocs) into IDoc trees.

    Args:
        data: the file content (UTF-8, else read as Latin-1).
        registry: where segment definitions come from.
        source: file name or message id, for error messages.
        idoc_type: basic type to use when a control record has no IDOCTYP.

    Raises:
        DecodeError: not a version-3 flat IDoc, or a malformed record (names line and segment).
        DefinitionError: no definition is known for an IDoc's type.
    """
    text = _decode_text(data)
    idocs: list[IDoc] = []
    builder: _IDocBuilder | None = None
    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith(_CONTROL_TAG):
            builder = _IDocBuilder(_control(line), registry, source, idoc_type)
            idocs.append(builder.idoc)
        elif line.startswith(_STATUS_TAG):
            continue
        elif line[:10].rstrip() in _V2_TAGS:
            raise DecodeError(
                f"line {line_no}: {line[:10].rstrip()} is IDoc record type version 2 "
                "(SAP R/3 3.x); only record type version 3 (EDI_DC40/EDI_DD40) is supported",
                source=source,
            )
        elif builder is None:
            raise DecodeError(
                f"line {line_no}: data record before any EDI_DC40 control record (not a flat IDoc file?)",
                source=source,
            )
        else:
            builder.add(line, line_no)
    if not idocs:
        raise DecodeError("no EDI_DC40 control record found: not a flat IDoc file", source=source)
    return idocs


# --------------------------------------------------------------------------------------------
# Writing


def _fit(value: str, length: int, what: str, *, segment: str | None, docnum: str | None) -> str:
    if len(value) > length:
        raise DecodeError(
            f"{what} value {value!r} is {len(value)} characters, longer than its {length}",
            document_id=docnum,
            segment=segment,
        )
    if "\n" in value or "\r" in value:
        raise DecodeError(
            f"{what} value {value!r} contains a line break", document_id=docnum, segment=segment
        )
    return value


class _IDocWriter:
    """Writes one IDoc as flat lines."""

    def __init__(self, idoc: IDoc, registry: DefinitionRegistry, pad: bool, strict: bool) -> None:
        self.idoc = idoc
        self.pad = pad
        self.strict = strict
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
        control.setdefault("TABNAM", _CONTROL_TAG)
        if self.idoc.idoc_type:
            control.setdefault("IDOCTYP", self.idoc.idoc_type)
        if self.idoc.extension:
            control.setdefault("CIMTYP", self.idoc.extension)
        buf = [" "] * CONTROL_LENGTH
        for name, offset, length in CONTROL_LAYOUT:
            value = control.get(name)
            if value:
                _fit(value, length, f"control field {name}", segment="EDI_DC40", docnum=self.docnum)
                buf[offset : offset + len(value)] = value
        line = "".join(buf)
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
        _fit(segnam, 30, "SEGNAM", segment=label, docnum=self.docnum)
        level = parent_level + 1
        if definition is not None and definition.level is not None:
            level = definition.level
        if level > 99 or segnum > 999999:
            raise DecodeError(
                f"SEGNUM {segnum} / HLEVEL {level} do not fit the record",
                document_id=self.docnum,
                segment=label,
            )
        line = f"{segnam:<30}{header}{segnum:06d}{psgnum:06d}{level:02d}{sdata}"
        self.lines.append(line.ljust(DATA_LENGTH) if self.pad else line.rstrip())
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
        return _fit(
            fields.get(RAW_SDATA, ""), SDATA_LENGTH, f"field {RAW_SDATA}", segment=label, docnum=self.docnum
        )

    def _sdata(self, definition: SegmentDefinition, fields: dict[str, str], label: str) -> str:
        end = definition.sdata_length
        buf = [" "] * end
        for name, value in fields.items():
            if name == SDATA_REST:
                buf.extend(
                    _fit(value, SDATA_LENGTH - end, f"field {name}", segment=label, docnum=self.docnum)
                )
                continue
            fdef = definition.field(name)
            if fdef is None:
                if self.strict:
                    raise DecodeError(
                        f"field {name} is not in segment definition {definition.definition}",
                        document_id=self.docnum,
                        segment=label,
                    )
                continue
            _fit(value, fdef.length, f"field {name}", segment=label, docnum=self.docnum)
            buf[fdef.offset : fdef.offset + len(value)] = value
        return "".join(buf)


def write_idoc_flat(
    idocs: list[IDoc],
    registry: DefinitionRegistry,
    *,
    line_ending: str = "\n",
    pad: bool = True,
    strict: bool = False,
) -> str:
    """Write IDocs as one flat file (record type version 3).

    Args:
        idocs: the IDocs, written one after the other.
        registry: where segment definitions (SEGNAM, field positions, LEVEL) come from.
        line_ending: ``"\\n"`` or ``"\\r\\n"``; every line, the last included, ends with it.
        pad: right-pad control lines to 524 and data lines to 1063 characters; when False,
            trailing blanks are stripped as SAP's file port does.
        strict: raise on segment fields the definition does not know instead of dropping them.

    Raises:
        DecodeError: a value longer than its field, or a value with a line break (names the
            segment and field).
        DefinitionError: a segment with named fields has no definition.
    """
    lines: list[str] = []
    for idoc in idocs:
        lines.extend(_IDocWriter(idoc, registry, pad, strict).write())
    return "".join(line + line_ending for line in lines)
