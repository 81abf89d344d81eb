"""Placing flat IDoc segments in the tree: a flat file lists them in order, with hints.

The parent of a segment is taken, in this order, from PSGNUM when it is present and consistent
(it names an earlier segment, the definition's parent type matches when both segments are
known, and the parent's HLEVEL is smaller), from the definition's parent type (nearest open
segment of that type, else the latest segment of that type), from HLEVEL (nearest open segment
with a smaller level), else the segment is top level. PSGNUM is checked because tool-made files
carry wrong ones. An unknown segment with neither a usable PSGNUM nor HLEVEL therefore lands at
top level.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sap.definitions import SegmentDefinition
from adapters.sap.model import Segment

__all__ = ["SegmentHierarchy"]


@dataclass(slots=True)
class _Node:
    segment: Segment
    definition: SegmentDefinition | None
    hlevel: int | None
    parent: _Node | None


class SegmentHierarchy:
    """The segments of one IDoc placed so far, under ``root``."""

    def __init__(self, root: Segment) -> None:
        self.root = root
        self.last: _Node | None = None
        self.by_segnum: dict[int, _Node] = {}
        self.latest_of_type: dict[str, _Node] = {}

    def place(
        self,
        segment: Segment,
        definition: SegmentDefinition | None,
        segnum: int | None,
        psgnum: int | None,
        hlevel: int | None,
    ) -> None:
        """Add ``segment`` (its ``segnum`` set) under the parent the hints point to."""
        parent = self._parent(definition, segnum, psgnum, hlevel)
        (parent.segment if parent else self.root).add_child(segment)
        node = _Node(segment, definition, hlevel, parent)
        if segment.segnum is not None:
            self.by_segnum[segment.segnum] = node
        self.latest_of_type[segment.segment_type] = node
        self.last = node

    def _parent(
        self,
        definition: SegmentDefinition | None,
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
