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

from adapters.sap.definitions import (
    DefinitionRegistry,
)
from adapters.sap.encodings import FlatEncoding, flat_encoding
from adapters.sap.errors import IDocError
from adapters.sap.flat_builder import MAX_WARNINGS, FlatIDoc, IDocBuilder
from adapters.sap.flat_control import read_control
from adapters.sap.flat_layout import (
    CONTROL_TAG,
    STATUS_TAG,
    V2_TAGS,
)
from adapters.sap.flat_records import LineEndError, bad_bytes_reason, iter_lines
from adapters.sap.model import IDoc

__all__ = ["MAX_WARNINGS", "FlatIDoc", "parse_idoc_flat", "read_controls_flat", "read_idocs_flat"]

_UTF8_BOM = b"\xef\xbb\xbf"
_CONTROL = CONTROL_TAG.encode()
_STATUS = STATUS_TAG.encode()
_V2 = tuple(tag.encode() for tag in V2_TAGS)


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
    builder: IDocBuilder | None = None
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
                builder = IDocBuilder(control, registry, source, idoc_type, declared)
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
