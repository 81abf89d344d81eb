"""``bridge idoc show`` writes its JSON piece by piece, byte for byte what ``json.dumps`` gives,
passes codec options on, and says the decoder's warnings like translate does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.inspect import describe, describe_json
from adapters.sap.model import IDoc, Segment
from adapters.sap.show import idoc_to_dict, json_chunks
from bench.memory import xml_many
from bridge.cli import main

from ..conftest import DATA, MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
FLAT = DATA / "sap" / "flat"
WE60 = DATA / "sap" / "we60"
MATMAS_FLAT = CASES / "MATMAS05_3PL_material_master.idoc"
SAMPLES = sorted([*CASES.glob("*.xml"), *(DATA / "sap" / "xml").glob("*.xml"), MATMAS_FLAT])


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def expected_text(idocs: list[IDoc]) -> str:
    """What idoc show printed before it streamed: the whole view dumped at once."""
    shown = [idoc_to_dict(idoc) for idoc in idocs]
    return json.dumps(shown[0] if len(shown) == 1 else shown, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_idoc_show_prints_exactly_the_whole_dump(path: Path) -> None:
    code, out, err = run("idoc", "show", str(path))
    assert code == 0, err
    assert out == expected_text(SapCodec().decode_idocs(path.read_bytes()))


@pytest.mark.parametrize(
    ("data", "options", "count"),
    [
        pytest.param(xml_many(200_000), [], None, id="xml-many-idocs"),
        pytest.param((FLAT / "zbrtest01_two_idocs.txt").read_bytes(), ["--definitions", str(WE60)], 2, id="flat-two"),
    ],
)
def test_several_idocs_print_as_a_list(tmp_path: Path, data: bytes, options: list[str], count: int | None) -> None:
    path = tmp_path / "many.txt"
    path.write_bytes(data)
    code, out, err = run("idoc", "show", *options, str(path))
    assert code == 0, err
    idocs = SapCodec().decode_idocs(data, definitions=[WE60])
    assert len(idocs) == (count or len(idocs)) > 1
    assert out == expected_text(idocs)
    assert isinstance(json.loads(out), list)


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12
).map(str.strip).filter(bool)
NAMES = st.sampled_from(["E1MARAM", "/RB04/YP3_E1", "E1\u2028X", 'Q"UOTE', "T\\AB", "工厂"])


@st.composite
def segments(draw: st.DrawFn, depth: int = 0) -> Segment:
    segment = Segment(draw(NAMES), segnum=draw(st.integers(0, 999_999)))
    segment.definition = draw(st.one_of(st.none(), NAMES))
    for name in draw(st.lists(NAMES, max_size=3, unique=True)):
        segment[name] = draw(TEXT | st.sampled_from(["a\nb", "\t", "</x>", "\u2029", "😀"]))
    if depth < 3:
        for child in draw(st.lists(segments(depth + 1), max_size=3)):
            segment.add_child(child)
    return segment


@st.composite
def idocs(draw: st.DrawFn) -> IDoc:
    control = draw(st.dictionaries(NAMES, TEXT, max_size=3))
    idoc = IDoc(control=control, idoc_type=draw(NAMES), extension=draw(st.one_of(st.none(), NAMES)))
    for segment in draw(st.lists(segments(), max_size=3)):
        idoc.root.add_child(segment)
    return idoc


@settings(max_examples=120, deadline=None)
@given(st.lists(idocs(), max_size=4))
def test_the_pieces_join_to_json_dumps_of_the_whole_view(trees: list[IDoc]) -> None:
    expected = expected_text(trees)[:-1]
    pending = list(trees)
    assert "".join(json_chunks(pending)) == expected
    assert pending == []  # each IDoc was let go as it was written


def test_describe_and_describe_json_pass_codec_options_and_warnings_on() -> None:
    seen: list[str] = []
    data = MATMAS_FLAT.read_bytes()
    shown = describe(data, origin=MATMAS_FLAT.name, encoding="utf-8", on_warning=seen.append)
    assert seen
    assert seen[0].startswith("lines 2, 5, 6, 7, 8, 9, 16 (7 in all) end inside a field")
    streamed: list[str] = []
    text = "".join(describe_json(data, origin=MATMAS_FLAT.name, encoding="utf-8", on_warning=streamed.append))
    assert streamed == seen
    assert json.loads(text) == shown[0]


def test_idoc_show_prints_decoder_warnings_on_stderr_like_translate() -> None:
    code, out, err = run("idoc", "show", str(MATMAS_FLAT))
    assert code == 0, err
    assert json.loads(out)["idoc_type"] == "MATMAS05"
    assert err.startswith(f"bridge: warning: {MATMAS_FLAT}: lines 2, 5, 6, 7, 8, 9, 16 (7 in all) end inside a field")
    _, _, translated = run("translate", "--mappings", str(MAPPINGS), str(MATMAS_FLAT))
    assert [line for line in translated.splitlines() if "warning" in line] == err.splitlines()


def test_a_document_that_does_not_decode_prints_nothing_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_bytes((CASES / "MATMAS05_3PL_material_master.xml").read_bytes()[:3000])
    code, out, err = run("idoc", "show", str(path))
    assert (code, out) == (1, "")
    assert err.startswith("bridge: error: cut.xml: not well-formed XML")
    assert err.count("\n") == 1
