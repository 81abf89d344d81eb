"""Ingest names an IDoc from its control record alone (SapCodec.identify): the same facts the
full decode gives, without decoding the document (translate does that, once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sap import codec as codec_module
from adapters.sap.codec import SapCodec
from bridge.errors import DecodeError
from bridge.pipeline.ingest import identify

from ..conftest import DATA, MAPPINGS

WE60 = DATA / "sap" / "we60"
SAMPLES = [
    *sorted((MAPPINGS / "sap" / "cases").glob("*.xml")),
    *sorted((MAPPINGS / "sap" / "cases").glob("*.idoc")),
    *sorted((DATA / "sap" / "xml").glob("*.xml")),
    *sorted((DATA / "sap" / "flat").glob("zbrtest01*.txt")),
]
CODEC = SapCodec([WE60])


def _decodable(path: Path) -> bool:
    try:
        CODEC.decode(path.read_bytes())
    except DecodeError:
        return False
    return True


@pytest.mark.parametrize("sample", [s for s in SAMPLES if _decodable(s)], ids=lambda p: p.name[-45:])
def test_identify_gives_the_facts_decode_gives(sample: Path) -> None:
    data = sample.read_bytes()
    documents = CODEC.decode(data)
    identity = CODEC.identify(data)
    assert identity.document_types == tuple(d.document_type for d in documents)
    assert identity.document_id == documents[0].document_id
    assert identity.instance == documents[0].instance


def test_an_explicit_idoc_type_wins_in_identify_too() -> None:
    data = (MAPPINGS / "sap" / "cases" / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    assert CODEC.identify(data, idoc_type="ZJUNK01").document_types == ("ZJUNK01",)


def test_identify_reads_no_further_than_the_control_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("identify decoded the whole document")

    monkeypatch.setattr(codec_module, "read_idocs_xml", must_not_decode)
    monkeypatch.setattr(codec_module, "read_idocs_flat", must_not_decode)
    xml = (MAPPINGS / "sap" / "cases" / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    broken_after_control = xml.replace(b"</E1AFKOL>", b"</E1AFKOX>", 1)
    assert CODEC.identify(broken_after_control).document_id == "0000000000430094"
    flat = (MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc").read_bytes()
    assert CODEC.identify(flat).document_types == ("MATMAS05",)


def test_a_document_broken_after_its_control_record_is_ingested_under_its_docnum() -> None:
    xml = (MAPPINGS / "sap" / "cases" / "LOIPRO05_S4HANA_Original.xml").read_bytes()
    broken = xml.replace(b"</E1AFKOL>", b"</E1AFKOX>", 1)
    raw = identify(broken, system="sap", origin="broken.xml", codec=CODEC, options={})
    assert raw.message_id.startswith("sap:S4HCLNT100:0000000000430094:")
    assert raw.document_type == "LOIPRO05"
    with pytest.raises(DecodeError, match="E1AFKOX"):
        CODEC.decode(broken)  # translate says what is wrong, naming the DOCNUM


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"<MATMAS05><IDOC><E1X/></IDOC></MATMAS05>", "no <IDOC> with an EDI_DC40", id="no control"),
        pytest.param(b"<MATMAS05><IDOC><EDI_DC40><DOCNUM>1</DOCN", "not well-formed", id="cut in the control"),
        pytest.param(b"EDI_DC40  100", "control record ends at column", id="flat control cut"),
        pytest.param(b"hello", "neither IDoc-XML nor a flat IDoc", id="neither"),
    ],
)
def test_what_cannot_be_named_is_a_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        CODEC.identify(data, origin="x")
    assert identify(data, system="sap", origin="x", codec=CODEC, options={}).document_type == "unknown"
