"""IDoc-XML elements -> segments and fields: element names, the control record, and the
builder that turns finished segment elements into :class:`~adapters.sap.model.Segment` trees
(refusing mixed content, naming the element)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.model import Segment
from adapters.sap.xml_writer import CONTROL_SEGMENT, SEGMENT_ATTRIBUTE
from bridge.errors import DecodeError

__all__ = [
    "ELEMENT_NAMES",
    "SegmentBuilder",
    "control_fields",
    "element_name",
    "has_text",
    "mixed_content_error",
    "segment_builder",
]

_SEGMENT_ATTR = SEGMENT_ATTRIBUTE


# Element tag -> IDoc name, shared by all parses: the same few hundred tags recur in every
# document, and computing names afresh per document costs as much as walking it.
ELEMENT_NAMES: dict[object, str | None] = {}
_NAMES_LIMIT = 100_000


def element_name(tag: object) -> str | None:
    """Element tag -> IDoc name (namespace dropped, ``_-`` -> ``/``); ``None`` for non-elements."""
    name = ELEMENT_NAMES.get(tag)
    if name is not None:
        return name
    if isinstance(tag, str):
        name = tag[tag.rfind("}") + 1 :]
        if name and "_-" in name:
            name = name.replace("_-", "/")
    else:
        name = None  # comments, PIs, entity references: never IDoc content
    if len(ELEMENT_NAMES) >= _NAMES_LIMIT:  # hostile input with endless distinct tags
        ELEMENT_NAMES.clear()
    ELEMENT_NAMES[tag] = name
    return name


def has_text(text: str | None) -> bool:
    return bool(text) and not text.isspace()  # type: ignore[union-attr]


def mixed_content_error(element: etree._Element, name: str, source: str | None) -> DecodeError:
    text = next(
        (t for t in (element.text, *(c.tail for c in element)) if has_text(t)),
        "",
    )
    child = next((c for c in element if isinstance(c.tag, str)), None)
    beside = f" beside <{element_name(child.tag)}>" if child is not None else ""
    shown = text.strip()
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return IDocError(
        f"element <{name}> at line {element.sourceline} mixes text ({shown!r}) with elements{beside}: "
        "an IDoc field holds only text and a segment only fields and segments; refused",
        source=source,
    )


def control_fields(element: etree._Element, source: str | None) -> dict[str, str]:
    """The control record's fields; it holds text fields only.

    Raises:
        DecodeError: text beside the fields, or a field holding elements (names it).
    """
    fields: dict[str, str] = {}
    if has_text(element.text):
        raise mixed_content_error(element, CONTROL_SEGMENT, source)
    for child in element:
        name = element_name(child.tag)
        if not name:
            continue
        if has_text(child.tail):
            raise mixed_content_error(element, CONTROL_SEGMENT, source)
        if len(child):
            if has_text(child.text) or any(has_text(c.tail) for c in child):
                raise mixed_content_error(child, name, source)
            raise IDocError(
                f"control record field <{name}> at line {child.sourceline} holds elements: "
                "an EDI_DC40 field holds only text; refused",
                source=source,
            )
        text = child.text
        if text:
            value = text.rstrip()
            if value:
                fields[name] = value
    return fields


@dataclass(frozen=True, slots=True)
class SegmentBuilder:
    """Segment construction for one IDoc, numbering segments in document order.

    Attributes:
        build: one finished segment element -> :class:`Segment` (with its subtree).
        fill: add finished child elements (fields, segments) to a segment built earlier.
        open_segment: a numbered, empty segment for an element the parser is still inside.
    """

    build: Callable[[etree._Element, str], Segment]
    fill: Callable[[Segment, Iterable[etree._Element], etree._Element], None]
    open_segment: Callable[[etree._Element, str], Segment]


def segment_builder(source: str | None) -> SegmentBuilder:
    """Closures over locals sharing one counter: this loop is the whole cost of decoding."""
    count = 0
    names = ELEMENT_NAMES

    def fill(segment: Segment, children: Iterable[etree._Element], element: etree._Element) -> None:
        for child in children:
            tag = child.tag
            name = names.get(tag) or element_name(tag)
            if name is None:
                continue
            tail = child.tail  # blank tails are gone (remove_blank_text): any other is mixed content
            if tail and not tail.isspace():
                raise mixed_content_error(element, segment.segment_type, source)
            if len(child):
                segment.add_child(build(child, name))
                continue
            text = child.text
            if text:
                value = text.rstrip()
                if value:
                    segment[name] = value  # a leaf with text is a field
                    continue
            if child.get(_SEGMENT_ATTR) is not None:
                segment.add_child(build(child, name))  # an empty segment

    def open_segment(element: etree._Element, segment_type: str) -> Segment:
        nonlocal count
        count += 1
        text = element.text
        if text and not text.isspace():
            raise mixed_content_error(element, segment_type, source)
        return Segment(segment_type, segnum=count)

    def build(element: etree._Element, segment_type: str) -> Segment:
        segment = open_segment(element, segment_type)
        fill(segment, element, element)
        return segment

    return SegmentBuilder(build, fill, open_segment)


