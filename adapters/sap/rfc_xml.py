"""RFC function calls as SOAP body XML (``urn:sap-com:document:sap:rfc:functions``).

SAP exposes a BAPI as a web service with the function name as the element in the
``rfc:functions`` namespace, unqualified parameter elements, and table parameters as
repeated ``<item>`` (see reference §5.2). Responses carry BAPI return structures whose
``TYPE`` E or A means the call failed on business grounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.sap.errors import IDocError
from adapters.sap.xml_codec import parse_xml_hardened
from bridge.errors import BusinessRejection

__all__ = ["RFC_NAMESPACE", "ReturnMessage", "check_rfc_response", "parse_rfc_response", "render_rfc_xml"]

RFC_NAMESPACE = "urn:sap-com:document:sap:rfc:functions"
#: BAPI return TYPE values that mean failure (error, abort).
FAILURE_TYPES = frozenset({"E", "A"})


def _append(parent: etree._Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        table = etree.SubElement(parent, name)
        for row in value:
            _append(table, "item", row)
        return
    element = etree.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _append(element, str(key), inner)
    elif isinstance(value, bool):
        element.text = "X" if value else ""
    else:
        element.text = str(value)


def render_rfc_xml(function: str, payload: Mapping[str, Any]) -> bytes:
    """``<rfc:FUNCTION>`` with the payload's parameters; lists become tables of ``<item>``."""
    root = etree.Element(etree.QName(RFC_NAMESPACE, function), nsmap={"rfc": RFC_NAMESPACE})
    for key, value in payload.items():
        _append(root, str(key), value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True, slots=True)
class ReturnMessage:
    """One BAPI return message (BAPIRET1/BAPIRET2/BAPI_CORU_RETURN-like)."""

    type: str
    id: str
    number: str
    message: str
    fields: Mapping[str, str]

    @property
    def failed(self) -> bool:
        """Whether this message reports an error or abort."""
        return self.type in FAILURE_TYPES


def _as_dict(element: etree._Element) -> dict[str, str]:
    return {etree.QName(c).localname: (c.text or "").strip() for c in element if isinstance(c.tag, str)}


def parse_rfc_response(data: bytes) -> tuple[str, list[ReturnMessage]]:
    """The response element's name and every return message in it (any RETURN-like parameter)."""
    root = parse_xml_hardened(data, source="RFC response")
    body = root
    if etree.QName(root).localname == "Envelope":
        found = root.find("{*}Body")
        if found is None or not len(found):
            raise IDocError("SOAP envelope without a body")
        body = found[0]
    messages = []
    for element in body.iter():
        if not isinstance(element.tag, str) or element is body:
            continue
        values = _as_dict(element)
        if "TYPE" in values and "MESSAGE" in values:
            messages.append(
                ReturnMessage(
                    values.get("TYPE", ""),
                    values.get("ID", ""),
                    values.get("NUMBER", ""),
                    values.get("MESSAGE", ""),
                    values,
                )
            )
    return etree.QName(body).localname, messages


def check_rfc_response(data: bytes) -> list[ReturnMessage]:
    """Return the messages; raise BusinessRejection naming the first E/A message."""
    name, messages = parse_rfc_response(data)
    failures = [m for m in messages if m.failed]
    if failures:
        first = failures[0]
        raise BusinessRejection(
            f"{name}: SAP rejected the call: {first.type} {first.id}/{first.number}: {first.message}"
        )
    return messages
