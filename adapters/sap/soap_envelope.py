"""SOAP-wrapped IDocs: the IDoc-XML document inside a SOAP envelope, and the envelopes answered.

SAP PI/CPI and SAP's own SOAP IDoc port (``/sap/bc/srt/idoc``) send one IDoc document as the
only child of a SOAP 1.1 ``Body`` (its root in the namespace
``urn:sap-com:document:sap:idoc:soap:messages``); SOAP 1.2 envelopes are read the same way.
The bridge ingests the IDoc-XML document itself, serialised on its own (UTF-8, namespace
declarations it does not use dropped), so translate decodes it like any IDoc-XML file and a
re-sent envelope gives the same bytes, hence the same message id.
"""

from __future__ import annotations

import copy
import re

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.xml_encoding import text_head
from adapters.sap.xml_parser import parse_xml_hardened

__all__ = ["SOAP11", "SOAP12", "is_soap_envelope", "soap_fault", "soap_reply", "unwrap_idoc"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_SOAP_NAMESPACES = (SOAP11, SOAP12)
_HEAD_BYTES = 4096
# the first element's name, after the XML declaration, comments and processing instructions
_ROOT_NAME = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def is_soap_envelope(data: bytes) -> bool:
    """Whether the document's root element is named ``Envelope`` (in whichever prefix)."""
    match = _ROOT_NAME.search(text_head(data, _HEAD_BYTES))
    return match is not None and match.group(1) == b"Envelope"


def unwrap_idoc(data: bytes, *, source: str, max_bytes: int) -> bytes | None:
    """The IDoc-XML document a SOAP envelope carries, as UTF-8 bytes of its own; None when the
    root element is no SOAP 1.1 or 1.2 Envelope after all (the document is taken as it is).

    Raises:
        DecodeError: not well-formed or hostile XML (parsed hardened: no DTD, entities or
            network), or an envelope whose Body does not hold exactly one element.
    """
    root = parse_xml_hardened(data, source=source, max_bytes=max_bytes)
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or namespace not in _SOAP_NAMESPACES:
        return None
    bodies = root.findall(f"{{{namespace}}}Body")
    if len(bodies) != 1:
        raise IDocError(f"the SOAP envelope has {len(bodies)} Body elements, expected one", source=source)
    children = [child for child in bodies[0] if isinstance(child.tag, str)]
    if len(children) != 1:
        raise IDocError(
            f"the SOAP Body holds {len(children)} elements; expected one IDoc document", source=source
        )
    document = copy.deepcopy(children[0])  # on its own: the envelope's declarations are not all needed
    etree.cleanup_namespaces(document)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", with_tail=False)


def _envelope(body_child: etree._Element | None = None) -> bytes:
    envelope = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap-env": SOAP11})
    etree.SubElement(envelope, f"{{{SOAP11}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP11}}}Body")
    if body_child is not None:
        body.append(body_child)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def soap_reply() -> bytes:
    """The answer to an IDoc taken in: an envelope with an empty Body (SAP's one-way reply)."""
    return _envelope()


def soap_fault(code: str, reason: str) -> bytes:
    """A SOAP 1.1 Fault: ``code`` is ``Client`` (the sender's document) or ``Server``."""
    fault = etree.Element(f"{{{SOAP11}}}Fault", nsmap={"soap-env": SOAP11})
    etree.SubElement(fault, "faultcode").text = f"soap-env:{code}"
    etree.SubElement(fault, "faultstring").text = reason
    return _envelope(fault)
