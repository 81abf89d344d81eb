"""SOAP 1.1 as SAP's web service runtime speaks it: the envelope in, the response or a Fault out.

Requests are parsed hardened (no DTD, no entities, no network, size checked by the caller).
Responses put ``<BAPI>Response`` in the rfc:functions namespace with unqualified children,
every output parameter present and initial fields written as SAP writes them.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from adapters.sap.bapi_interfaces import BAPIS, STRUCTURES, Param
from adapters.sap.simulator.ddic import initial_value
from adapters.sap.wsdl_writer import RFC_NS

__all__ = ["SOAP_ENV", "SoapError", "fault", "parse_envelope", "response"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
                   "huge_tree": False, "remove_comments": True, "remove_pis": True, "collect_ids": False}


class SoapError(ValueError):
    """A request that is no usable SOAP 1.1 call (answered with a Client Fault)."""


def parse_envelope(body: bytes) -> etree._Element:
    """The one element in the envelope's Body.

    Raises:
        SoapError: not XML, a DTD or entity declaration, not a SOAP 1.1 envelope, or a Body
            without exactly one element.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise SoapError("the request carries a DTD or entity declaration; refused")
    try:
        root = etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise SoapError(f"the request is not well-formed XML: {exc.msg}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapError(f"expected a SOAP 1.1 Envelope, got <{etree.QName(root).localname}>")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise SoapError("the SOAP envelope has no Body")
    elements = [child for child in soap_body if isinstance(child.tag, str)]
    if len(elements) != 1:
        raise SoapError(f"the SOAP Body holds {len(elements)} elements, expected 1")
    return elements[0]


def _fill(parent: etree._Element, struct: str, values: dict[str, str]) -> None:
    for name, kind in STRUCTURES[struct].items():
        value = values.get(name)
        etree.SubElement(parent, name).text = initial_value(kind) if value in (None, "") else value


def _write_param(parent: etree._Element, param: Param, value: Any) -> None:
    element = etree.SubElement(parent, param.name)
    if param.shape == "field":
        assert isinstance(param.type, tuple)
        element.text = initial_value(param.type) if value in (None, "") else str(value)
    elif param.shape == "structure":
        _fill(element, str(param.type), value or {})
    else:
        for row in value or ():
            _fill(etree.SubElement(element, "item"), str(param.type), row)


def response(bapi_name: str, outputs: dict[str, Any]) -> bytes:
    """The SOAP envelope answering ``bapi_name`` with ``outputs`` (missing ones initial)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    answer = etree.SubElement(body, f"{{{RFC_NS}}}{bapi_name}Response", nsmap={"n0": RFC_NS})
    for param in sorted(BAPIS[bapi_name].outputs, key=lambda p: p.name):  # the WSDL's order
        _write_param(answer, param, outputs.get(param.name))
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault(message: str, *, code: str = "Server") -> bytes:
    """A SOAP 1.1 Fault with ``message`` as its faultstring (``code``: Client or Server)."""
    return (
        "<?xml version='1.0' encoding='utf-8'?>"
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Body><soap-env:Fault>'
        f"<faultcode>soap-env:{code}</faultcode><faultstring xml:lang=\"en\">{escape(message)}</faultstring>"
        "<detail/></soap-env:Fault></soap-env:Body></soap-env:Envelope>"
    ).encode()
