"""RFC calls as SOAP body XML, and BAPI return messages read from real responses."""

from __future__ import annotations

import pytest
from lxml import etree

from adapters.sap.rfc_xml import RFC_NAMESPACE, check_rfc_response, parse_rfc_response, render_rfc_xml
from bridge.errors import BusinessRejection, DecodeError

from ..conftest import DATA

RESPONSE = (
    DATA
    / "sap"
    / "rfc"
    / "SAP-samples__digital-manufacturing-extension-samples__OutboundFromSAPDMToNonSAPERPExample__PRODORDCONF_CREATE_TT_RESPONSE.xml"
)


def test_render_puts_parameters_unqualified_and_tables_in_items():
    xml = render_rfc_xml(
        "BAPI_PRODORDCONF_CREATE_TT",
        {
            "POST_WRONG_ENTRIES": "0",
            "TIMETICKETS": [{"ORDERID": "000208277436", "YIELD": "3.000"}],
            "TESTRUN": None,
        },
    )
    root = etree.fromstring(xml)
    assert root.tag == f"{{{RFC_NAMESPACE}}}BAPI_PRODORDCONF_CREATE_TT"
    assert root.findtext("POST_WRONG_ENTRIES") == "0"
    assert root.findtext("TIMETICKETS/item/ORDERID") == "000208277436"
    assert root.find("TESTRUN") is None


def test_the_real_dmc_confirmation_response_reads_as_success():
    name, messages = parse_rfc_response(RESPONSE.read_bytes())
    assert name == "CO_MES_PRODORDCONF_CREATE_TT.Response"
    assert [(m.type, m.id, m.number) for m in messages if m.type] == [
        ("I", "RU", "100"),
        ("S", "CO_MES_INT", "037"),
    ]
    confirmation = next(m for m in messages if m.id == "RU")
    assert confirmation.fields["CONF_NO"] == "0000001114"
    assert check_rfc_response(RESPONSE.read_bytes())


def test_an_error_message_in_the_response_is_a_business_rejection():
    failed = RESPONSE.read_bytes().replace(b"<TYPE>I</TYPE>", b"<TYPE>E</TYPE>", 1)
    with pytest.raises(BusinessRejection, match="E RU/100: Confirmation of order 000208277436 saved"):
        check_rfc_response(failed)


def test_a_soap_envelope_is_unwrapped_and_entities_are_refused():
    envelope = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        + RESPONSE.read_bytes().split(b"?>", 1)[-1]
        + b"</soap:Body></soap:Envelope>"
    )
    assert parse_rfc_response(envelope)[0] == "CO_MES_PRODORDCONF_CREATE_TT.Response"
    with pytest.raises(DecodeError, match="DTD"):
        parse_rfc_response(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')
