"""SDATA of a flat data record -> the fields its segment definition lays out.

A short line is legal (SAP strips trailing blanks), so fields past its end are blank; the field
a short line ends *inside* is reported, since a line cut there would look the same.
"""

from __future__ import annotations

from adapters.sap.definitions import FieldDefinition, SegmentDefinition
from adapters.sap.flat_layout import RAW_SDATA, SDATA_LENGTH, SDATA_REST
from adapters.sap.flat_records import ByteLayout

__all__ = ["RAW_LAYOUT", "byte_layout", "decode_sdata", "field_ending_inside"]

RAW_LAYOUT = ByteLayout(((RAW_SDATA, 0, SDATA_LENGTH),), SDATA_LENGTH)
"""The whole SDATA as one piece (a segment without field layout)."""


def decode_sdata(
    definition: SegmentDefinition, sdata: str
) -> tuple[dict[str, str], FieldDefinition | None]:
    """Cut SDATA into the definition's fields; keep what no field covers rather than lose it.

    Returns:
        The fields, and the field a short line ends inside (a line cut there would look the
        same), else ``None``.
    """
    if not definition.fields:  # a hierarchy-only definition
        raw = sdata.rstrip()
        return ({RAW_SDATA: raw} if raw else {}), None
    fields: dict[str, str] = {}
    size = len(sdata)
    ascending = definition.fields_ascending
    ends_inside: FieldDefinition | None = None
    for fdef in definition.fields:
        offset = fdef.offset
        if offset >= size:
            if ascending:
                break
            continue
        end = offset + fdef.length
        if size < end:
            ends_inside = fdef
        value = sdata[offset:end].rstrip()
        if value:
            fields[fdef.name] = value
    cover = definition.sdata_length
    if size > cover:
        rest = sdata[cover:].rstrip()
        if rest:
            fields[SDATA_REST] = rest
    return fields, ends_inside


def field_ending_inside(definition: SegmentDefinition, sdata: str | bytes) -> FieldDefinition | None:
    """The field a short line ends inside, if any."""
    size = len(sdata)
    if size == 0 or size >= definition.sdata_length:
        return None
    return next((f for f in definition.fields if f.offset < size < f.offset + f.length), None)


def byte_layout(definition: SegmentDefinition) -> ByteLayout:
    """The definition's fields (and what follows them) as byte pieces of SDATA."""
    if not definition.fields:
        return RAW_LAYOUT
    fields = [(f.name, f.offset, f.length) for f in definition.fields]
    end = definition.sdata_length
    if end < SDATA_LENGTH:
        fields.append((SDATA_REST, end, SDATA_LENGTH - end))
    return ByteLayout(fields, SDATA_LENGTH)
