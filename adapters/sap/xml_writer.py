"""IDoc trees -> IDoc-XML as SAP's XML file port and SOAP IDoc service write it."""

from __future__ import annotations

from lxml import etree

from adapters.sap.model import IDoc, Segment

__all__ = ["CONTROL_SEGMENT", "IDOC_ELEMENT", "SEGMENT_ATTRIBUTE", "SOAP_IDOC_NAMESPACE", "write_idoc_xml"]

SOAP_IDOC_NAMESPACE = "urn:sap-com:document:sap:idoc:soap:messages"
CONTROL_SEGMENT = "EDI_DC40"
IDOC_ELEMENT = "IDOC"
SEGMENT_ATTRIBUTE = "SEGMENT"
_IDOC = IDOC_ELEMENT
_SEGMENT_ATTR = SEGMENT_ATTRIBUTE
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
