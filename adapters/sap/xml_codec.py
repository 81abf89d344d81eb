"""IDoc-XML (XML file/HTTP port, PI, SOAP IDoc) -> IDoc trees, with a hardened, streaming parser.

Reading accepts what real senders produce: with or without the SOAP-IDoc default namespace
(namespaces are dropped), with or without ``SEGMENT="1"`` attributes, several ``<IDOC>``
elements in one document, a root named after the basic type or the extension, a SOAP 1.1/1.2
``Envelope`` around the IDoc, custom segments and non-IDoc elements (kept as segments), a
missing IDOCTYP, UTF-16 and UTF-32 documents, and SAP's ``_-`` escape for ``/`` in names
(``_-RB04_-YP3_E1EDK01_XML`` is segment type ``/RB04/YP3_E1EDK01_XML``).

An element is a segment when it has a ``SEGMENT`` attribute or element children; any other
element is a field. Field values are right-trimmed; empty fields (``<F/>``) are absent. Values
are kept as text (``00000000`` stays ``00000000``): normalisation belongs to mapping transforms.
An element holding both text and elements (``<AUFNR>208277437<B>9</B></AUFNR>``) is neither,
and is refused naming it: taking either part would be wrong data. So is a control record
field with elements. A field directly under ``<IDOC>`` belongs to no segment: it is ignored
with a warning.

A document larger than one parser chunk (1 MiB) is parsed as a stream: after every chunk the
finished top-level segments become :class:`Segment` trees and their elements are freed, so the
parser's tree of the whole document is never built (peak memory stays a small multiple of the
document's size). A smaller one is parsed whole, which is faster, and read the same way.

The parser never loads DTDs, resolves entities or touches the network; a document with a
DOCTYPE is rejected before parsing, and documents above a size limit
(:data:`DEFAULT_MAX_BYTES`, env ``BRIDGE_MAX_DOCUMENT_BYTES``) are refused unread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_encoding import as_utf8
from adapters.sap.xml_writer import (
    CONTROL_SEGMENT,
    IDOC_ELEMENT,
    SEGMENT_ATTRIBUTE,
    SOAP_IDOC_NAMESPACE,
    write_idoc_xml,
)
from bridge.errors import DecodeError
from bridge.limits import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, check_size, max_document_bytes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "SOAP_IDOC_NAMESPACE",
    "XmlIDoc",
    "check_size",
    "max_document_bytes",
    "parse_idoc_xml",
    "parse_xml_hardened",
    "read_idocs_xml",
    "write_idoc_xml",
]

_SOAP_IDOC_DECLARATION = f' xmlns="{SOAP_IDOC_NAMESPACE}"'.encode()

_IDOC = IDOC_ELEMENT
_SEGMENT_ATTR = SEGMENT_ATTRIBUTE
_ENVELOPE = "Envelope"
_BODY = "Body"
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_DTD_MARKERS_UTF16 = tuple(
    m.decode("ascii").encode(enc) for m in _DTD_MARKERS for enc in ("utf-16-le", "utf-16-be")
)


def _has_dtd(data: bytes) -> bool:
    if b"\x00" in data[:4]:  # UTF-16/32: rare, search each encoded marker
        return any(marker in data for marker in _DTD_MARKERS_UTF16)
    start = data.find(b"<!")  # one pass; comments and CDATA also start with "<!"
    while start != -1:
        if data.startswith(_DTD_MARKERS, start):
            return True
        start = data.find(b"<!", start + 2)
    return False


def _reject_dtd(data: bytes, source: str | None) -> None:
    if _has_dtd(data):
        raise IDocError(
            "document contains a DOCTYPE/DTD or entity declaration; refused "
            "(IDoc-XML never needs one, and it is an XML entity attack vector)",
            source=source,
        )



_PARSERS = threading.local()
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "remove_blank_text": True,
    "collect_ids": False,
}
_ANY_IDOC = "{*}IDOC"  # in any namespace or none
#: Bytes handed to the streaming parser at a time.
_FEED_BYTES = 1 << 20


def _parser() -> etree.XMLParser:
    """This thread's hardened tree parser (building one costs more than parsing a small IDoc)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(**_PARSER_OPTIONS)
    return parser


def _pull_parser() -> etree.XMLPullParser:
    """A hardened streaming parser reporting where each ``<IDOC>`` starts and ends."""
    return etree.XMLPullParser(events=("start", "end"), tag=_ANY_IDOC, **_PARSER_OPTIONS)


def _syntax_error(exc: etree.XMLSyntaxError, source: str | None, shift: tuple[int, int, int] | None) -> DecodeError:
    """One line naming where the document is broken, in the bytes as given.

    ``shift`` is ``(line, column, length)`` of the namespace declaration removed before
    parsing; positions after it on that line move right by its length.
    """
    line, column = exc.position
    message = exc.msg
    errors = exc.error_log.filter_from_errors()
    if errors:  # the streaming parser's own message may be a generic "no element found"
        first = errors[0]  # the log was cleared before parsing: all of it is this document's
        line, column, message = first.line, first.column, first.message
    if shift is not None and line == shift[0] and column > shift[1]:
        column += shift[2]
    message = " ".join((message or "syntax error").split())
    message = message.split(", line ", 1)[0]  # libxml2 appends its own position on a second line
    return IDocError(f"not well-formed XML at line {line}, column {column}: {message}", source=source)


def _prepared(data: bytes, source: str | None, max_bytes: int | None) -> bytes:
    check_size(data, max_bytes, source=source)
    data = as_utf8(data, source=source)
    _reject_dtd(data, source)
    return data


def _parse_bytes(
    data: bytes, source: str | None, shift: tuple[int, int, int] | None = None
) -> etree._Element:
    etree.clear_error_log()  # so that the log holds only this document's errors
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, source, shift) from exc
    except ValueError as exc:  # e.g. a document lxml refuses to read at all
        raise IDocError(f"cannot parse XML: {exc}", source=source) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise IDocError("document has a DOCTYPE; refused", source=source)
    return root


def parse_xml_hardened(
    data: bytes, *, source: str | None = None, max_bytes: int | None = None
) -> etree._Element:
    """Parse any XML from outside the hardened way (size limit, no DTD or entities, no network).

    Used for small SAP XML such as RFC/SOAP responses; IDoc-XML is streamed by
    :func:`read_idocs_xml`.

    Raises:
        DecodeError: too large, has a DTD, not in its declared encoding, or not well-formed
            (with line and column).
    """
    return _parse_bytes(_prepared(data, source, max_bytes), source)


# Element tag -> IDoc name, shared by all parses: the same few hundred tags recur in every
# document, and computing names afresh per document costs as much as walking it.
_NAMES: dict[object, str | None] = {}
_NAMES_LIMIT = 100_000


def _name(tag: object) -> str | None:
    """Element tag -> IDoc name (namespace dropped, ``_-`` -> ``/``); ``None`` for non-elements."""
    name = _NAMES.get(tag)
    if name is not None:
        return name
    if isinstance(tag, str):
        name = tag[tag.rfind("}") + 1 :]
        if name and "_-" in name:
            name = name.replace("_-", "/")
    else:
        name = None  # comments, PIs, entity references: never IDoc content
    if len(_NAMES) >= _NAMES_LIMIT:  # hostile input with endless distinct tags
        _NAMES.clear()
    _NAMES[tag] = name
    return name


def _has_text(text: str | None) -> bool:
    return bool(text) and not text.isspace()  # type: ignore[union-attr]


def _mixed_content(element: etree._Element, name: str, source: str | None) -> DecodeError:
    text = next(
        (t for t in (element.text, *(c.tail for c in element)) if _has_text(t)),
        "",
    )
    child = next((c for c in element if isinstance(c.tag, str)), None)
    beside = f" beside <{_name(child.tag)}>" if child is not None else ""
    shown = text.strip()
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return IDocError(
        f"element <{name}> at line {element.sourceline} mixes text ({shown!r}) with elements{beside}: "
        "an IDoc field holds only text and a segment only fields and segments; refused",
        source=source,
    )


def _control_fields(element: etree._Element, source: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    if _has_text(element.text):
        raise _mixed_content(element, CONTROL_SEGMENT, source)
    for child in element:
        name = _name(child.tag)
        if not name:
            continue
        if len(child) or _has_text(child.tail):
            bad, bad_name = (child, name) if len(child) else (element, CONTROL_SEGMENT)
            if len(child) and not _has_text(child.text) and not any(_has_text(c.tail) for c in child):
                raise IDocError(
                    f"control record field <{name}> at line {child.sourceline} holds elements: "
                    "an EDI_DC40 field holds only text; refused",
                    source=source,
                )
            raise _mixed_content(bad, bad_name, source)
        text = child.text
        if text:
            value = text.rstrip()
            if value:
                fields[name] = value
    return fields


@dataclass(frozen=True, slots=True)
class _Builder:
    """Segment construction for one IDoc, numbering segments in document order.

    Attributes:
        build: one finished segment element -> :class:`Segment` (with its subtree).
        fill: add finished child elements (fields, segments) to a segment built earlier.
        open_segment: a numbered, empty segment for an element the parser is still inside.
    """

    build: Callable[[etree._Element, str], Segment]
    fill: Callable[[Segment, Iterable[etree._Element], etree._Element], None]
    open_segment: Callable[[etree._Element, str], Segment]


def _segment_builder(source: str | None) -> _Builder:
    """Closures over locals sharing one counter: this loop is the whole cost of decoding."""
    count = 0
    names = _NAMES

    def fill(segment: Segment, children: Iterable[etree._Element], element: etree._Element) -> None:
        for child in children:
            tag = child.tag
            name = names.get(tag) or _name(tag)
            if name is None:
                continue
            tail = child.tail  # blank tails are gone (remove_blank_text): any other is mixed content
            if tail and not tail.isspace():
                raise _mixed_content(element, segment.segment_type, source)
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
            raise _mixed_content(element, segment_type, source)
        return Segment(segment_type, segnum=count)

    def build(element: etree._Element, segment_type: str) -> Segment:
        segment = open_segment(element, segment_type)
        fill(segment, element, element)
        return segment

    return _Builder(build, fill, open_segment)


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
    builder: _Builder
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

    def _idoc_position(self, element: etree._Element) -> str | bool | None:
        """For an ``<IDOC>`` element: the IDoc root name (``None`` when it is the root), or
        ``False`` when it stands where no IDoc does (e.g. inside a segment)."""
        parent = element.getparent()
        if parent is None:
            return None
        grandparent = parent.getparent()
        parent_name = _name(parent.tag)
        if grandparent is None:
            return False if parent_name == _ENVELOPE else parent_name
        body = grandparent
        envelope = body.getparent()
        if (
            envelope is not None
            and envelope.getparent() is None
            and _name(body.tag) == _BODY
            and _name(envelope.tag) == _ENVELOPE
            and next((c for c in body if _name(c.tag)), None) is parent
        ):
            return parent_name
        return False

    def on_start(self, element: etree._Element) -> None:
        """An ``<IDOC>`` start tag: read it when it stands where IDocs do."""
        if self.current is not None:
            return  # an IDOC inside the one being read is a segment of it
        position = self._idoc_position(element)
        if position is not False:
            self.current = _IDocInProgress(element, position, _segment_builder(self.source))  # type: ignore[arg-type]

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
            name = _name(element.tag)
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
        if _has_text(element.tail):
            raise _mixed_content(parent, _name(parent.tag) or "?", self.source)
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
        if _has_text(current.element.text):
            raise _mixed_content(current.element, _IDOC, self.source)
        for child in children:  # each with its tail: the parser has read past all of them
            if self.open and self.open[0][0] is child:
                self._close(0, current.element)  # built while it was read
                continue
            if _has_text(child.tail):
                raise _mixed_content(current.element, _IDOC, self.source)
            self._take(current, child)

    def _take(self, current: _IDocInProgress, element: etree._Element) -> None:
        name = _name(element.tag)
        if name is None:
            return
        if name == CONTROL_SEGMENT and current.control is None:
            current.control = _control_fields(element, self.source)
        elif len(element) or element.get(_SEGMENT_ATTR) is not None:
            current.segments.append(current.builder.build(element, name))
        elif _has_text(element.text):
            current.warnings.append(
                f"line {element.sourceline}: <{name}> directly under <IDOC> is a field outside any "
                "segment: ignored"
            )

    def _finish(self, current: _IDocInProgress) -> None:
        control = current.control or {}
        root_name = current.root_name
        extension = control.get("CIMTYP") or None
        basic = (
            self.idoc_type
            or control.get("IDOCTYP")
            or (root_name if root_name and root_name != extension else None)
            or control.get("CUSTOMED_EXT_DOC_TYPE")
            or root_name
            or ""
        )
        idoc = IDoc(control=control, idoc_type=basic, extension=extension)
        for segment in current.segments:
            idoc.root.add_child(segment)
        self.done.append(XmlIDoc(idoc, tuple(current.warnings)))
        self.current = None
        self.open.clear()


def _check_root(root: etree._Element, source: str | None) -> None:
    """Say why a document that yielded no IDoc is not IDoc-XML."""
    name = _name(root.tag)
    if name == _ENVELOPE:
        body = next((c for c in root if _name(c.tag) == _BODY), None)
        payload = None if body is None else next((c for c in body if _name(c.tag)), None)
        if payload is None:
            raise IDocError("SOAP Envelope without an element in its Body", source=source)
        name = _name(payload.tag)
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
    data = _prepared(data, source, max_bytes)
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
        root = _parse_bytes(stripped, source, shift)
        for element in list(root.iter(_ANY_IDOC)):
            reader.on_start(element)
            reader.on_end(element, free=False)
        if not reader.done:
            _check_root(root, source)
        return reader.done
    etree.clear_error_log()  # the streaming parser reports through this thread's log
    parser = _pull_parser()
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
        raise _syntax_error(exc, source, shift) from exc
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
