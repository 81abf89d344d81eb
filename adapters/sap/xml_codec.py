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

from adapters.sap.xml_parser import parse_xml_hardened
from adapters.sap.xml_reader import XmlIDoc, parse_idoc_xml, read_idocs_xml
from adapters.sap.xml_writer import SOAP_IDOC_NAMESPACE, write_idoc_xml
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
