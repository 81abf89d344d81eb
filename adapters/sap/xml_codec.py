"""IDoc-XML (XML file/HTTP port, PI, SOAP IDoc) <-> IDoc trees, with a hardened parser.

Reading accepts what real senders produce: with or without the SOAP-IDoc default namespace
(namespaces are dropped), with or without ``SEGMENT="1"`` attributes, several ``<IDOC>``
elements in one document, a root named after the basic type or the extension, a SOAP 1.1/1.2
``Envelope`` around the IDoc, custom segments and non-IDoc elements (kept as segments), a
missing IDOCTYP, and SAP's ``_-`` escape for ``/`` in names (``_-RB04_-YP3_E1EDK01_XML`` is
segment type ``/RB04/YP3_E1EDK01_XML``).

An element is a segment when it has a ``SEGMENT`` attribute or element children; any other
element is a field. Field values are right-trimmed; empty fields (``<F/>``) are absent. Values
are kept as text (``00000000`` stays ``00000000``): normalisation belongs to mapping transforms.

The parser never loads DTDs, resolves entities or touches the network; a document with a
DOCTYPE is rejected before parsing, and documents above a size limit
(:data:`DEFAULT_MAX_BYTES`, env ``BRIDGE_MAX_DOCUMENT_BYTES``) are refused unread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lxml import etree

from adapters.sap.model import IDoc, Segment
from bridge.errors import DecodeError
from bridge.limits import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, check_size, max_document_bytes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "SOAP_IDOC_NAMESPACE",
    "check_size",
    "max_document_bytes",
    "parse_idoc_xml",
    "parse_xml_hardened",
    "write_idoc_xml",
]

SOAP_IDOC_NAMESPACE = "urn:sap-com:document:sap:idoc:soap:messages"
_SOAP_IDOC_DECLARATION = f' xmlns="{SOAP_IDOC_NAMESPACE}"'.encode()

CONTROL_SEGMENT = "EDI_DC40"
_IDOC = "IDOC"
_SEGMENT_ATTR = "SEGMENT"
_ENVELOPE = "Envelope"
_BODY = "Body"
# The control fields in their record order, so written XML reads like SAP's.
_CONTROL_ORDER = (
    "TABNAM",
    "MANDT",
    "DOCNUM",
    "DOCREL",
    "STATUS",
    "DIRECT",
    "OUTMOD",
    "EXPRSS",
    "TEST",
    "IDOCTYP",
    "CIMTYP",
    "MESTYP",
    "MESCOD",
    "MESFCT",
    "STD",
    "STDVRS",
    "STDMES",
    "SNDPOR",
    "SNDPRT",
    "SNDPFC",
    "SNDPRN",
    "SNDSAD",
    "SNDLAD",
    "RCVPOR",
    "RCVPRT",
    "RCVPFC",
    "RCVPRN",
    "RCVSAD",
    "RCVLAD",
    "CREDAT",
    "CRETIM",
    "REFINT",
    "REFGRP",
    "REFMES",
    "ARCKEY",
    "SERIAL",
)
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
        raise DecodeError(
            "document contains a DOCTYPE/DTD or entity declaration; refused "
            "(IDoc-XML never needs one, and it is an XML entity attack vector)",
            source=source,
        )


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's hardened parser (building one costs more than parsing a small IDoc)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _new_parser()
    return parser


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=True,
        collect_ids=False,
    )


def _position_error(data: bytes, fallback: etree.XMLSyntaxError) -> etree.XMLSyntaxError:
    """The syntax error of ``data`` as given (its line/column), else ``fallback``."""
    try:
        etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return exc
    return fallback


def _parse_bytes(data: bytes, source: str | None) -> etree._Element:
    # Namespaces are dropped anyway; removing SAP's default namespace declaration up front
    # spares lxml building "{urn:...}NAME" strings for every element (about 15% of the time).
    stripped = data.replace(_SOAP_IDOC_DECLARATION, b"", 1)
    try:
        root = etree.fromstring(stripped, _parser())
    except etree.XMLSyntaxError as exc:
        error = exc if stripped is data else _position_error(data, exc)
        line, column = error.position
        raise DecodeError(
            f"not well-formed XML at line {line}, column {column}: {error.msg}", source=source
        ) from error
    except ValueError as exc:  # e.g. a document lxml refuses to read at all
        raise DecodeError(f"cannot parse XML: {exc}", source=source) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DecodeError("document has a DOCTYPE; refused", source=source)
    return root


def parse_xml_hardened(
    data: bytes, *, source: str | None = None, max_bytes: int | None = None
) -> etree._Element:
    """Parse any XML from outside the hardened way (size limit, no DTD or entities, no network).

    Used for IDoc-XML and for other SAP XML such as RFC/SOAP responses.

    Raises:
        DecodeError: too large, has a DTD, or not well-formed (with line and column).
    """
    check_size(data, max_bytes, source=source)
    _reject_dtd(data, source)
    return _parse_bytes(data, source)


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


def _leaf_fields(element: etree._Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for child in element:
        name = _name(child.tag)
        if name and not len(child):
            text = child.text
            if text:
                value = text.rstrip()
                if value:
                    fields[name] = value
    return fields


def _segment_builder() -> Callable[[etree._Element, str], Segment]:
    """A function turning one segment element into a :class:`Segment`, numbering segments in
    document order. Kept as a closure over locals: this loop is the whole cost of decoding."""
    count = 0
    names = _NAMES

    def build(element: etree._Element, segment_type: str) -> Segment:
        nonlocal count
        count += 1
        segment = Segment(segment_type, segnum=count)
        for child in element:
            tag = child.tag
            name = names.get(tag) or _name(tag)
            if name is None:
                continue
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
        return segment

    return build


def _idoc_elements(root: etree._Element, source: str | None) -> tuple[str | None, list[etree._Element]]:
    """Find the IDoc root name and its ``<IDOC>`` elements (descending into a SOAP Body)."""
    name = _name(root.tag)
    if name == _ENVELOPE:
        body = next((c for c in root if _name(c.tag) == _BODY), None)
        payload = None if body is None else next((c for c in body if _name(c.tag)), None)
        if payload is None:
            raise DecodeError("SOAP Envelope without an element in its Body", source=source)
        root, name = payload, _name(payload.tag)
    if name == _IDOC:
        return None, [root]
    idocs = [c for c in root if _name(c.tag) == _IDOC]
    if not idocs:
        raise DecodeError(
            f"root element <{name}> holds no <IDOC> element: not an IDoc-XML document",
            source=source,
        )
    return name, idocs


def parse_idoc_xml(
    data: bytes,
    *,
    source: str | None = None,
    max_bytes: int | None = None,
    idoc_type: str | None = None,
) -> list[IDoc]:
    """Parse IDoc-XML into IDoc trees, one per ``<IDOC>`` element.

    Args:
        data: the document bytes.
        source: file name or message id, for error messages.
        max_bytes: size limit; ``None`` means :func:`max_document_bytes`.
        idoc_type: basic type to use when the control record has no IDOCTYP (before the
            root element name is tried).

    Raises:
        DecodeError: too large, has a DTD, not well-formed (with line and column), or not an
            IDoc document.
    """
    check_size(data, max_bytes, source=source)
    _reject_dtd(data, source)
    root = _parse_bytes(data, source)
    root_name, idoc_elements = _idoc_elements(root, source)
    result: list[IDoc] = []
    for idoc_element in idoc_elements:
        build = _segment_builder()
        control: dict[str, str] = {}
        top: list[Segment] = []
        for child in idoc_element:
            name = _name(child.tag)
            if name is None:
                continue
            if name == CONTROL_SEGMENT and not control:
                control = _leaf_fields(child)
            elif len(child) or child.get(_SEGMENT_ATTR) is not None:
                top.append(build(child, name))
            # a bare leaf directly under IDOC is not IDoc content: ignored
        extension = control.get("CIMTYP") or None
        basic = (
            control.get("IDOCTYP")
            or idoc_type
            or (root_name if root_name and root_name != extension else None)
            or control.get("CUSTOMED_EXT_DOC_TYPE")
            or root_name
            or ""
        )
        idoc = IDoc(control=control, idoc_type=basic, extension=extension)
        for segment in top:
            idoc.root.add_child(segment)
        result.append(idoc)
    return result


# --------------------------------------------------------------------------------------------
# Writing


def _tag(name: str, namespace: str | None) -> str:
    escaped = name.replace("/", "_-")
    return f"{{{namespace}}}{escaped}" if namespace else escaped


def _write_segment(parent: etree._Element, segment: Segment, namespace: str | None, attributes: bool) -> None:
    fields = segment.fields()
    element = etree.SubElement(parent, _tag(segment.segment_type, namespace))
    # without attributes an empty segment would read back as an (empty) field
    if attributes or not (fields or segment.children):
        element.set(_SEGMENT_ATTR, "1")
    for name, value in fields.items():
        etree.SubElement(element, _tag(name, namespace)).text = value
    for child in segment.children:
        _write_segment(element, child, namespace, attributes)


def write_idoc_xml(
    idocs: list[IDoc],
    *,
    soap_namespace: bool = False,
    segment_attributes: bool = True,
) -> bytes:
    """Write IDocs as one IDoc-XML document (UTF-8, with XML declaration).

    The root element is the extension (CIMTYP) when set, else the basic type; the control
    record comes first in each ``<IDOC BEGIN="1">`` as ``EDI_DC40``. ``/`` in names is written
    as ``_-``.

    Args:
        idocs: the IDocs; all must share the root name.
        soap_namespace: put everything in the SOAP-IDoc default namespace (SAP's
            ``/sap/bc/srt/idoc`` service, which takes one IDoc per request).
        segment_attributes: write ``SEGMENT="1"`` on segments (an empty segment gets it anyway,
            or it would read back as a field).

    Raises:
        ValueError: no IDocs, IDocs with different root names, a SOAP document with more than
            one IDoc, or a value XML cannot carry.
    """
    if not idocs:
        raise ValueError("write_idoc_xml needs at least one IDoc")
    roots = {idoc.extension or idoc.idoc_type for idoc in idocs}
    if len(roots) != 1 or not next(iter(roots)):
        raise ValueError(f"IDocs of one document need one basic type/extension, got {roots}")
    if soap_namespace and len(idocs) > 1:
        raise ValueError("a SOAP IDoc request carries exactly one IDoc (SAP message EA728)")
    namespace = SOAP_IDOC_NAMESPACE if soap_namespace else None
    root = etree.Element(_tag(next(iter(roots)), namespace), nsmap={None: namespace} if namespace else None)
    for idoc in idocs:
        idoc_element = etree.SubElement(root, _tag(_IDOC, namespace), BEGIN="1")
        control_element = etree.SubElement(idoc_element, _tag(CONTROL_SEGMENT, namespace))
        control_element.set(_SEGMENT_ATTR, "1")
        ordered = [k for k in _CONTROL_ORDER if k in idoc.control]
        ordered += [k for k in idoc.control if k not in _CONTROL_ORDER]
        for name in ordered:
            value = idoc.control[name]
            if value:
                etree.SubElement(control_element, _tag(name, namespace)).text = value
        for segment in idoc.segments:
            _write_segment(idoc_element, segment, namespace, segment_attributes)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
