"""Every file of tests/data/hostile/flat gets its one-line error or its exactly right tree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.errors import DefinitionError, IDocError
from adapters.sap.flat_codec import FlatIDoc, parse_idoc_flat, read_idocs_flat
from bridge.errors import BridgeError

DATA = Path(__file__).parents[1] / "data"
CORPUS = DATA / "hostile" / "flat"
REFERENCE = DATA / "sap" / "flat" / "zbrtest01.txt"


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([DATA / "sap" / "we60"], include_shipped=False)


def same_tree_as_the_reference(read: list[FlatIDoc], registry: DefinitionRegistry) -> None:
    (reference,) = parse_idoc_flat(REFERENCE.read_bytes(), registry)
    assert [r.idoc.tree() for r in read] == [reference.tree()]
    assert read[0].warnings == ()


def chinese_texts(read: list[FlatIDoc], registry: DefinitionRegistry) -> None:
    (idoc,) = (r.idoc for r in read)
    first, second = idoc.root["E1ZOPR"]
    assert (first["LTXA1"], second["LTXA1"]) == ("装配篮子", "焊接")
    assert first["E1ZCMP"][0]["E1ZCMT"][0]["TDLINE"] == "小心轻放"
    assert first["ARBPL"] == "WC-01"  # the field after a Chinese one starts at its byte column


def warned_about_ltxa1(read: list[FlatIDoc], registry: DefinitionRegistry) -> None:
    (only,) = read
    assert only.idoc.root["E1ZOPR"][0]["LTXA1"] == "  Cut to"  # leading blanks are data
    assert only.warnings == (
        "line 3: E2ZOPR002 ends at column 83, inside field LTXA1 (columns 76-115): read as it is, "
        "but a line cut there would look the same",
    )


def decoded_as_zbrtest01(read: list[FlatIDoc], registry: DefinitionRegistry) -> None:
    (idoc,) = (r.idoc for r in read)
    assert idoc.idoc_type == "ZBRTEST01"
    assert idoc.control["IDOCTYP"] == "JUNK#FROM#EDI#TOOL"  # the record is kept as it came
    assert idoc.root["E1ZHDR"][0].fields()["ORDERNO"] == "000001234567"


@dataclass(frozen=True)
class Case:
    options: dict[str, Any] = field(default_factory=dict)
    error: type[BridgeError] | None = None
    says: tuple[str, ...] = ()
    check: Callable[[list[FlatIDoc], DefinitionRegistry], None] | None = None


CASES: dict[str, list[Case]] = {
    "gbk_chinese_texts.txt": [
        Case(error=IDocError, says=("line 3, byte 78 (file offset 1666)", "c5 e4 c0 ba", "--encoding")),
        Case({"encoding": "gbk"}, check=chinese_texts),
        Case({"encoding": "8400"}, check=chinese_texts),
        Case({"encoding": 8400}, check=chinese_texts),
    ],
    "stray_byte_utf8.txt": [
        Case(error=IDocError, says=("line 7, byte 76 (file offset 5928)", "bytes b0", "E2ZCMT000")),
    ],
    "cr_only_line_ends.txt": [Case(check=same_tree_as_the_reference)],
    "mixed_line_ends.txt": [Case(error=IDocError, says=("line 4: a line feed (LF)", "end in CR"))],
    "control_cut_at_50.txt": [
        Case(error=IDocError, says=("line 1: control record ends at column 48, before MESTYP and SNDPRN",)),
    ],
    "control_cut_inside_cretim.txt": [
        Case(error=IDocError, says=("ends at column 389", "CREDAT/CRETIM")),
    ],
    "control_longer_than_524.txt": [
        Case(error=IDocError, says=("control record is 540 characters, longer than 524",)),
    ],
    "data_line_ends_inside_field.txt": [Case(check=warned_about_ltxa1)],
    "superscript_segnum.txt": [
        Case(error=IDocError, says=("E2ZSTS (line 4)", "SEGNUM '00000³' is not a number of 6 ASCII")),
    ],
    "junk_idoctyp_explicit_type.txt": [
        Case(error=DefinitionError, says=("IDoc type JUNK#FROM#EDI#TOOL",)),
        Case({"idoc_type": "ZBRTEST01"}, check=decoded_as_zbrtest01),
    ],
    "gbk_field_boundary_split.txt": [
        Case(
            {"encoding": "gbk"},
            error=IDocError,
            says=("segment E2ZHDR001 (line 2)", "field PLANT", "boundary before QTY (column 80)"),
        ),
    ],
    "utf8_bom_declared_gbk.txt": [
        Case(check=same_tree_as_the_reference),
        Case({"encoding": "gbk"}, error=IDocError, says=("UTF-8 byte order mark", "declared as gbk")),
    ],
}


def test_every_corpus_file_has_an_expectation_and_a_readme_line() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "README.md"}
    assert files == set(CASES)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)


@pytest.mark.parametrize(
    ("name", "case"),
    [
        pytest.param(name, case, id=f"{name.removesuffix('.txt')}-{n}")
        for name, cases in CASES.items()
        for n, case in enumerate(cases)
    ],
)
def test_each_hostile_flat_file_gets_its_expected_outcome(registry, name: str, case: Case) -> None:
    data = (CORPUS / name).read_bytes()
    if case.error is not None:
        with pytest.raises(case.error) as caught:
            read_idocs_flat(data, registry, source=name, **case.options)
        message = str(caught.value)
        assert type(caught.value) is case.error
        assert "\n" not in message
        assert message.startswith(f"{name}: ")
        for part in case.says:
            assert part in message
    else:
        assert case.check is not None
        case.check(read_idocs_flat(data, registry, source=name, **case.options), registry)
