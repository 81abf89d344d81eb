"""An explicit IDoc type decides the definitions of a flat file, whatever IDOCTYP says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.errors import DefinitionError
from adapters.sap.flat_codec import parse_idoc_flat
from bridge.cli import main

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
WE60 = DATA / "sap" / "we60"
REFERENCE = (DATA / "sap" / "flat" / "zbrtest01.txt").read_bytes()
MATMAS = (MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc").read_bytes()


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([WE60])


HEADER = {"ORDERNO", "PLANT", "QTY"}


def with_idoctyp(data: bytes, idoctyp: bytes) -> bytes:
    return data[:39] + idoctyp.ljust(30)[:30] + data[69:]


@pytest.mark.parametrize(
    ("idoctyp", "explicit", "decoded_as", "header_fields"),
    [
        pytest.param(b"JUNK#FROM#EDI", "ZBRTEST01", "ZBRTEST01", HEADER, id="junk-in-idoctyp"),
        pytest.param(b"ZBRTEST01", "MATMAS05", "MATMAS05", {"SDATA"}, id="another-type-than-idoctyp"),
        pytest.param(b"", "ZBRTEST01", "ZBRTEST01", HEADER, id="no-idoctyp"),
        pytest.param(b"ZBRTEST01", None, "ZBRTEST01", HEADER, id="no-flag-idoctyp-decides"),
    ],
)
def test_the_explicit_type_decides_the_definitions_used(
    registry, idoctyp: bytes, explicit: str | None, decoded_as: str, header_fields: set[str]
) -> None:
    (idoc,) = parse_idoc_flat(with_idoctyp(REFERENCE, idoctyp), registry, idoc_type=explicit)
    assert idoc.idoc_type == decoded_as
    header = idoc.root.children[0]
    assert header_fields <= set(header.fields())
    assert idoc.control.get("IDOCTYP", "") == idoctyp.decode()  # the record itself is kept


def test_without_the_flag_junk_in_idoctyp_is_a_definition_error_naming_it(registry) -> None:
    with pytest.raises(DefinitionError, match="no segment definitions for IDoc type JUNK#FROM#EDI"):
        parse_idoc_flat(with_idoctyp(REFERENCE, b"JUNK#FROM#EDI"), registry, source="junk.txt")


def test_the_codec_reports_the_explicit_type_as_the_document_type() -> None:
    (document,) = SapCodec().decode(with_idoctyp(MATMAS, b"XX_TOOL_TYPE"), origin="m", idoc_type="MATMAS05")
    assert document.document_type == "MATMAS05"
    assert document.tree["EDI_DC40"][0]["IDOCTYP"] == "XX_TOOL_TYPE"


def test_translate_with_idoc_type_reads_a_file_whose_idoctyp_is_junk(tmp_path) -> None:
    path = tmp_path / "junk.idoc"
    path.write_bytes(with_idoctyp(MATMAS, b"EDI-TOOL-JUNK"))
    runner = CliRunner()
    args = ["translate", "--mappings", str(MAPPINGS)]
    flagged = runner.invoke(main, [*args, "--idoc-type", "MATMAS05", str(path)])
    assert flagged.exit_code == 0, flagged.stderr
    assert json.loads(flagged.stdout)["entity"] == "material"
    plain = runner.invoke(main, [*args, str(path)])
    assert plain.exit_code == 1
    assert "no segment definitions for IDoc type EDI-TOOL-JUNK" in plain.stderr


def test_idoc_show_with_idoc_type_decodes_a_file_whose_idoctyp_is_junk(tmp_path) -> None:
    path = tmp_path / "junk.idoc"
    path.write_bytes(with_idoctyp(MATMAS, b"EDI-TOOL-JUNK"))
    result = CliRunner().invoke(main, ["idoc", "show", "--idoc-type", "MATMAS05", str(path)])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["idoc_type"] == "MATMAS05"
    assert shown["segments"][0]["fields"]["MATNR"] == "000000000123456789"


@pytest.mark.parametrize("command", [["translate"], ["idoc", "show"]])
def test_the_help_says_the_flag_overrides_idoctyp(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert "whatever its control record's IDOCTYP says" in " ".join(result.stdout.split())


@settings(max_examples=100, deadline=None)
@given(junk=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30))
def test_any_idoctyp_gives_the_same_tree_when_the_type_is_given(registry, junk: str) -> None:
    (reference,) = parse_idoc_flat(REFERENCE, registry)
    (idoc,) = parse_idoc_flat(with_idoctyp(REFERENCE, junk.encode()), registry, idoc_type="ZBRTEST01")
    assert idoc.tree()["E1ZOPR"] == reference.tree()["E1ZOPR"]
    assert [s.fields() for s in idoc.segments] == [s.fields() for s in reference.segments]
