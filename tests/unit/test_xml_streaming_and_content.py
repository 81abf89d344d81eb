"""IDoc-XML read as a stream: mixed content refused, UTF-16/32 read, the explicit type wins,
and the result never depends on where the parser's chunks are cut."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap import xml_reader
from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_codec import parse_idoc_xml, read_idocs_xml, write_idoc_xml
from adapters.sap.xml_encoding import as_utf8, wide_encoding
from bridge.cli import main
from bridge.errors import DecodeError

XML = Path(__file__).parents[1] / "data" / "sap" / "xml"
MAPPINGS = Path(__file__).parents[2] / "mappings"
SAMPLES = sorted(XML.glob("*.xml")) + sorted((MAPPINGS / "sap" / "cases").glob("*.xml"))
MATMAS = MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.xml"

CONTROL = "<EDI_DC40 SEGMENT=\"1\"><DOCNUM>42</DOCNUM><IDOCTYP>LOIPRO05</IDOCTYP></EDI_DC40>"


def _idoc(body: str, control: str = CONTROL) -> bytes:
    return f"<LOIPRO05><IDOC BEGIN=\"1\">{control}{body}</IDOC></LOIPRO05>".encode()


# -- mixed content: neither a field nor a segment ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param('<E1AFKOL SEGMENT="1"><AUFNR>208277437<B>9</B></AUFNR></E1AFKOL>', "<AUFNR>", id="field-with-child"),
        pytest.param('<E1AFKOL SEGMENT="1"><AUFNR><B>9</B>208277437</AUFNR></E1AFKOL>', "<AUFNR>", id="text-after-child"),
        pytest.param('<E1AFKOL SEGMENT="1">stray<AUFNR>1</AUFNR></E1AFKOL>', "<E1AFKOL>", id="text-in-segment"),
        pytest.param('<E1AFKOL SEGMENT="1"><AUFNR>1</AUFNR>stray</E1AFKOL>', "<E1AFKOL>", id="text-between-fields"),
        pytest.param('<E1AFKOL SEGMENT="1"><AUFNR>1</AUFNR></E1AFKOL>stray', "<IDOC>", id="text-between-segments"),
        pytest.param('<E1AFKOL SEGMENT="1"><E1AFFLL SEGMENT="1">x<F>1</F></E1AFFLL></E1AFKOL>', "<E1AFFLL>", id="nested"),
    ],
)
@pytest.mark.parametrize("chunk", [None, 1, 5, 64], ids=lambda c: f"chunk-{c or 'whole'}")
def test_an_element_mixing_text_and_elements_is_refused_naming_it(
    body: str, named: str, chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if chunk:
        monkeypatch.setattr(xml_reader, "_FEED_BYTES", chunk)
    with pytest.raises(DecodeError) as caught:
        parse_idoc_xml(_idoc(body), source="mixed.xml")
    message = str(caught.value)
    assert message.startswith(f"mixed.xml: element {named} at line 1 mixes text")
    assert "\n" not in message


def test_the_issue_example_names_the_field_and_shows_its_text() -> None:
    data = _idoc('<E1AFKOL SEGMENT="1"><AUFNR>208277437<B>9</B></AUFNR></E1AFKOL>')
    with pytest.raises(DecodeError, match=r"element <AUFNR> at line 1 mixes text \('208277437'\) with elements beside <B>"):
        SapCodec().decode(data, origin="order.xml")


def test_a_control_record_field_holding_elements_is_refused() -> None:
    control = '<EDI_DC40 SEGMENT="1"><DOCNUM><X>42</X></DOCNUM></EDI_DC40>'
    with pytest.raises(DecodeError, match="control record field <DOCNUM> at line 1 holds elements"):
        parse_idoc_xml(_idoc('<E1AFKOL SEGMENT="1"><AUFNR>1</AUFNR></E1AFKOL>', control))


def test_blank_text_between_elements_is_layout_not_content() -> None:
    pretty = _idoc('\n  <E1AFKOL SEGMENT="1">\n    <AUFNR>1</AUFNR>\n  </E1AFKOL>\n')
    (idoc,) = parse_idoc_xml(pretty)
    assert idoc.segments[0]["AUFNR"] == "1"


def test_a_field_directly_under_idoc_is_ignored_with_a_warning() -> None:
    data = _idoc('<LOOSE>5</LOOSE><E1AFKOL SEGMENT="1"><AUFNR>1</AUFNR></E1AFKOL>')
    (read,) = read_idocs_xml(data)
    assert read.warnings == ("line 1: <LOOSE> directly under <IDOC> is a field outside any segment: ignored",)
    (document,) = SapCodec().decode(data)
    assert document.warnings == read.warnings


def test_an_idoc_element_inside_a_segment_stays_a_segment() -> None:
    (idoc,) = parse_idoc_xml(_idoc('<E1AFKOL SEGMENT="1"><IDOC><F>1</F></IDOC></E1AFKOL>'))
    assert idoc.segments[0]["IDOC"][0]["F"] == "1"


# -- the explicit type wins --------------------------------------------------------------------


def test_an_explicit_idoc_type_wins_over_the_control_records() -> None:
    data = _idoc('<E1AFKOL SEGMENT="1"><AUFNR>1</AUFNR></E1AFKOL>', CONTROL.replace("LOIPRO05", "JUNK"))
    assert parse_idoc_xml(data)[0].idoc_type == "JUNK"
    assert parse_idoc_xml(data, idoc_type="LOIPRO05")[0].idoc_type == "LOIPRO05"


# -- encodings -------------------------------------------------------------------------------


def _reencoded(path: Path, codec: str, bom: bytes) -> bytes:
    text = path.read_text("utf-8")
    return bom + text.replace('encoding="utf-8"', f'encoding="{codec.upper()}"').encode(codec)


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 LE"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 BE"),
        ("utf-16-le", b"", "UTF-16 LE"),
        ("utf-16-be", b"", "UTF-16 BE"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 LE"),
        ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32 BE"),
        ("utf-32-le", b"", "UTF-32 LE"),
    ],
)
def test_utf16_and_utf32_documents_read_as_their_utf8_original(codec: str, bom: bytes, label: str) -> None:
    data = _reencoded(MATMAS, codec, bom)
    assert wide_encoding(data)[0] == label  # type: ignore[index]
    assert SapCodec().sniff(data)
    assert parse_idoc_xml(data) == parse_idoc_xml(MATMAS.read_bytes())


def test_a_utf16_document_translates_like_its_utf8_original(tmp_path: Path) -> None:
    wide = tmp_path / "matmas16.xml"
    wide.write_bytes(_reencoded(MATMAS, "utf-16-le", codecs.BOM_UTF16_LE))
    runner = CliRunner()
    original = runner.invoke(main, ["translate", "--mappings", str(MAPPINGS), str(MATMAS)])
    result = runner.invoke(main, ["translate", "--mappings", str(MAPPINGS), str(wide)])
    assert (original.exit_code, result.exit_code) == (0, 0), result.output
    assert result.stdout.replace(wide.name, "X") == original.stdout.replace(MATMAS.name, "X")


def test_bytes_invalid_in_utf16_are_refused_naming_the_encoding_and_offset() -> None:
    data = codecs.BOM_UTF16_LE + "<A>".encode("utf-16-le") + b"\x00\xdc" + "</A>".encode("utf-16-le")
    with pytest.raises(DecodeError, match=r"in UTF-16 LE has bytes that are not valid UTF-16 LE at byte offset 8"):
        as_utf8(data, source="wide.xml")


def test_a_nul_byte_is_a_one_line_error_with_its_position() -> None:
    data = MATMAS.read_bytes()
    at = data.index(b"<MATNR>") + 8
    with pytest.raises(DecodeError) as caught:
        parse_idoc_xml(data[:at] + b"\x00" + data[at:], source="nul.xml")
    message = str(caught.value)
    assert message.startswith("nul.xml: not well-formed XML at line ")
    assert "\n" not in message
    assert ", line " not in message.split(": ", 2)[2]


def test_the_cli_prints_a_nul_byte_error_on_one_line(tmp_path: Path) -> None:
    data = MATMAS.read_bytes()
    broken = tmp_path / "nul.xml"
    broken.write_bytes(data.replace(b"<MATNR>", b"<MATNR>\x00", 1))
    result = CliRunner().invoke(main, ["idoc", "show", str(broken)])
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("bridge: error: nul.xml: not well-formed XML at line ")


# -- streaming: the result never depends on where chunks are cut ------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem[-40:])
@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunk_size_does_not_change_what_is_read(sample: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = read_idocs_xml(sample.read_bytes())
    monkeypatch.setattr(xml_reader, "_FEED_BYTES", chunk)
    cut = read_idocs_xml(sample.read_bytes())
    assert [r.idoc for r in cut] == [r.idoc for r in whole]
    assert [[s.segnum for s in r.idoc.segments] for r in cut] == [[s.segnum for s in r.idoc.segments] for r in whole]


def test_a_syntax_error_names_the_same_position_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    data = MATMAS.read_bytes().replace(b"</MATNR>", b"</MATNX>", 1)
    with pytest.raises(DecodeError) as whole:
        parse_idoc_xml(data)
    monkeypatch.setattr(xml_reader, "_FEED_BYTES", 5)
    with pytest.raises(DecodeError) as cut:
        parse_idoc_xml(data)
    assert str(cut.value) == str(whole.value)
    assert "line " in str(whole.value)


_NAMES = st.sampled_from(["E1AFKOL", "E1AFFLL", "/RB04/YP3_E1X", "Z1CUSTOM"])
_VALUES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")) | st.sampled_from("<>&\"'装配"),
    min_size=1,
    max_size=12,
).map(str.strip).filter(bool)


@st.composite
def _segments(draw: st.DrawFn, depth: int = 0) -> Segment:
    segment = Segment(draw(_NAMES))
    for name in draw(st.lists(st.sampled_from(["AUFNR", "MATNR", "GAMNG", "TEXT"]), max_size=3, unique=True)):
        segment[name] = draw(_VALUES)
    if depth < 2:
        for child in draw(st.lists(_segments(depth + 1), max_size=3)):
            segment.add_child(child)
    if not segment.fields() and not segment.children:
        segment["AUFNR"] = "1"
    return segment


@settings(max_examples=60, deadline=None)
@given(
    tops=st.lists(st.lists(_segments(), min_size=1, max_size=4), min_size=1, max_size=3),
    chunk=st.integers(min_value=1, max_value=300),
    soap=st.booleans(),
    attributes=st.booleans(),
)
def test_written_idocs_read_back_the_same_through_any_chunking(
    tops: list[list[Segment]], chunk: int, soap: bool, attributes: bool
) -> None:
    idocs = []
    for n, segments in enumerate(tops[:1] if soap else tops, start=1):
        idoc = IDoc({"DOCNUM": str(n), "IDOCTYP": "LOIPRO05"}, idoc_type="LOIPRO05")
        for segment in segments:
            idoc.root.add_child(segment)
        idocs.append(idoc)
    data = write_idoc_xml(idocs, soap_namespace=soap, segment_attributes=attributes)
    original = xml_reader._FEED_BYTES
    xml_reader._FEED_BYTES = chunk
    try:
        read = parse_idoc_xml(data)
    finally:
        xml_reader._FEED_BYTES = original
    assert [(i.control, i.segments) for i in read] == [(i.control, i.segments) for i in idocs]
