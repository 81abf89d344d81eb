"""Declaring a flat file's encoding: Python codec names, SAP code page numbers, refusals."""

from __future__ import annotations

import encodings.aliases

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.encodings import SAP_CODE_PAGES, FlatEncoding, flat_encoding
from bridge.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "codec", "kind"),
    [
        pytest.param("gbk", "gbk", "multi-byte", id="gbk"),
        pytest.param("GBK", "gbk", "multi-byte", id="gbk-capitals"),
        pytest.param("latin-1", "iso8859-1", "single-byte", id="latin-1"),
        pytest.param("utf-8", "utf-8", "utf-8", id="utf-8"),
        pytest.param("utf-8-sig", "utf-8", "utf-8", id="utf-8-sig"),
        pytest.param("cp1252", "cp1252", "single-byte", id="cp1252"),
        pytest.param("big5", "big5", "multi-byte", id="big5"),
        pytest.param("shift_jis", "shift_jis", "multi-byte", id="shift-jis"),
        pytest.param("8400", "gbk", "multi-byte", id="sap-8400-gb2312"),
        pytest.param(8400, "gbk", "multi-byte", id="sap-8400-as-integer"),
        pytest.param("08400", "gbk", "multi-byte", id="sap-8400-zero-padded"),
        pytest.param("8401", "gb18030", "multi-byte", id="sap-8401-gb18030"),
        pytest.param("8300", "big5", "multi-byte", id="sap-8300-big5"),
        pytest.param("8000", "shift_jis", "multi-byte", id="sap-8000-shift-jis"),
        pytest.param("8500", "cp949", "multi-byte", id="sap-8500-korean"),
        pytest.param("1100", "iso8859-1", "single-byte", id="sap-1100-iso-8859-1"),
        pytest.param("1160", "cp1252", "single-byte", id="sap-1160-windows-1252"),
        pytest.param("1401", "iso8859-2", "single-byte", id="sap-1401-iso-8859-2"),
        pytest.param("1500", "iso8859-5", "single-byte", id="sap-1500-iso-8859-5"),
        pytest.param("4110", "utf-8", "utf-8", id="sap-4110-utf-8"),
        pytest.param(None, "utf-8", "utf-8", id="none-is-utf-8"),
        pytest.param("", "utf-8", "utf-8", id="empty-is-utf-8"),
    ],
)
def test_python_codec_names_and_sap_code_page_numbers_name_an_encoding(name, codec: str, kind: str) -> None:
    found = flat_encoding(name)
    assert (found.codec, found.kind) == (codec, kind)


def test_a_sap_code_page_number_is_named_as_such_in_messages() -> None:
    assert flat_encoding("8400").label == "gbk (SAP code page 8400)"
    assert flat_encoding("gbk").label == "gbk"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("utf-16", id="utf-16"),
        pytest.param("utf-16-le", id="utf-16-le"),
        pytest.param("utf-32", id="utf-32"),
        pytest.param("4102", id="sap-4102-utf-16-be"),
        pytest.param("4103", id="sap-4103-utf-16-le"),
        pytest.param("cp500", id="ebcdic-cp500"),
        pytest.param("cp037", id="ebcdic-cp037"),
        pytest.param("iso2022_jp", id="iso-2022-jp-stateful"),
        pytest.param("hz", id="hz-stateful"),
        pytest.param("utf-7", id="utf-7"),
    ],
)
def test_encodings_that_do_not_keep_ascii_columns_are_refused_for_flat_files(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot carry a flat IDoc file") as caught:
        flat_encoding(name)
    assert "ASCII" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param("gbkk", "unknown encoding 'gbkk'", id="misspelt-codec"),
        pytest.param("9999", "not a SAP code page number the bridge knows", id="unknown-sap-number"),
        pytest.param("rot13", "not a text encoding", id="text-transform"),
        pytest.param("base64", "not a text encoding", id="bytes-transform"),
    ],
)
def test_an_unknown_encoding_is_a_config_error_naming_it_and_giving_examples(name: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        flat_encoding(name)
    assert "gbk" in str(caught.value)
    assert "\n" not in str(caught.value)


def outcome(name: str | int | None) -> FlatEncoding | ConfigError:
    try:
        return flat_encoding(name)
    except ConfigError as exc:
        return exc


def test_every_sap_code_page_number_maps_to_a_codec_python_has() -> None:
    for number in SAP_CODE_PAGES:
        assert len(number) == 4
        assert number.isdigit()
        found = outcome(number)
        if isinstance(found, ConfigError):
            assert number in ("4102", "4103")  # UTF-16: known, but refused
            assert "cannot carry" in str(found)
        else:
            assert found.declared == f"SAP code page {number}"


ALL_CODECS = sorted(
    set(encodings.aliases.aliases.values())
    | {"utf_8", "gbk", "big5hkscs", "cp950", "shift_jis_2004", "shift_jisx0213", "iso2022_jp_2"}
)
BMP_BEYOND_ASCII = "".join(chr(c) for c in range(0x80, 0x10000) if not 0xD800 <= c < 0xE000)


def test_every_python_codec_is_accepted_with_ascii_columns_intact_or_refused_clearly() -> None:
    """The whole class: each codec Python ships either keeps printable ASCII, CR and LF as
    themselves (and, multi-byte, never uses CR, LF or blank inside a character), or is a
    ConfigError."""
    accepted = 0
    for name in ALL_CODECS:
        found = outcome(name)
        if isinstance(found, ConfigError):
            continue
        accepted += 1
        line = bytes(range(0x20, 0x7F)) + b"\r\n"
        assert line.decode(found.codec) == line.decode("ascii")
        if found.kind == "multi-byte":  # lines are split and blanks trimmed on the bytes
            for char in BMP_BEYOND_ASCII:
                try:
                    encoded = char.encode(found.codec)
                except UnicodeEncodeError:
                    continue
                assert not {0x0A, 0x0D, 0x20} & set(encoded), (name, char)
    assert accepted > 50


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers(min_value=-1, max_value=99999)))
def test_any_declared_name_gives_an_encoding_or_a_config_error(name: str | int) -> None:
    found = outcome(name)
    if isinstance(found, ConfigError):
        assert "\n" not in str(found)
    else:
        assert found.kind in ("utf-8", "single-byte", "multi-byte")
