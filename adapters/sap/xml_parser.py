"""The hardened XML parsers behind every SAP XML document: size limit first, no DTD or entity,
no network, UTF-16/32 read as UTF-8, and syntax errors on one line with the position in the
bytes as given."""

from __future__ import annotations

import threading

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.xml_encoding import as_utf8
from bridge.errors import DecodeError
from bridge.limits import check_size

__all__ = ["PARSER_OPTIONS", "parse_tree", "parse_xml_hardened", "prepared", "pull_parser", "syntax_error"]

_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_DTD_MARKERS_UTF16 = tuple(
    m.decode("ascii").encode(enc) for m in _DTD_MARKERS for enc in ("utf-16-le", "utf-16-be")
)
_ANY_IDOC = "{*}IDOC"  # in any namespace or none


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
PARSER_OPTIONS = {
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


def _parser() -> etree.XMLParser:
    """This thread's hardened tree parser (building one costs more than parsing a small IDoc)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(**PARSER_OPTIONS)
    return parser


def pull_parser() -> etree.XMLPullParser:
    """A hardened streaming parser reporting where each ``<IDOC>`` starts and ends."""
    return etree.XMLPullParser(events=("start", "end"), tag=_ANY_IDOC, **PARSER_OPTIONS)


def syntax_error(exc: etree.XMLSyntaxError, source: str | None, shift: tuple[int, int, int] | None) -> DecodeError:
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


def prepared(data: bytes, source: str | None, max_bytes: int | None) -> bytes:
    check_size(data, max_bytes, source=source)
    data = as_utf8(data, source=source)
    _reject_dtd(data, source)
    return data


def parse_tree(
    data: bytes, source: str | None, shift: tuple[int, int, int] | None = None
) -> etree._Element:
    etree.clear_error_log()  # so that the log holds only this document's errors
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, source, shift) from exc
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
    return parse_tree(prepared(data, source, max_bytes), source)


