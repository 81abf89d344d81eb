"""The SAP codec: format sniffing, SourceDocuments per IDoc, errors, and ``idoc show`` data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from adapters.sap import SapCodec, idoc_to_dict
from adapters.sap.errors import DefinitionError
from bridge.document import Codec, SourceDocument
from bridge.errors import ConfigError, DecodeError

DATA = Path(__file__).parents[1] / "data" / "sap"
XML = DATA / "xml"
FLAT = DATA / "flat"
WE60 = DATA / "we60"
CASES = Path(__file__).parents[2] / "mappings" / "sap" / "cases"  # the real samples, one copy each
LOIPRO05 = CASES / "LOIPRO05_S4HANA_Original.xml"
MATMAS05_DMC = CASES / "MATMAS05_DMC_R1CH01007_raw.xml"
MATMAS05_3PL = CASES / "MATMAS05_3PL_material_master.xml"


@pytest.fixture
def codec() -> SapCodec:
    return SapCodec()


def test_the_codec_is_the_sap_system_codec(codec: SapCodec) -> None:
    implementation: Codec = codec
    assert implementation.system == "sap"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(LOIPRO05.read_bytes(), True, id="soap-namespace-idoc-xml"),
        pytest.param(MATMAS05_3PL.read_bytes(), True, id="plain-idoc-xml"),
        pytest.param(b"\xef\xbb\xbf\n  " + MATMAS05_3PL.read_bytes(), True, id="bom-and-blanks"),
        pytest.param(
            b"<s:Envelope xmlns:s='x'><s:Body><M><ns:IDOC xmlns:ns='y'><EDI_DC40/>", True, id="soap-envelope"
        ),
        pytest.param((FLAT / "zbrtest01.txt").read_bytes(), True, id="flat"),
        pytest.param(
            (FLAT / "zbrtest01_v2.txt").read_bytes(), True, id="flat-version-2-to-explain-the-rejection"
        ),
        pytest.param(
            b"<rfc:Response xmlns:rfc='urn:x'><ES_RETURN/></rfc:Response>", False, id="rfc-response"
        ),
        pytest.param(b"<IDOCS><IDOCUMENT/></IDOCS>", False, id="xml-without-control-record"),
        pytest.param(b'{"IDOC": {"EDI_DC40": {}}}', False, id="json"),
        pytest.param(b"E2ZHDR001   some data", False, id="flat-data-without-control"),
        pytest.param(b"", False, id="empty"),
    ],
)
def test_sniff_recognises_idoc_xml_and_flat_idocs(codec: SapCodec, data: bytes, expected: bool) -> None:
    assert codec.sniff(data) is expected


def test_an_xml_idoc_becomes_a_source_document_with_its_control_facts(codec: SapCodec) -> None:
    data = LOIPRO05.read_bytes()
    (document,) = codec.decode(data, origin="loipro05.xml")
    assert isinstance(document, SourceDocument)
    assert (document.system, document.document_type, document.extension) == ("sap", "LOIPRO05", None)
    assert document.document_id == "0000000000430094"
    assert document.instance == "S4HCLNT100"
    assert document.version == "20231128083400705437"
    assert document.created == ("20231128", "093405")
    assert document.origin == "loipro05.xml"
    assert document.fingerprint == hashlib.sha256(data).hexdigest()[:16]
    assert document.meta == {
        "MESTYP": "LOIPRO",
        "SNDPOR": "SAPS4H",
        "SNDPRT": "LS",
        "RCVPOR": "DMC_EDGE",
        "RCVPRT": "LS",
        "RCVPRN": "DMCEDGE",
        "DIRECT": "1",
        "ARCKEY": "urn:sap.com:msgid=F1E27A082FAC1EDEA3B91C676718B61E",
        "MANDT": "100",
    }
    assert document.tree["EDI_DC40"][0]["CREDAT"] == "20231128"
    assert document.tree["E1AFKOL"][0]["AUFNR"] == "1895938"
    assert document.label == "loipro05.xml DOCNUM 0000000000430094"


def test_an_idoc_without_docnum_or_dates_leaves_those_facts_empty(codec: SapCodec) -> None:
    (document,) = codec.decode(MATMAS05_DMC.read_bytes())
    assert (document.document_id, document.version, document.created) == (None, None, ())
    assert document.instance == "AX2012 Manu"
    assert document.meta == {"MESTYP": "MATMAS"}


@pytest.mark.parametrize(
    ("control", "version", "created"),
    [
        pytest.param(
            "<CREDAT>20240223</CREDAT><CRETIM>143621</CRETIM>",
            "20240223143621",
            ("20240223", "143621"),
            id="date-and-time",
        ),
        pytest.param("<CREDAT>20240223</CREDAT>", "20240223", ("20240223",), id="date-only"),
        pytest.param("<SERIAL>7</SERIAL><CREDAT>20240223</CREDAT>", "7", ("20240223",), id="serial-wins"),
    ],
)
def test_the_version_is_serial_else_creation_date_and_time(
    codec: SapCodec, control: str, version: str, created: tuple[str, ...]
) -> None:
    data = (
        f"<MATMAS05><IDOC><EDI_DC40>{control}</EDI_DC40><E1MARAM><MATNR>1</MATNR></E1MARAM></IDOC></MATMAS05>"
    )
    (document,) = codec.decode(data.encode())
    assert (document.version, document.created) == (version, created)


def test_a_flat_file_with_two_idocs_gives_two_documents_with_numbered_fingerprints(
    codec: SapCodec,
) -> None:
    data = (FLAT / "zbrtest01_two_idocs.txt").read_bytes()
    first, second = codec.decode(data, origin="two.txt", definitions=[WE60])
    digest = hashlib.sha256(data).hexdigest()[:16]
    assert (first.fingerprint, second.fingerprint) == (f"{digest}-1", f"{digest}-2")
    assert (first.document_id, second.document_id) == ("0000000000123456", "0000000000123457")
    assert first.document_type == second.document_type == "ZBRTEST01"
    assert second.tree["E1ZHDR"][0]["PLANT"] == "2000"


def test_definitions_given_to_the_codec_are_used_on_every_call() -> None:
    codec = SapCodec(definitions=[WE60 / "zbrtest01.txt"])
    (document,) = codec.decode((FLAT / "zbrtest01.txt").read_bytes())
    assert document.tree["E1ZOPR"][0]["E1ZSTS"][0]["STAT"] == "I0002"
    (with_ext,) = codec.decode(
        (FLAT / "zbrtest01_ext.txt").read_bytes(), definitions=[WE60 / "zbrtest_ext.txt"]
    )
    assert with_ext.extension == "/BRG/ZBRTEST_EXT"
    assert with_ext.tree["E1ZOPR"][0]["/BRG/Z1OPREXT"][0]["CREW"] == "CREW-7"


def test_the_idoc_type_option_fills_in_a_missing_idoctyp(codec: SapCodec) -> None:
    data = b"<IDOC><EDI_DC40><DOCNUM>5</DOCNUM></EDI_DC40><E1X><F>1</F></E1X></IDOC>"
    (document,) = codec.decode(data, idoc_type="ZTYPE01")
    assert document.document_type == "ZTYPE01"


def test_a_flat_idoc_of_an_unknown_type_names_file_docnum_and_the_option(codec: SapCodec) -> None:
    with pytest.raises(DefinitionError) as caught:
        codec.decode((FLAT / "zbrtest01.txt").read_bytes(), origin="orders.txt")
    error = caught.value
    assert (error.source, error.document_id) == ("orders.txt", "0000000000123456")
    assert "ZBRTEST01" in str(error)
    assert "--definitions PATH" in str(error)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(MATMAS05_3PL.read_bytes()[:3000], "not well-formed XML", id="truncated-xml"),
        pytest.param((FLAT / "zbrtest01_truncated.txt").read_bytes(), "SEGNUM", id="truncated-flat"),
        pytest.param((FLAT / "zbrtest01_v2.txt").read_bytes(), "record type version 2", id="version-2-flat"),
        pytest.param(b'{"json": true}', "neither IDoc-XML nor a flat IDoc", id="not-an-idoc"),
    ],
)
def test_decoding_errors_name_the_origin(codec: SapCodec, data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as caught:
        codec.decode(data, origin="inbox/file.dat", definitions=[WE60])
    assert caught.value.source == "inbox/file.dat"
    assert str(caught.value).startswith("inbox/file.dat")


def test_the_size_limit_applies_to_flat_files_too(codec: SapCodec) -> None:
    with pytest.raises(DecodeError, match="larger than the limit of 100 bytes"):
        codec.decode((FLAT / "zbrtest01.txt").read_bytes(), definitions=[WE60], max_bytes=100)


def test_an_unknown_option_is_a_config_error(codec: SapCodec) -> None:
    with pytest.raises(ConfigError, match="unknown SAP codec option"):
        codec.decode(MATMAS05_3PL.read_bytes(), strict=True)


def test_decode_idocs_gives_the_idoc_trees_for_tools(codec: SapCodec) -> None:
    (idoc,) = codec.decode_idocs(MATMAS05_3PL.read_bytes(), origin="matmas.xml")
    assert idoc.idoc_type == "MATMAS05"
    assert idoc.root["E1MARAM"][0]["MATNR"] == "000000000123456789"


def test_idoc_show_data_lists_control_segments_and_children_in_order(codec: SapCodec) -> None:
    (idoc,) = codec.decode_idocs((FLAT / "zbrtest01.txt").read_bytes(), definitions=[WE60])
    shown = idoc_to_dict(idoc)
    json.dumps(shown)  # plain data
    assert (shown["idoc_type"], shown["extension"]) == ("ZBRTEST01", None)
    assert shown["control"]["DOCNUM"] == "0000000000123456"
    assert [s["type"] for s in shown["segments"]] == ["E1ZHDR", "E1ZOPR", "E1ZOPR", "E1ZTRL"]
    operation = shown["segments"][1]
    assert (operation["definition"], operation["segnum"]) == ("E2ZOPR002", 2)
    assert operation["fields"] == {"VORNR": "0010", "ARBPL": "WC-01", "LTXA1": "  Cut to length"}
    component = operation["children"][2]
    assert component == {
        "type": "E1ZCMP",
        "definition": "E2ZCMP001",
        "segnum": 5,
        "fields": {"MATNR": "RM-100", "BDMNG": "2.500", "MEINS": "KGM"},
        "children": [
            {
                "type": "E1ZCMT",
                "definition": "E2ZCMT000",
                "segnum": 6,
                "fields": {"TDLINE": "Handle with care"},
                "children": [],
            }
        ],
    }
