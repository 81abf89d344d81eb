"""Flat files are decoded strictly, in the declared encoding, with byte columns in code pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import parse_idoc_flat, read_idocs_flat, write_idoc_flat
from adapters.sap.model import IDoc
from bridge.cli import _override_codec_option, main
from bridge.errors import ConfigError, DecodeError

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
REFERENCE = (DATA / "sap" / "flat" / "zbrtest01.txt").read_bytes()
MATMAS = MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc"


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([DATA / "sap" / "we60"], include_shipped=False)


def with_texts(registry: DefinitionRegistry, ltxa1: str, arbpl: str = "WC-01") -> IDoc:
    (idoc,) = parse_idoc_flat(REFERENCE, registry)
    operation = idoc.root["E1ZOPR"][0]
    operation["LTXA1"] = ltxa1
    operation["ARBPL"] = arbpl
    return idoc


def error_of(call: Any) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        call()
    assert "\n" not in str(caught.value)
    return caught.value


def test_gbk_text_is_refused_by_default_naming_line_byte_offset_and_bytes(registry) -> None:
    gbk = write_idoc_flat([with_texts(registry, "装配篮子")], registry, encoding="gbk").encode("gbk")
    error = error_of(lambda: read_idocs_flat(gbk, registry, source="plant.txt"))
    start = gbk.index("装".encode("gbk"))
    line_start = gbk.rindex(b"\n", 0, start) + 1
    assert str(error).startswith("plant.txt: ")
    # 装 (d7 b0) happens to be valid UTF-8; 配 (c5 e4) is the first invalid sequence
    assert f"line 3, byte {start - line_start + 3} (file offset {start + 2})" in str(error)
    assert "c5 e4 c0 ba" in str(error)
    assert "--encoding" in str(error)
    assert "×°ÅäÀº×Ó" not in str(error)  # what the reader made of it before


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        pytest.param("gbk", "装配篮子", id="gbk"),
        pytest.param("8400", "装配篮子", id="sap-8400"),
        pytest.param("gb18030", "装配篮子𠀀", id="gb18030-four-byte"),
        pytest.param("big5", "裝配籃子", id="big5"),
        pytest.param("8300", "裝配籃子", id="sap-8300"),
        pytest.param("shift_jis", "組立てｶﾅ", id="shift-jis-with-half-width-kana"),
        pytest.param("cp949", "조립 바구니", id="korean"),
        pytest.param("latin-1", "Schweißen à côté", id="latin-1"),
        pytest.param("1160", "Schweißen €", id="sap-1160-windows-1252"),
        pytest.param("utf-8", "装配篮子 Schweißen", id="utf-8-counts-characters"),
    ],
)
def test_a_declared_encoding_reads_every_field_from_its_columns(registry, encoding: str, text: str) -> None:
    idoc = with_texts(registry, text, arbpl="WC-99")
    written = write_idoc_flat([idoc], registry, encoding=encoding)
    found = read_idocs_flat(written.encode(flat_codec_of(encoding)), registry, encoding=encoding)
    operation = found[0].idoc.root["E1ZOPR"][0]
    assert (operation["LTXA1"], operation["ARBPL"]) == (text, "WC-99")
    assert found[0].idoc.tree() == idoc.tree()


def flat_codec_of(encoding: str) -> str:
    from adapters.sap.encodings import flat_encoding

    return flat_encoding(encoding).codec


def test_in_a_double_byte_code_page_a_chinese_character_takes_two_columns(registry) -> None:
    written = write_idoc_flat([with_texts(registry, "装配")], registry, encoding="gbk").encode("gbk")
    line = written.split(b"\n")[2]
    # LTXA1 is columns 76-115 and ARBPL 68-75 (1-based): bytes, not characters
    assert line[75:79] == "装配".encode("gbk")
    assert line[79:115] == b" " * 36
    assert len(line) == 1063
    utf8 = write_idoc_flat([with_texts(registry, "装配")], registry).split("\n")[2]
    assert utf8[75:77] == "装配"  # UTF-8: characters
    assert len(utf8) == 1063


@pytest.mark.parametrize(
    ("line_no", "column", "segment"),
    [
        pytest.param(1, 200, "EDI_DC40", id="in-the-control-record"),
        pytest.param(2, 40, "E2ZHDR001", id="in-a-data-header"),
        pytest.param(3, 90, "E2ZOPR002", id="in-sdata"),
        pytest.param(11, 1063, "E2ZTRL000", id="last-column-of-the-last-line"),
    ],
)
def test_one_stray_byte_is_an_error_at_its_line_and_offset_not_mojibake(
    registry, line_no: int, column: int, segment: str
) -> None:
    text = write_idoc_flat([with_texts(registry, "装配篮子")], registry).encode("utf-8")
    lines = text.split(b"\n")
    offset = sum(len(line) + 1 for line in lines[: line_no - 1]) + column - 1
    stray = text[:offset] + b"\xb0" + text[offset + 1 :]
    error = error_of(lambda: read_idocs_flat(stray, registry, source="stray.txt"))
    assert f"line {line_no}, byte {column} (file offset {offset})" in str(error)
    assert "bytes b0" in str(error)
    assert segment in str(error)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_invalid_utf8_byte_is_reported_at_the_first_invalid_sequence(
    registry, data: st.DataObject
) -> None:
    text = write_idoc_flat([with_texts(registry, "装配篮子 ÄÖÜ")], registry, pad=False).encode("utf-8")
    offset = data.draw(st.integers(0, len(text) - 1), label="offset")
    byte = data.draw(st.sampled_from([0x80, 0xB0, 0xC0, 0xC5, 0xE4, 0xF5, 0xFF]), label="byte")
    if text[offset] in b"\n":
        return
    broken = text[:offset] + bytes([byte]) + text[offset + 1 :]
    try:
        broken.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    else:
        return  # the byte completed a valid sequence
    message = str(error_of(lambda: read_idocs_flat(broken, registry)))
    line_no = broken.count(b"\n", 0, first_bad) + 1
    assert f"line {line_no}, byte " in message or f"line {line_no}: " in message
    if "invalid utf-8" in message:
        assert f"(file offset {first_bad})" in message


def test_a_field_boundary_inside_a_double_byte_character_names_line_segment_and_field(registry) -> None:
    line = REFERENCE.split(b"\n")[1]
    # PLANT is 4 bytes (columns 76-79): '1', 工 and the lead byte of 厂, whose trail is QTY's
    broken = line[:75] + b"1" + "工厂".encode("gbk") + line[80:]
    data = REFERENCE.replace(line, broken)
    error = error_of(lambda: read_idocs_flat(data, registry, source="split.txt", encoding="gbk"))
    assert error.segment == "E2ZHDR001 (line 2)"
    assert "field PLANT" in str(error)
    assert "boundary before QTY (column 80)" in str(error)


def test_a_line_that_ends_inside_a_double_byte_character_is_refused(registry) -> None:
    written = write_idoc_flat([with_texts(registry, "装配")], registry, encoding="gbk", pad=False)
    data = written.encode("gbk")
    cut = data.index("配".encode("gbk")) + 1
    data = data[:cut] + data[data.index(b"\n", cut) :]
    error = error_of(lambda: read_idocs_flat(data, registry, encoding="gbk"))
    assert "line 3" in str(error)
    assert "the line ends inside a multi-byte gbk character" in str(error)


def test_the_data_record_header_must_be_ascii_in_a_code_page(registry) -> None:
    line = REFERENCE.split(b"\n")[2]
    data = REFERENCE.replace(line, "工厂".encode("gbk") + line[4:])
    error = error_of(lambda: read_idocs_flat(data, registry, encoding="gbk"))
    assert "line 3, byte 1" in str(error)
    assert "non-ASCII bytes b9 a4 b3 a7 in the data record header" in str(error)


def test_a_utf8_byte_order_mark_is_allowed_unless_another_encoding_is_declared(registry) -> None:
    bom = b"\xef\xbb\xbf" + REFERENCE
    assert parse_idoc_flat(bom, registry)[0].tree() == parse_idoc_flat(REFERENCE, registry)[0].tree()
    assert parse_idoc_flat(bom, registry, encoding="4110")[0].docnum == "0000000000123456"
    with pytest.raises(DecodeError, match="UTF-8 byte order mark, but its encoding is declared as gbk"):
        parse_idoc_flat(bom, registry, encoding="gbk")


def test_text_given_as_str_is_laid_out_in_the_declared_encoding(registry) -> None:
    written = write_idoc_flat([with_texts(registry, "装配")], registry, encoding="gbk")
    (idoc,) = parse_idoc_flat(written, registry, encoding="gbk")
    assert idoc.root["E1ZOPR"][0]["LTXA1"] == "装配"
    with pytest.raises(DecodeError, match="cannot be written in gbk"):
        parse_idoc_flat(written.replace("装", "😀"), registry, encoding="gbk")


def test_the_writer_refuses_characters_the_code_page_cannot_hold(registry) -> None:
    with pytest.raises(DecodeError, match="character '装' cannot be written in iso8859-1") as caught:
        write_idoc_flat([with_texts(registry, "装配")], registry, encoding="latin-1")
    assert caught.value.segment == "E1ZOPR #2"
    with pytest.raises(DecodeError, match="is 10 bytes in gbk, longer than its 8"):
        write_idoc_flat([with_texts(registry, "x", arbpl="工厂工厂工")], registry, encoding="gbk")
    write_idoc_flat([with_texts(registry, "x", arbpl="工厂工厂")], registry, encoding="gbk")  # 8 fit


# -- the codec option and the command line ----------------------------------------------------


def gbk_matmas(tmp_path: Path, description: str = "装配篮子") -> Path:
    registry = DefinitionRegistry()
    (idoc,) = parse_idoc_flat(MATMAS.read_bytes(), registry)
    idoc.root["E1MARAM"][0]["E1MAKTM"][0]["MAKTX"] = description
    path = tmp_path / "matmas_gbk.idoc"
    path.write_bytes(write_idoc_flat([idoc], registry, encoding="gbk").encode("gbk"))
    return path


def test_the_sap_codec_takes_the_encoding_option(tmp_path) -> None:
    data = gbk_matmas(tmp_path).read_bytes()
    (document,) = SapCodec().decode(data, origin="m.idoc", encoding="8400")
    assert document.tree["E1MARAM"][0]["E1MAKTM"][0]["MAKTX"] == "装配篮子"
    with pytest.raises(DecodeError, match="invalid utf-8 sequence"):
        SapCodec().decode(data, origin="m.idoc")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"EDI_DC40  100", id="flat"),
        pytest.param(b"<MATMAS05><IDOC><EDI_DC40/></IDOC></MATMAS05>", id="xml"),
        pytest.param(b"", id="empty"),
    ],
)
def test_an_unusable_encoding_is_a_config_error_whatever_the_document(data: bytes) -> None:
    with pytest.raises(ConfigError, match="utf-16"):
        SapCodec().decode(data, origin="x", encoding="utf-16")
    with pytest.raises(ConfigError, match="unknown encoding 'nope'"):
        SapCodec().decode_idocs(data, origin="x", encoding="nope")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_translate_with_encoding_reads_a_gbk_file(tmp_path) -> None:
    path = gbk_matmas(tmp_path)
    code, out, err = run("translate", "--mappings", str(MAPPINGS), "--encoding", "gbk", str(path))
    assert code == 0, err
    assert json.loads(out)["payload"]["descriptions"]["en"] == "装配篮子"


def test_translate_without_encoding_gives_one_error_line_for_a_gbk_file(tmp_path) -> None:
    path = gbk_matmas(tmp_path)
    code, out, err = run("translate", "--mappings", str(MAPPINGS), str(path))
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("bridge: error: matmas_gbk.idoc: ")
    assert "invalid utf-8 sequence" in err


@pytest.mark.parametrize(
    ("encoding", "says"),
    [
        pytest.param("utf-16", "cannot carry a flat IDoc file", id="utf-16"),
        pytest.param("gbkk", "unknown encoding 'gbkk'", id="unknown"),
    ],
)
def test_translate_with_an_unusable_encoding_is_a_configuration_error(encoding: str, says: str) -> None:
    code, _, err = run("translate", "--mappings", str(MAPPINGS), "--encoding", encoding, str(MATMAS))
    assert code == 2
    assert says in err
    assert "Traceback" not in err


def test_idoc_show_with_encoding_shows_the_gbk_text(tmp_path) -> None:
    code, out, err = run("idoc", "show", "--encoding", "gbk", str(gbk_matmas(tmp_path)))
    assert code == 0, err
    assert "装配篮子" in out


class FakeCodec:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[Any]:
        self.seen.append(options)
        SapCodec().decode(data, origin=origin, **options)
        return []

    def check_options(self, **options: Any) -> None:
        self.seen.append(options)
        SapCodec().check_options(**options)


class FakeIngestor:
    def __init__(self) -> None:
        self.codec = FakeCodec()
        self.codec_options = {"sap": {"definitions": ["x"]}}

    def codec_for(self, system: str) -> FakeCodec:
        return self.codec


def test_ingest_encoding_overrides_the_configured_one_after_the_codec_accepts_it() -> None:
    ingestor = FakeIngestor()
    _override_codec_option(ingestor, "sap", "encoding", "8400")
    assert ingestor.codec_options == {"sap": {"definitions": ["x"], "encoding": "8400"}}
    with pytest.raises(ConfigError, match="unknown encoding 'nope'"):
        _override_codec_option(ingestor, "sap", "encoding", "nope")
    _override_codec_option(ingestor, "sap", "encoding", None)
    assert ingestor.codec_options["sap"]["encoding"] == "8400"
