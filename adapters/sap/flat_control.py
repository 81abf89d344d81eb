"""The control record (EDI_DC40) of a flat IDoc: its fields, and what makes one complete.

SAP's file port strips trailing blanks, so a control line shorter than 524 columns is legal, and
a line cut in transit looks just like one whose remaining fields are blank. The rule that tells
them apart relies on the fields every IDoc carries:

* MESTYP (message type) and SNDPRN (sender partner) must be present. SAP needs both to find the
  partner profile, every producer fills them (SAP's outbound IDocs, and the non-SAP ERP and
  middleware samples, which carry little else), and they sit at columns 100 and 163: a record
  that stops before them was cut (a 50-character record is refused, rather than read with the
  sender ``-`` and the creation time *now*).
* A record SAP wrote carries DOCREL (the release that created it), which SAP stamps together
  with CREDAT and CRETIM (columns 379-392): with DOCREL, both must be present, so SAP's output
  cut anywhere before column 392 is refused. Without DOCREL (tool-made files), they are
  optional, but a record whose last non-blank column falls inside them (always 8 + 6 digits)
  was cut there.
* Nothing non-blank may follow column 524 (a longer record is shifted or glued to another).

What follows CRETIM (REFINT, REFGRP, REFMES, ARCKEY, SERIAL) is optional and free-form: a cut
there cannot be told from blanks. SAP's unpadded output, every shipped sample and tool-made
records (which fill little more than MESTYP, SNDPRN and IDOCTYP) read.
"""

from __future__ import annotations

from adapters.sap.encodings import FlatEncoding
from adapters.sap.errors import IDocError
from adapters.sap.flat_layout import CONTROL_LAYOUT, CONTROL_LENGTH
from adapters.sap.flat_records import ByteLayout, FieldBytesError, bad_bytes_reason
from bridge.errors import DecodeError

__all__ = ["REQUIRED_CONTROL_FIELDS", "read_control"]

REQUIRED_CONTROL_FIELDS = ("MESTYP", "SNDPRN")
"""Control fields every IDoc carries; a record without them was cut short."""

_OFFSETS = {name: offset for name, offset, _ in CONTROL_LAYOUT}
_CREATED = (_OFFSETS["CREDAT"], _OFFSETS["CRETIM"] + 6)  # CREDAT + CRETIM, contiguous
_BYTE_LAYOUT = ByteLayout(CONTROL_LAYOUT, CONTROL_LENGTH)


def _text_fields(line: str) -> dict[str, str]:
    control: dict[str, str] = {}
    for name, offset, length in CONTROL_LAYOUT:
        value = line[offset : offset + length].rstrip()
        if value:
            control[name] = value
    return control


def read_control(
    line: str | bytes, line_no: int, encoding: FlatEncoding, *, source: str | None = None
) -> dict[str, str]:
    """The fields of a control line (``bytes`` only for a multi-byte code page line holding
    non-ASCII bytes; positions then count bytes), checked by the module's rule.

    Raises:
        DecodeError: a control record that was cut short or runs past column 524, or bytes
            that are not valid in the encoding (names line and field).
    """
    if isinstance(line, bytes):
        try:
            control = _BYTE_LAYOUT.cut(line[:CONTROL_LENGTH], encoding.codec)
        except FieldBytesError as exc:
            field = _BYTE_LAYOUT.field_at(exc.position) or "?"
            raise IDocError(
                f"line {line_no}, byte {exc.position + 1}, control field {field}: "
                f"{bad_bytes_reason(line, exc.position, encoding)}",
                source=source,
                segment="EDI_DC40",
            ) from None
        unit = "bytes"
    else:
        control = _text_fields(line)
        unit = "characters"
    docnum = control.get("DOCNUM")

    def refuse(reason: str) -> DecodeError:
        return IDocError(
            f"line {line_no}: {reason}", source=source, document_id=docnum, segment="EDI_DC40"
        )

    end = len(line.rstrip())
    if end > CONTROL_LENGTH:
        raise refuse(
            f"control record is {len(line)} {unit}, longer than {CONTROL_LENGTH} "
            f"(data past column {CONTROL_LENGTH})"
        )
    missing = [name for name in REQUIRED_CONTROL_FIELDS if name not in control]
    if missing:
        names = " and ".join(missing)
        if end <= min(_OFFSETS[name] for name in missing):
            raise refuse(
                f"control record ends at column {end}, before {names}: cut short? (every IDoc "
                "carries its message type MESTYP and sender partner SNDPRN; SAP strips only blanks)"
            )
        raise refuse(
            f"control record has no {names} (every IDoc carries its message type and sender partner)"
        )
    if "DOCREL" in control and not ("CREDAT" in control and "CRETIM" in control):
        if end < _CREATED[1]:
            raise refuse(
                f"control record ends at column {end}, before the end of CREDAT/CRETIM (columns "
                f"{_CREATED[0] + 1}-{_CREATED[1]}), which SAP writes with DOCREL "
                f"{control['DOCREL']}: cut short?"
            )
        raise refuse(
            f"control record has DOCREL {control['DOCREL']} but no CREDAT/CRETIM (SAP writes them together)"
        )
    if _CREATED[0] < end < _CREATED[1]:
        raise refuse(
            f"control record ends at column {end}, inside CREDAT/CRETIM (columns "
            f"{_CREATED[0] + 1}-{_CREATED[1]}, always 8 + 6 digits): cut short?"
        )
    return control
