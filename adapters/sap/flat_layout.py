"""Record layouts of flat IDoc files, record type version 3 (EDI_DC40 control, EDI_DD40 data).

Offsets are 0-based columns: characters in a UTF-8 file, bytes in a single- or double-byte code
page (see :mod:`adapters.sap.flat_reader`).
"""

from __future__ import annotations

__all__ = [
    "CONTROL_LAYOUT",
    "CONTROL_LENGTH",
    "CONTROL_TAG",
    "DATA_HEADER_LAYOUT",
    "DATA_LENGTH",
    "HEADER_LENGTH",
    "RAW_SDATA",
    "SDATA_LENGTH",
    "SDATA_REST",
    "STATUS_TAG",
    "V2_TAGS",
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

DATA_HEADER_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("SEGNAM", 0, 30),
    ("MANDT", 30, 3),
    ("DOCNUM", 33, 16),
    ("SEGNUM", 49, 6),
    ("PSGNUM", 55, 6),
    ("HLEVEL", 61, 2),
)
"""EDI_DD40 header fields (before SDATA) as (name, 0-based offset, length)."""

CONTROL_LENGTH = 524
HEADER_LENGTH = 63
SDATA_LENGTH = 1000
DATA_LENGTH = HEADER_LENGTH + SDATA_LENGTH
RAW_SDATA = "SDATA"
"""Field name under which a segment without field layout keeps its raw SDATA."""
SDATA_REST = "SDATA_REST"
"""Field name for non-blank SDATA after the last field a (partial) definition knows."""

CONTROL_TAG = "EDI_DC40"
STATUS_TAG = "EDI_DS40"
V2_TAGS = ("EDI_DC", "EDI_DD", "EDI_DS")
