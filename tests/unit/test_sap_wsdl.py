"""The committed WSDL files are what adapters.sap.wsdl_writer writes now, and zeep can use each."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from zeep import Client, Settings, xsd

from adapters.sap.bapi_interfaces import BAPIS, service_name
from adapters.sap.wsdl_writer import DEFAULT_DIR, RFC_NS, write_all, wsdl_bytes

SETTINGS = Settings(strict=False, xml_huge_tree=True)
NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "xsd": "http://www.w3.org/2001/XMLSchema",
      "soap": "http://schemas.xmlsoap.org/wsdl/soap/"}


def _client(bapi: str) -> Client:
    return Client(str(DEFAULT_DIR / f"{bapi}.wsdl"), settings=SETTINGS)


def test_one_committed_file_per_bapi_and_no_other() -> None:
    assert sorted(p.stem for p in DEFAULT_DIR.glob("*.wsdl")) == sorted(BAPIS)


@pytest.mark.parametrize("bapi", sorted(BAPIS))
def test_committed_file_equals_what_the_writer_writes_now(bapi: str) -> None:
    committed = (DEFAULT_DIR / f"{bapi}.wsdl").read_bytes()
    assert committed == wsdl_bytes(bapi), f"regenerate: python -m adapters.sap.wsdl_writer ({bapi}.wsdl is stale)"


def test_writer_writes_into_the_given_directory(tmp_path: Path) -> None:
    written = write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{b}.wsdl" for b in BAPIS)
    assert all(p.read_bytes() == (DEFAULT_DIR / p.name).read_bytes() for p in written)


def test_labelled_as_not_sap_output() -> None:
    text = (DEFAULT_DIR / "BAPI_GOODSMVT_CREATE.wsdl").read_text(encoding="utf-8")
    head = text[: text.index("<wsdl:definitions")]
    assert "not SAP's output" in head
    assert "SE37" in head


def _optional_of(bapi: str) -> dict[str, bool]:
    root = etree.fromstring(wsdl_bytes(bapi))
    elements = root.xpath(f"//xsd:schema/xsd:element[@name='{bapi}']//xsd:sequence/xsd:element", namespaces=NS)
    return {e.get("name"): e.get("minOccurs") == "0" for e in elements}


@pytest.mark.parametrize("bapi", sorted(BAPIS))
def test_request_params_and_their_optionality_follow_bapi_interfaces(bapi: str) -> None:
    assert _optional_of(bapi) == {p.name: p.optional for p in BAPIS[bapi].inputs}


def test_soamanager_names_types_and_address() -> None:
    root = etree.fromstring(wsdl_bytes("BAPI_PRODORDCONF_CREATE_TT"))
    schema = root.find("wsdl:types/xsd:schema", NS)
    assert schema.get("attributeFormDefault") == "qualified"
    assert schema.get("elementFormDefault") is None
    date10 = schema.find("xsd:simpleType[@name='date10']/xsd:restriction/xsd:pattern", NS)
    assert date10.get("value") == r"\d\d\d\d-\d\d-\d\d"
    quantum = schema.find("xsd:simpleType[@name='quantum13.3']/xsd:restriction", NS)
    assert quantum.get("base") == "xsd:decimal"
    assert quantum.find("xsd:totalDigits", NS).get("value") == "13"
    assert schema.find("xsd:simpleType[@name='numeric10']/xsd:restriction/xsd:pattern", NS).get("value") == r"\d*"
    item = schema.find("xsd:complexType[@name='TABLE_OF_BAPI_PP_TIMETICKET']/xsd:sequence/xsd:element", NS)
    assert (item.get("name"), item.get("maxOccurs")) == ("item", "unbounded")
    svc = service_name("BAPI_PRODORDCONF_CREATE_TT")
    action = root.find(f"wsdl:binding[@name='{svc}_BINDING']/wsdl:operation/soap:operation", NS).get("soapAction")
    assert action == f"{RFC_NS}:{svc}:BAPI_PRODORDCONF_CREATE_TTRequest"
    assert root.find(f"wsdl:binding[@name='{svc}_BINDING_SOAP12']", NS) is not None
    address = root.find(f"wsdl:service[@name='{svc}_SEV']/wsdl:port/soap:address", NS).get("location")
    assert address == ("http://localhost:8000/sap/bc/srt/rfc/sap/zws_bapi_prodordconf_create_tt/100/"
                       "zws_bapi_prodordconf_create_tt_sev/zws_bapi_prodordconf_create_tt_binding")


@pytest.mark.parametrize("bapi", sorted(BAPIS))
def test_zeep_loads_each_file_and_builds_a_request(bapi: str) -> None:
    client = _client(bapi)
    svc = service_name(bapi)
    service = client.bind(f"{svc}_SEV", f"{svc}_BINDING")
    args: dict[str, object] = {}
    for param in BAPIS[bapi].inputs:
        if param.optional:
            args[param.name] = xsd.SkipValue
        elif param.shape == "field":
            args[param.name] = "0000000001"
        elif param.shape == "table":
            args[param.name] = {"item": []}
        else:
            args[param.name] = {}
    envelope = client.create_message(service, bapi, **args)
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    request = body[0]
    assert request.tag == f"{{{RFC_NS}}}{bapi}"
    sent = {child.tag for child in request}
    required = {p.name for p in BAPIS[bapi].inputs if not p.optional}
    assert sent == required  # unqualified children, optional ones left out


def test_zeep_request_carries_a_timeticket_line_unqualified() -> None:
    client = _client("BAPI_PRODORDCONF_CREATE_TT")
    service = client.bind("ZWS_BAPI_PRODORDCONF_CREATE_TT_SEV", "ZWS_BAPI_PRODORDCONF_CREATE_TT_BINDING")
    ticket = {"ORDERID": "000001001528", "OPERATION": "0020", "YIELD": "3.000"}
    envelope = client.create_message(
        service, "BAPI_PRODORDCONF_CREATE_TT", TIMETICKETS={"item": [ticket]},
        POST_WRONG_ENTRIES=xsd.SkipValue, TESTRUN=xsd.SkipValue, GOODSMOVEMENTS=xsd.SkipValue,
        LINK_CONF_GOODSMOV=xsd.SkipValue, DETAIL_RETURN=xsd.SkipValue,
    )
    assert envelope.findtext(".//TIMETICKETS/item/ORDERID") == "000001001528"
    assert envelope.findtext(".//TIMETICKETS/item/YIELD") == "3.000"
