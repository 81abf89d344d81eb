"""WE60 parser files -> IDoc type definitions, and the registry that finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sap import definition_registry, definitions
from adapters.sap.definitions import (
    DefinitionRegistry,
    FieldDefinition,
    parse_we60,
    segment_type_from_definition,
)
from adapters.sap.errors import DefinitionError
from bridge.errors import ConfigError

WE60 = Path(__file__).parents[1] / "data" / "sap" / "we60"
BASIC = WE60 / "zbrtest01.txt"
EXTENSION = WE60 / "zbrtest_ext.txt"


def tiny(body: str, name: str = "ZTINY01", header: str = "") -> str:
    """A WE60 text with one IDoc whose segment section is ``body``."""
    return f"{header}BEGIN_SEGMENT_SECTION\n  BEGIN_IDOC  {name}\n{body}  END_IDOC\nEND_SEGMENT_SECTION\n"


SEGMENT_A = """    BEGIN_SEGMENT  Z2A000
      SEGMENTTYPE  Z1A
      LEVEL  01
      BEGIN_FIELDS
        NAME  F1
        CHARACTER_FIRST  000064
        CHARACTER_LAST  000065
      END_FIELDS
    END_SEGMENT
"""


@pytest.fixture
def zbrtest01() -> definitions.IDocTypeDefinition:
    return parse_we60(BASIC.read_text(), source=str(BASIC))[0]


def test_field_offsets_are_positions_inside_sdata_from_character_first(zbrtest01) -> None:
    header = zbrtest01.segments["E2ZHDR001"]
    assert header.fields == (
        FieldDefinition("ORDERNO", 0, 12, "Order number"),
        FieldDefinition("PLANT", 12, 4, "Plant"),
        FieldDefinition("QTY", 16, 15, "Order quantity"),
        FieldDefinition("UNIT", 31, 3, "Unit of measure"),
        FieldDefinition("START", 34, 8, "Start date"),
    )
    assert header.sdata_length == 42
    assert header.field("QTY") == FieldDefinition("QTY", 16, 15, "Order quantity")
    assert header.field("NOPE") is None


def test_segment_attributes_come_from_the_segment_block(zbrtest01) -> None:
    status = zbrtest01.segments["E2ZSTS"]
    header = zbrtest01.segments["E2ZHDR001"]
    assert (status.segment_type, status.level, status.mandatory) == ("E1ZSTS", 3, False)
    assert (status.loop_min, status.loop_max, status.qualified) == (1, 99, True)
    assert (header.mandatory, header.loop_min, header.loop_max, header.qualified) == (
        True,
        1,
        1,
        False,
    )


@pytest.mark.parametrize(
    ("definition", "parent_type"),
    [
        pytest.param("E2ZHDR001", None, id="segment-outside-groups-is-top-level"),
        pytest.param("E2ZOPR002", None, id="head-of-top-group-is-top-level"),
        pytest.param("E2ZSTS", "E1ZOPR", id="group-member-hangs-under-group-head"),
        pytest.param("E2ZCMP001", "E1ZOPR", id="nested-group-head-hangs-under-outer-head"),
        pytest.param("E2ZCMT000", "E1ZCMP", id="nested-group-member-hangs-under-nested-head"),
        pytest.param("E2ZTRL000", None, id="segment-after-groups-is-top-level"),
    ],
)
def test_parents_are_derived_from_groups(zbrtest01, definition: str, parent_type: str | None) -> None:
    assert zbrtest01.segments[definition].parent_type == parent_type


@pytest.mark.parametrize(
    ("name", "found"),
    [
        pytest.param("E2ZOPR002", "E2ZOPR002", id="definition"),
        pytest.param("E2ZOPR", "E2ZOPR002", id="definition-without-version-suffix"),
        pytest.param("E2ZOPR001", "E2ZOPR002", id="other-version-of-known-definition"),
        pytest.param("E1ZOPR", "E2ZOPR002", id="segment-type"),
        pytest.param("E2ZSTS", "E2ZSTS", id="definition-that-has-no-version"),
        pytest.param("Z2NOPE000", None, id="unknown"),
    ],
)
def test_lookup_finds_segments_by_any_of_their_names(zbrtest01, name: str, found: str | None) -> None:
    result = zbrtest01.lookup(name)
    assert (result.definition if result else None) == found


def test_by_type_maps_segment_types_to_definitions(zbrtest01) -> None:
    assert zbrtest01.by_type["E1ZCMT"].definition == "E2ZCMT000"
    assert list(zbrtest01.segments) == [
        "E2ZHDR001",
        "E2ZOPR002",
        "E2ZSTS",
        "E2ZCMP001",
        "E2ZCMT000",
        "E2ZTRL000",
    ]


def test_comment_lines_and_the_record_section_are_skipped() -> None:
    text = tiny(
        "# a note between segments\n" + SEGMENT_A,
        header="# source: written by hand\nBEGIN_RECORD_SECTION\n  BEGIN_DATA_RECORD\n"
        "    BEGIN_FIELDS\n      NAME  SEGNAM\n    END_FIELDS\n  END_DATA_RECORD\n"
        "END_RECORD_SECTION\n",
    )
    (result,) = parse_we60(text)
    assert result.name == "ZTINY01"
    assert result.segments["Z2A000"].fields == (FieldDefinition("F1", 0, 2),)


def test_a_field_given_only_its_length_is_accepted() -> None:
    text = tiny(SEGMENT_A.replace("CHARACTER_LAST  000065", "LENGTH  000002"))
    assert parse_we60(text)[0].segments["Z2A000"].fields[0].length == 2


def test_a_segment_without_segmenttype_gets_its_type_from_the_definition_name() -> None:
    text = tiny(SEGMENT_A.replace("      SEGMENTTYPE  Z1A\n", ""))
    assert parse_we60(text)[0].segments["Z2A000"].segment_type == "Z1A"


def test_latin1_definition_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ztiny.txt"
    path.write_bytes(tiny(SEGMENT_A.replace("NAME  F1", "NAME  F1\n        TEXT  Größe")).encode("latin-1"))
    result = DefinitionRegistry([path], include_shipped=False).resolve("ZTINY01")
    assert result.segments["Z2A000"].fields[0].text == "Größe"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        pytest.param("just some text\n", 1, "not a WE60 parser line", id="not-we60"),
        pytest.param("BEGIN_SEGMENT_SECTION\nEND_SEGMENT_SECTION\n", 2, "no BEGIN_IDOC", id="no-idoc"),
        pytest.param(
            tiny(SEGMENT_A.replace("LEVEL  01", "LEVEL  one")), 5, "LEVEL must be a number", id="bad-number"
        ),
        pytest.param(
            tiny(SEGMENT_A.replace("    END_SEGMENT\n", "")), 11, "END_IDOC inside", id="missing-end-segment"
        ),
        pytest.param(
            tiny("    END_SEGMENT\n"), 3, "END_SEGMENT without BEGIN_SEGMENT", id="stray-end-segment"
        ),
        pytest.param(
            tiny("    BEGIN_GROUP  1\n" + SEGMENT_A), 13, "END_IDOC before END_GROUP", id="missing-end-group"
        ),
        pytest.param(
            tiny(SEGMENT_A.replace("000064", "000010")), 10, "outside SDATA", id="field-before-sdata"
        ),
        pytest.param(
            tiny(SEGMENT_A.replace("000065", "001070")), 10, "outside SDATA", id="field-beyond-sdata"
        ),
        pytest.param(
            tiny(SEGMENT_A.replace("        NAME  F1\n", "")),
            7,
            "CHARACTER_FIRST before the field's NAME",
            id="field-without-name",
        ),
        pytest.param(
            tiny(SEGMENT_A.replace("CHARACTER_LAST  000065", "TYPE  CHARACTER")),
            10,
            "neither LENGTH nor CHARACTER_LAST",
            id="field-without-length",
        ),
        pytest.param(
            tiny(
                SEGMENT_A.replace("CHARACTER_LAST  000065", "CHARACTER_LAST  000065\n        LENGTH  000003")
            ),
            11,
            "does not match",
            id="length-disagrees-with-columns",
        ),
        pytest.param("BEGIN_IDOC  ZTINY01\n" + SEGMENT_A, 10, "no END_IDOC", id="truncated"),
        pytest.param(SEGMENT_A, 1, "outside BEGIN_IDOC", id="segment-outside-idoc"),
    ],
)
def test_unparseable_files_raise_config_error_naming_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_we60(text, source="broken.txt")
    message = str(caught.value)
    assert message.startswith(f"broken.txt, line {line}:"), message
    assert reason in message


def test_registry_indexes_files_and_directories_by_begin_idoc(tmp_path: Path) -> None:
    (tmp_path / "ztiny.txt").write_text(tiny(SEGMENT_A))
    (tmp_path / "notes.md").write_text("BEGIN_IDOC  NOTINDEXED\n")
    registry = DefinitionRegistry([BASIC, tmp_path], include_shipped=False)
    assert registry.known_types() == ["ZBRTEST01", "ZTINY01"]
    assert registry.source_of("ZTINY01") == tmp_path / "ztiny.txt"
    assert registry.resolve("ZTINY01").lookup("Z1A") is not None


def test_registry_parses_a_file_only_when_its_type_is_needed(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(tiny(SEGMENT_A))
    (tmp_path / "broken.txt").write_text(tiny("    END_SEGMENT\n", name="ZBROKEN"))
    registry = DefinitionRegistry([tmp_path], include_shipped=False)
    assert registry.resolve("ZTINY01").name == "ZTINY01"
    with pytest.raises(ConfigError, match=r"broken\.txt, line 3"):
        registry.resolve("ZBROKEN")


def test_an_unknown_idoc_type_raises_definition_error_with_a_hint() -> None:
    registry = DefinitionRegistry([BASIC], include_shipped=False)
    with pytest.raises(DefinitionError) as caught:
        registry.resolve("LOIPRO05", "ZLOIPRO", source="in.txt", document_id="0000000000000042")
    message = str(caught.value)
    assert "LOIPRO05" in message
    assert "--definitions PATH" in message
    assert "ZBRTEST01" in message  # lists what is known
    assert (caught.value.source, caught.value.document_id) == ("in.txt", "0000000000000042")


def test_a_registry_without_any_definition_files_works_until_a_type_is_needed() -> None:
    registry = DefinitionRegistry(include_shipped=False)
    assert registry.known_types() == []
    assert registry.get("ZBRTEST01") is None
    with pytest.raises(DefinitionError, match="known: none"):
        registry.resolve("ZBRTEST01")


def test_a_missing_definitions_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        DefinitionRegistry([tmp_path / "nope.txt"], include_shipped=False)


def test_shipped_files_are_indexed_and_user_files_override_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "zbrtest01.txt").write_text(tiny(SEGMENT_A, name="ZBRTEST01"))
    (shipped / "ztiny.txt").write_text(tiny(SEGMENT_A))
    monkeypatch.setattr(definition_registry, "SHIPPED_DIR", shipped)
    assert DefinitionRegistry().resolve("ZBRTEST01").lookup("Z1A") is not None
    registry = DefinitionRegistry([BASIC])
    assert registry.known_types() == ["ZBRTEST01", "ZTINY01"]
    assert registry.resolve("ZBRTEST01").lookup("Z1A") is None
    assert registry.resolve("ZBRTEST01").lookup("E1ZHDR") is not None


def test_every_shipped_definition_file_parses() -> None:
    registry = DefinitionRegistry()
    for name in registry.known_types():
        assert registry.resolve(name).segments, name


def test_an_extension_file_named_by_the_extension_merges_with_its_basic_type() -> None:
    registry = DefinitionRegistry([WE60], include_shipped=False)
    merged = registry.resolve("ZBRTEST01", "/BRG/ZBRTEST_EXT")
    assert (merged.name, merged.extension) == ("ZBRTEST01", "/BRG/ZBRTEST_EXT")
    extra = merged.lookup("/BRG/Z2OPREXT000")
    assert extra is not None
    assert (extra.segment_type, extra.parent_type, extra.level) == ("/BRG/Z1OPREXT", "E1ZOPR", 3)
    assert [f.name for f in extra.fields] == ["SHIFT", "CREW"]
    # the basic type's full definition wins over the extension file's bare repetition
    assert len(merged.lookup("E1ZOPR").fields) == 3
    assert merged.lookup("E1ZCMT") is not None


def test_an_sap_export_of_an_extended_type_is_found_by_its_extension_line(tmp_path: Path) -> None:
    path = tmp_path / "zbrtext2.txt"
    path.write_text(
        tiny(
            "    EXTENSION           ZBRTEXT2\n    BEGIN_GROUP  1\n"
            + SEGMENT_A.replace("Z2A000", "E2ZHDR001").replace("Z1A", "E1ZHDR")
            + SEGMENT_A.replace("LEVEL  01", "LEVEL  02")
            + "    END_GROUP\n",
            name="ZBRTEST01",
        )
    )
    registry = DefinitionRegistry([BASIC, path], include_shipped=False)
    assert registry.known_types() == ["ZBRTEST01", "ZBRTEXT2"]
    merged = registry.resolve("ZBRTEST01", "ZBRTEXT2")
    assert merged.lookup("Z1A").parent_type == "E1ZHDR"
    assert len(merged.lookup("E1ZHDR").fields) == 5  # the basic file's definition


def test_an_unknown_extension_of_a_known_basic_type_resolves_to_the_basic_type() -> None:
    registry = DefinitionRegistry([BASIC], include_shipped=False)
    result = registry.resolve("ZBRTEST01", "/BRG/UNKNOWN_EXT")
    assert result.name == "ZBRTEST01"
    assert result.extension is None


@pytest.mark.parametrize(
    ("definition", "segment_type"),
    [
        pytest.param("E2EDK01005", "E1EDK01", id="standard"),
        pytest.param("E2EDK02", "E1EDK02", id="without-version"),
        pytest.param("Z2BP_HEADER000", "Z1BP_HEADER", id="customer"),
        pytest.param("/RB04/YP3_E1EDK01_XML001", "/RB04/YP3_E1EDK01_XML", id="namespaced"),
        pytest.param("/BRG/Z2OPREXT000", "/BRG/Z1OPREXT", id="namespaced-customer"),
        pytest.param("E1EDK01", "E1EDK01", id="already-a-type"),
    ],
)
def test_a_segment_type_is_guessed_from_an_unknown_definition_name(
    definition: str, segment_type: str
) -> None:
    assert segment_type_from_definition(definition) == segment_type
