"""A plain-data view of an IDoc for ``bridge idoc show`` (JSON/YAML friendly)."""

from __future__ import annotations

from typing import Any

from adapters.sap.model import IDoc, Segment

__all__ = ["idoc_to_dict", "segment_to_dict"]


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    """One segment with its fields and, recursively, its children in document order."""
    return {
        "type": segment.segment_type,
        "definition": segment.definition,
        "segnum": segment.segnum,
        "fields": segment.fields(),
        "children": [segment_to_dict(child) for child in segment.children],
    }


def idoc_to_dict(idoc: IDoc) -> dict[str, Any]:
    """The IDoc as ``{"idoc_type", "extension", "control", "segments"}``."""
    return {
        "idoc_type": idoc.idoc_type,
        "extension": idoc.extension,
        "control": dict(idoc.control),
        "segments": [segment_to_dict(segment) for segment in idoc.segments],
    }
