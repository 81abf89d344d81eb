"""The IDoc tree: what both the XML and the flat codec produce and what mappings walk.

A :class:`Segment` is a ``dict``: its fields by name (right-trimmed text; empty fields absent)
and its child segments as lists keyed by segment *type* (``E1JSTKL``), so the mapping path
``E1AFKOL.E1JSTKL.STAT`` reads the same whether the IDoc came as XML or as a flat file.
``children`` keeps all child segments in document order for writers and ``idoc show``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["IDoc", "Segment"]


class Segment(dict[str, Any]):
    """One segment: fields (``str``) and children (``list[Segment]`` per segment type).

    Attributes:
        segment_type: the release-independent type, e.g. ``E1AFKOL`` (XML element name).
        definition: the versioned definition, e.g. ``E2AFKOL005`` (flat SEGNAM), when known.
        segnum: the segment number (flat SEGNUM or position in document order), for errors.
        children: all child segments in document order.
    """

    __slots__ = ("children", "definition", "segment_type", "segnum")

    def __init__(
        self,
        segment_type: str,
        fields: dict[str, str] | None = None,
        *,
        definition: str | None = None,
        segnum: int | None = None,
    ) -> None:
        super().__init__(fields or {})
        self.segment_type = segment_type
        self.definition = definition
        self.segnum = segnum
        self.children: list[Segment] = []

    def add_child(self, child: Segment) -> None:
        """Append a child segment, keeping both the ordered list and the by-type index."""
        self.children.append(child)
        existing = self.get(child.segment_type)
        if isinstance(existing, list):
            existing.append(child)
        else:
            self[child.segment_type] = [child]

    def fields(self) -> dict[str, str]:
        """Only the field values, in insertion order."""
        return {k: v for k, v in self.items() if isinstance(v, str)}

    def label(self) -> str:
        """``E1AFKOL #2`` style name for error messages."""
        return f"{self.segment_type} #{self.segnum}" if self.segnum is not None else self.segment_type

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.segment_type == other.segment_type and dict.__eq__(self, other)
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Segment({self.segment_type!r}, {self.fields()!r}, children={len(self.children)})"


@dataclass(slots=True)
class IDoc:
    """One IDoc: the control record and the root of its segment tree.

    Attributes:
        control: the control record (EDI_DC40) fields by name, right-trimmed, empty absent.
        root: a pseudo-segment of type ``IDOC`` whose children are the top-level segments and
            which also holds the control record as ``root["EDI_DC40"] = [Segment("EDI_DC40")]``
            so mappings can read ``EDI_DC40.DOCNUM``.
        idoc_type: the basic type (IDOCTYP; from the XML root element when IDOCTYP is absent).
        extension: the extension (CIMTYP) when set.
    """

    control: dict[str, str]
    root: Segment = field(default_factory=lambda: Segment("IDOC"))
    idoc_type: str = ""
    extension: str | None = None

    @property
    def docnum(self) -> str | None:
        """The IDoc number, when the sender set one."""
        return self.control.get("DOCNUM") or None

    @property
    def segments(self) -> list[Segment]:
        """Top-level segments in document order."""
        return self.root.children

    def tree(self) -> Segment:
        """The root the mapping language walks (control record under ``EDI_DC40``)."""
        if "EDI_DC40" not in self.root:
            dict.__setitem__(self.root, "EDI_DC40", [Segment("EDI_DC40", dict(self.control))])
        return self.root
