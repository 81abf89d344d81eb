"""SAP adapter: IDoc codec (IDoc-XML and flat files) and IDoc type definitions."""

from __future__ import annotations

from adapters.sap.codec import SapCodec
from adapters.sap.definitions import (
    DefinitionRegistry,
    FieldDefinition,
    IDocTypeDefinition,
    SegmentDefinition,
    parse_we60,
)
from adapters.sap.flat_codec import parse_idoc_flat, write_idoc_flat
from adapters.sap.model import IDoc, Segment
from adapters.sap.show import idoc_to_dict
from adapters.sap.xml_codec import parse_idoc_xml, write_idoc_xml

__all__ = [
    "DefinitionRegistry",
    "FieldDefinition",
    "IDoc",
    "IDocTypeDefinition",
    "SapCodec",
    "Segment",
    "SegmentDefinition",
    "idoc_to_dict",
    "parse_idoc_flat",
    "parse_idoc_xml",
    "parse_we60",
    "write_idoc_flat",
    "write_idoc_xml",
]
