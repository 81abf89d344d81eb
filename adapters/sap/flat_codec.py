"""Flat (fixed-width) IDoc files, record type version 3: EDI_DC40 control + EDI_DD40 data lines.

The format is split by job: :mod:`adapters.sap.flat_layout` (record layouts),
:mod:`adapters.sap.encodings` (UTF-8, code pages, SAP code page numbers),
:mod:`adapters.sap.flat_records` (line ends, decoding a line's bytes),
:mod:`adapters.sap.flat_control` (the control record and when it is complete),
:mod:`adapters.sap.flat_sdata` (SDATA -> fields), :mod:`adapters.sap.flat_hierarchy` (where a
segment goes in the tree), :mod:`adapters.sap.flat_reader` (file -> IDoc trees) and
:mod:`adapters.sap.flat_writer` (IDoc trees -> file). This module gathers their public names.
"""

from __future__ import annotations

from adapters.sap.flat_layout import CONTROL_LAYOUT, CONTROL_LENGTH, DATA_LENGTH, RAW_SDATA, SDATA_REST
from adapters.sap.flat_reader import FlatIDoc, parse_idoc_flat, read_idocs_flat
from adapters.sap.flat_writer import write_idoc_flat

__all__ = [
    "CONTROL_LAYOUT",
    "CONTROL_LENGTH",
    "DATA_LENGTH",
    "RAW_SDATA",
    "SDATA_REST",
    "FlatIDoc",
    "parse_idoc_flat",
    "read_idocs_flat",
    "write_idoc_flat",
]
