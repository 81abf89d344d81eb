"""Reverse-mapping payloads as IDocs (``target.format: idoc-xml`` or ``idoc-flat``).

A payload for an IDoc target holds the control record under ``EDI_DC40`` and the segments by
type; inside a segment, text values are fields and objects or lists are child segments::

    {"EDI_DC40": {"MESTYP": "MBGMCR", "SNDPRN": "MES"},
     "E1MBGMCR": {"E1BP2017_GM_HEAD_01": {"PSTNG_DATE": "20231212"},
                  "E1BP2017_GM_ITEM_CREATE": [{"MATERIAL": "R1", "MOVE_TYPE": "261"}]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import write_idoc_flat
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_codec import write_idoc_xml
from bridge.errors import MappingError

__all__ = ["payload_to_idoc", "render_idoc_flat", "render_idoc_xml"]

_REGISTRY: DefinitionRegistry | None = None


def _segment(segment_type: str, content: Mapping[str, Any]) -> Segment:
    segment = Segment(segment_type)
    for key, value in content.items():
        if isinstance(value, Mapping):
            segment.add_child(_segment(key, value))
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, Mapping):
                    raise MappingError(f"segment {key} must hold objects, got {item!r}", field=key)
                segment.add_child(_segment(key, item))
        elif value is not None and value != "":
            segment[key] = value if isinstance(value, str) else str(value)
    return segment


def payload_to_idoc(idoc_type: str, payload: Mapping[str, Any]) -> IDoc:
    """Build an IDoc of ``idoc_type`` from a mapping's payload."""
    control = {k: str(v) for k, v in (payload.get("EDI_DC40") or {}).items() if v not in (None, "")}
    control.setdefault("TABNAM", "EDI_DC40")
    control["IDOCTYP"] = idoc_type
    idoc = IDoc(control=control, idoc_type=idoc_type, extension=control.get("CIMTYP"))
    body = {k: v for k, v in payload.items() if k != "EDI_DC40"}
    for segment in _segment("IDOC", body).children:
        idoc.root.add_child(segment)
    return idoc


def render_idoc_xml(idoc_type: str, payload: Mapping[str, Any]) -> bytes:
    """The payload as IDoc-XML."""
    return write_idoc_xml([payload_to_idoc(idoc_type, payload)])


def render_idoc_flat(idoc_type: str, payload: Mapping[str, Any]) -> bytes:
    """The payload as a flat IDoc file, field positions from the shipped definitions."""
    global _REGISTRY  # noqa: PLW0603 - one registry per process, built on first use
    if _REGISTRY is None:
        _REGISTRY = DefinitionRegistry(())
    return write_idoc_flat([payload_to_idoc(idoc_type, payload)], _REGISTRY).encode("utf-8")
