"""IDoc-XML -> IDoc trees, read as a stream (see :mod:`adapters.sap.xml_codec`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_parser import PARSER_OPTIONS, parse_tree, prepared, pull_parser, syntax_error
from adapters.sap.xml_segments import (
    SegmentBuilder,
    control_fields,
    element_name,
    has_text,
    mixed_content_error,
    segment_builder,
)
from adapters.sap.xml_writer import CONTROL_SEGMENT, IDOC_ELEMENT, SEGMENT_ATTRIBUTE, SOAP_IDOC_NAMESPACE

__all__ = ["XmlIDoc", "basic_type", "first_control_xml", "parse_idoc_xml", "read_idocs_xml"]

_SOAP_IDOC_DECLARATION = f' xmlns="{SOAP_IDOC_NAMESPACE}"'.encode()
_IDOC = IDOC_ELEMENT
_SEGMENT_ATTR = SEGMENT_ATTRIBUTE
_ENVELOPE = "Envelope"
_BODY = "Body"
_ANY_IDOC = "{*}IDOC"  # in any namespace or none
#: Bytes handed to the streaming parser at a time.
_FEED_BYTES = 1 << 20


def basic_type(control: dict[str, str], root_name: str | None, idoc_type: str | None) -> str:
    """An IDoc's basic type: the explicit one, else IDOCTYP, else the root element's name
    (unless it names the extension), else S/4HANA's CUSTOMED_EXT_DOC_TYPE."""
    extension = control.get("CIMTYP") or None
    return (
        idoc_type
        or control.get("IDOCTYP")
        or (root_name if root_name and root_name != extension else None)
        or control.get("CUSTOMED_EXT_DOC_TYPE")
        or root_name
        or ""
    )


def _idoc_position(element: etree._Element) -> str | bool | None:
    """For an ``<IDOC>`` element: the IDoc root name (``None`` when it is the root), or
    ``False`` when it stands where no IDoc does (e.g. inside a segment)."""
    parent = element.getparent()
    if parent is None:
        return None
    grandparent = parent.getparent()
    parent_name = element_name(parent.tag)
    if grandparent is None:
        return False if parent_name == _ENVELOPE else parent_name
    body = grandparent
    envelope = body.getparent()
    if (
        envelope is not None
        and envelope.getparent() is None
        and element_name(body.tag) == _BODY
        and element_name(envelope.tag) == _ENVELOPE
        and next((c for c in body if element_name(c.tag)), None) is parent
    ):
        return parent_name
    return False


@dataclass(slots=True)
class XmlIDoc:
    """One IDoc read from IDoc-XML, with the reader's warnings about it."""

    idoc: IDoc
    warnings: tuple[str, ...] = ()


@dataclass
class _IDocInProgress:
    """The ``<IDOC>`` element being read: its control record and top-level segments so far."""

    element: etree._Element
    root_name: str | None
    builder: SegmentBuilder
    control: dict[str, str] | None = None
    segments: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _StreamReader:
    """Builds IDocs while the parser reads. After every chunk, the finished elements of the
    ``<IDOC>`` being read become segments and fields and are freed, at every depth: the
    segments the parser is still inside are kept open on a stack (outermost first), each
    already numbered and attached to its parent, and filled as their children finish. The
    parser so holds about one chunk's elements at a time, however the IDoc is nested."""

    def __init__(self, source: str | None, idoc_type: str | None) -> None:
        self.source = source
        self.idoc_type = idoc_type
        self.current: _IDocInProgress | None = None
        self.open: list[tuple[etree._Element, Segment]] = []
        self.done: list[XmlIDoc] = []

    def on_start(self, element: etree._Element) -> None:
        """An ``<IDOC>`` start tag: read it when it stands where IDocs do."""
        if self.current is not None:
            return  # an IDOC inside the one being read is a segment of it
        position = _idoc_position(element)
        if position is not False:
            self.current = _IDocInProgress(element, position, segment_builder(self.source))  # type: ignore[arg-type]

    def advance(self) -> None:
        """Build and free what the parser has finished of the IDoc being read."""
        current = self.current
        if current is None:
            return
        element = current.element
        finished = len(element) - 1
        if finished > 0:
            self._take_children(current, element[:finished])
            del element[:finished]
        self._descend(current)

    def _descend(self, current: _IDocInProgress) -> None:
        """Walk down the elements the parser is inside, opening a segment for each and
        filling it with its finished children (all but the last), which are then freed."""
        if not len(current.element):
            return
        element = current.element[-1]
        level = 0
        builder = current.builder
        while len(element):
            name = element_name(element.tag)
            if name is None or (level == 0 and name == CONTROL_SEGMENT and current.control is None):
                return  # a control record is small: it is read when it ends
            if level < len(self.open) and self.open[level][0] is element:
                segment = self.open[level][1]
            else:
                del self.open[level:]
                segment = builder.open_segment(element, name)
                if level == 0:
                    current.segments.append(segment)
                else:
                    self.open[level - 1][1].add_child(segment)
                self.open.append((element, segment))
            finished = len(element) - 1
            if finished > 0:
                children = element[:finished]
                if level + 1 < len(self.open) and self.open[level + 1][0] is children[0]:
                    self._close(level + 1, element)  # the deeper open segment has ended
                    children = children[1:]
                builder.fill(segment, children, element)
                del element[:finished]
            element = element[-1]
            level += 1

    def _close(self, level: int, parent: etree._Element) -> None:
        """The open segment at ``level`` has ended: take its remaining children, pop it."""
        element, segment = self.open[level]
        if has_text(element.tail):
            raise mixed_content_error(parent, element_name(parent.tag) or "?", self.source)
        children = list(element)
        if children and level + 1 < len(self.open) and self.open[level + 1][0] is children[0]:
            self._close(level + 1, element)
            children = children[1:]
        self.current.builder.fill(segment, children, element)  # type: ignore[union-attr]
        del self.open[level:]

    def on_end(self, element: etree._Element, *, free: bool = True) -> None:
        """An ``<IDOC>`` end tag: the IDoc being read is complete (``free``: drop its elements)."""
        current = self.current
        if current is None or current.element is not element:
            return
        self._take_children(current, list(element))
        self._finish(current)
        parent = element.getparent()
        if free and parent is not None:
            parent.remove(element)

    def _take_children(self, current: _IDocInProgress, children: list[etree._Element]) -> None:
        if has_text(current.element.text):
            raise mixed_content_error(current.element, _IDOC, self.source)
        for child in children:  # each with its tail: the parser has read past all of them
            if self.open and self.open[0][0] is child:
                self._close(0, current.element)  # built while it was read
                continue
            if has_text(child.tail):
                raise mixed_content_error(current.element, _IDOC, self.source)
            self._take(current, child)

    def _take(self, current: _IDocInProgress, element: etree._Element) -> None:
        name = element_name(element.tag)
        if name is None:
            return
        if name == CONTROL_SEGMENT and current.control is None:
            current.control = control_fields(element, self.source)
        elif len(element) or element.get(_SEGMENT_ATTR) is not None:
            current.segments.append(current.builder.build(element, name))
        elif has_text(element.text):
            current.warnings.append(
                f"line {element.sourceline}: <{name}> directly under <IDOC> is a field outside any "
                "segment: ignored"
            )

    def _finish(self, current: _IDocInProgress) -> None:
        control = current.control or {}
        extension = control.get("CIMTYP") or None
        basic = basic_type(control, current.root_name, self.idoc_type)
        idoc = IDoc(control=control, idoc_type=basic, extension=extension)
        for segment in current.segments:
            idoc.root.add_child(segment)
        self.done.append(XmlIDoc(idoc, tuple(current.warnings)))
        self.current = None
        self.open.clear()


def _check_root(root: etree._Element, source: str | None) -> None:
    """Say why a document that yielded no IDoc is not IDoc-XML."""
    name = element_name(root.tag)
    if name == _ENVELOPE:
        body = next((c for c in root if element_name(c.tag) == _BODY), None)
        payload = None if body is None else next((c for c in body if element_name(c.tag)), None)
        if payload is None:
            raise IDocError("SOAP Envelope without an element in its Body", source=source)
        name = element_name(payload.tag)
    raise IDocError(
        f"root element <{name}> holds no <IDOC> element: not an IDoc-XML document",
        source=source,
    )


def _dispatch(parser: etree.XMLPullParser, reader: _StreamReader) -> None:
    for event, element in parser.read_events():
        if event == "start":
            reader.on_start(element)
        else:
            reader.advance()  # an IDOC inside the current one would end here: take its finished siblings
            reader.on_end(element)


def read_idocs_xml(
    data: bytes,
    *,
    source: str | None = None,
    max_bytes: int | None = None,
    idoc_type: str | None = None,
) -> list[XmlIDoc]:
    """Parse IDoc-XML into IDoc trees, one per ``<IDOC>`` element, with warnings about each.

    Args:
        data: the document bytes (UTF-8, UTF-16/32, or any encoding its declaration names).
        source: file name or message id, for error messages.
        max_bytes: size limit; ``None`` means :func:`max_document_bytes`.
        idoc_type: the basic type to read the IDocs as, whatever the control record's IDOCTYP
            says (EDI tools put junk there); when not given, IDOCTYP, then the root element.

    Raises:
        DecodeError: too large, has a DTD, not in its encoding, not well-formed (with line and
            column), mixed content (naming the element), or not an IDoc document.
    """
    data = prepared(data, source, max_bytes)
    # Namespaces are dropped anyway; removing SAP's default namespace declaration up front
    # spares lxml building "{urn:...}NAME" strings for every element (about 15% of the time).
    at = data.find(_SOAP_IDOC_DECLARATION, 0, _FEED_BYTES)
    shift = None
    if at >= 0:
        line_start = data.rfind(b"\n", 0, at) + 1
        shift = (data.count(b"\n", 0, at) + 1, at - line_start + 1, len(_SOAP_IDOC_DECLARATION))
    reader = _StreamReader(source, idoc_type)
    if len(data) <= _FEED_BYTES:
        # One chunk: a whole tree costs little memory here, and the tree parser is about a
        # third faster than the streaming one (it reports no events).
        stripped = data if at < 0 else data[:at] + data[at + len(_SOAP_IDOC_DECLARATION) :]
        root = parse_tree(stripped, source, shift)
        for element in list(root.iter(_ANY_IDOC)):
            reader.on_start(element)
            reader.on_end(element, free=False)
        if not reader.done:
            _check_root(root, source)
        return reader.done
    etree.clear_error_log()  # the streaming parser reports through this thread's log
    parser = pull_parser()
    try:
        if at >= 0:
            parser.feed(data[:at])
            start = at + len(_SOAP_IDOC_DECLARATION)
        else:
            start = 0
        for offset in range(start, max(len(data), start + 1), _FEED_BYTES):
            parser.feed(data[offset : offset + _FEED_BYTES])
            _dispatch(parser, reader)
            reader.advance()
        root = parser.close()
        _dispatch(parser, reader)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, source, shift) from exc
    except ValueError as exc:  # e.g. a document lxml refuses to read at all
        raise IDocError(f"cannot parse XML: {exc}", source=source) from exc
    if not reader.done:
        _check_root(root, source)
    return reader.done


def parse_idoc_xml(
    data: bytes,
    *,
    source: str | None = None,
    max_bytes: int | None = None,
    idoc_type: str | None = None,
) -> list[IDoc]:
    """The IDocs of an IDoc-XML document, without the warnings (see :func:`read_idocs_xml`)."""
    return [read.idoc for read in read_idocs_xml(data, source=source, max_bytes=max_bytes, idoc_type=idoc_type)]


#: Bytes read at a time while looking for the first control record.
_HEAD_BYTES = 1 << 13


def first_control_xml(
    data: bytes, *, source: str | None = None, max_bytes: int | None = None
) -> tuple[dict[str, str], str | None, bytes]:
    """The first IDoc's control record and root name, parsing only as far as its end; with the
    document as UTF-8 (for counting its IDocs without parsing it).

    Raises:
        DecodeError: too large, a DTD, broken before the control record ends, or none found.
    """
    data = prepared(data, source, max_bytes)
    parser = etree.XMLPullParser(events=("end",), tag="{*}" + CONTROL_SEGMENT, **PARSER_OPTIONS)
    etree.clear_error_log()
    try:
        for offset in range(0, max(len(data), 1), _HEAD_BYTES):
            try:
                parser.feed(data[offset : offset + _HEAD_BYTES])
            except etree.XMLSyntaxError:
                found = _first_control(parser, source)  # broken after the control record: fine here
                if found is None:
                    raise
                return (*found, data)
            found = _first_control(parser, source)
            if found is not None:
                return (*found, data)
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, source, None) from exc
    except ValueError as exc:
        raise IDocError(f"cannot parse XML: {exc}", source=source) from exc
    raise IDocError("no <IDOC> with an EDI_DC40 control record: not an IDoc-XML document", source=source)


def _first_control(parser: etree.XMLPullParser, source: str | None) -> tuple[dict[str, str], str | None] | None:
    for _, element in parser.read_events():
        idoc = element.getparent()
        if idoc is None or element_name(idoc.tag) != _IDOC:
            continue
        position = _idoc_position(idoc)
        if position is not False:
            return control_fields(element, source), position  # type: ignore[return-value]
    return None
