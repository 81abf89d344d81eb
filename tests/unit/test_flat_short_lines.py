"""A data line ending inside a field is read with a warning that names the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import parse_idoc_flat, read_idocs_flat, write_idoc_flat
from adapters.sap.flat_reader import MAX_WARNINGS
from adapters.sap.model import IDoc, Segment
from bridge.cli import main
from bridge.errors import DecodeError

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
WE60 = DATA / "sap" / "we60"
REFERENCE = (DATA / "sap" / "flat" / "zbrtest01.txt").read_bytes()
MATMAS = MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc"
OPERATION = REFERENCE.split(b"\n")[2].rstrip()  # E2ZOPR002 ... 0010WC-01     Cut to length


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([WE60], include_shipped=False)


def with_operation_line(line: bytes) -> bytes:
    return REFERENCE.replace(REFERENCE.split(b"\n")[2], line)


@pytest.mark.parametrize(
    ("cut", "fields", "warning"),
    [
        pytest.param(
            len(OPERATION) - len(b" length"),
            {"VORNR": "0010", "ARBPL": "WC-01", "LTXA1": "  Cut to"},
            "line 3: E2ZOPR002 ends at column 83, inside field LTXA1 (columns 76-115): read as it "
            "is, but a line cut there would look the same",
            id="the-issue-inside-a-text",
        ),
        pytest.param(
            70,
            {"VORNR": "0010", "ARBPL": "WC-"},
            "line 3: E2ZOPR002 ends at column 70, inside field ARBPL (columns 68-75)",
            id="inside-a-short-field",
        ),
        pytest.param(
            77,
            {"VORNR": "0010", "ARBPL": "WC-01"},
            "line 3: E2ZOPR002 ends at column 77, inside field LTXA1 (columns 76-115)",
            id="inside-the-leading-blanks-of-a-field",
        ),
        pytest.param(
            20, {}, "line 3: E2ZOPR002 ends at column 20, inside header field SEGNAM", id="inside-segnam"
        ),
        pytest.param(67, {"VORNR": "0010"}, None, id="exactly-between-two-fields"),
        pytest.param(
            len(OPERATION),
            {"VORNR": "0010", "ARBPL": "WC-01", "LTXA1": "  Cut to length"},
            "line 3: E2ZOPR002 ends at column 90, inside field LTXA1",
            id="sap-stripped-line",
        ),
    ],
)
def test_a_short_line_is_read_as_it_is_with_a_warning_when_it_ends_inside_a_field(
    registry, cut: int, fields: dict[str, str], warning: str | None
) -> None:
    (read,) = read_idocs_flat(with_operation_line(OPERATION[:cut]), registry)
    segment = next(s for s in read.idoc.root.children if s.segnum == 2 or s.definition == "E2ZOPR002")
    if cut < 30:  # SEGNAM itself is cut: an unknown segment, without a DOCNUM either
        assert any(w.startswith(warning or "-") for w in read.warnings)
        return
    assert segment.fields() == fields
    if warning is None:
        assert read.warnings == ()
    else:
        assert read.warnings[0].startswith(warning)
        assert len(read.warnings) == 1


def test_short_lines_are_said_in_one_warning_per_idoc(registry) -> None:
    idoc = IDoc({"DOCNUM": "7", "MESTYP": "ZBRTEST", "SNDPRN": "S4HCLNT100"}, idoc_type="ZBRTEST01")
    for n in range(MAX_WARNINGS + 5):
        idoc.root.add_child(Segment("E1ZTRL", {"COUNT": str(n)}))  # COUNT is 6 columns wide
    (read,) = read_idocs_flat(write_idoc_flat([idoc], registry, pad=False), registry)
    (warning,) = read.warnings
    assert warning.startswith(
        f"lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and {MAX_WARNINGS + 5 - 10} more ({MAX_WARNINGS + 5} in all) "
        "end inside a field"
    )
    assert "(line 2: E2ZTRL000 ends at column 64, inside field COUNT (columns 64-69); line 3:" in warning
    assert warning.endswith("; ...)")


def test_other_warnings_are_bounded_per_idoc(registry) -> None:
    line = REFERENCE.split(b"\n")[3]
    no_docnum = line[:33] + b" " * 16 + line[49:]
    body = REFERENCE.replace(line, b"\n".join([no_docnum] * (MAX_WARNINGS + 5)))
    (read,) = read_idocs_flat(body, registry)
    assert len(read.warnings) == MAX_WARNINGS + 1
    assert read.warnings[-1] == "... and 5 more warnings"
    assert all("has no DOCNUM" in warning for warning in read.warnings[:-1])


def test_a_data_line_without_the_control_records_docnum_is_warned_about(registry) -> None:
    line = REFERENCE.split(b"\n")[3]
    (read,) = read_idocs_flat(REFERENCE.replace(line, line[:33] + b" " * 16 + line[49:]), registry)
    assert read.warnings == (
        "line 4: E2ZSTS has no DOCNUM, though the control record's is 0000000000123456: a line "
        "break inside a record?",
    )


def test_the_codec_puts_the_warnings_on_the_source_document() -> None:
    (document,) = SapCodec().decode(MATMAS.read_bytes(), origin=MATMAS.name)
    assert document.warnings[0].startswith("lines 2, 5, 6, 7, 8, 9, 16 (7 in all) end inside a field")
    assert "(line 2: E2MARAM009 ends at column 770, inside field VOLTO_NEW" in document.warnings[0]
    (padded,) = SapCodec().decode(_padded(MATMAS), origin="padded.idoc")
    assert padded.warnings == ()
    seen: list[str] = []
    SapCodec().decode_idocs(MATMAS.read_bytes(), on_warning=seen.append)
    assert seen == list(document.warnings)


def _padded(path: Path) -> bytes:
    registry = DefinitionRegistry()
    return write_idoc_flat(parse_idoc_flat(path.read_bytes(), registry), registry).encode()


def test_translate_prints_each_warning_on_stderr_and_leaves_stdout_alone(tmp_path) -> None:
    padded = tmp_path / "padded.idoc"
    padded.write_bytes(_padded(MATMAS))
    runner = CliRunner()
    stripped = runner.invoke(main, ["translate", "--mappings", str(MAPPINGS), str(MATMAS)])
    clean = runner.invoke(main, ["translate", "--mappings", str(MAPPINGS), str(padded)])
    assert (stripped.exit_code, clean.exit_code) == (0, 0)
    assert stripped.stdout == clean.stdout
    assert clean.stderr == ""
    lines = stripped.stderr.splitlines()
    assert lines == [
        f"bridge: warning: {MATMAS}: lines 2, 5, 6, 7, 8, 9, 16 (7 in all) end inside a field, as SAP's "
        "unpadded lines do: read as they are, but a line cut there would look the same (line 2: "
        "E2MARAM009 ends at column 770, inside field VOLTO_NEW (columns 768-772); line 5: E2MARCM008 "
        "ends at column 913, inside field EISLO (columns 909-923); line 6: E2MARDM ends at column 71, "
        "inside field PSTAT (columns 71-85); ...)"
    ]


# -- the whole class: a line cut at any position --------------------------------------------

ASCII_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8)
CJK_TEXT = st.text(st.sampled_from("装配篮子焊接工厂小心轻放AZ09-"), min_size=1, max_size=4)


def _fits(text: str, width: int, codec: str) -> str:
    while len(text.encode(codec)) > width:
        text = text[:-1]
    return text


@settings(max_examples=40, deadline=None)
@given(
    encoding=st.sampled_from(["utf-8", "gbk"]),
    vornr=ASCII_TEXT,
    arbpl=st.one_of(ASCII_TEXT, CJK_TEXT),
    ltxa1=st.one_of(ASCII_TEXT, CJK_TEXT).map(lambda t: f"  {t} {t}"),
)
def test_a_line_cut_at_any_position_keeps_the_fields_before_the_cut_and_warns_about_the_one_it_splits(
    registry, encoding: str, vornr: str, arbpl: str, ltxa1: str
) -> None:
    values = {"VORNR": _fits(vornr, 4, encoding), "ARBPL": _fits(arbpl, 8, encoding), "LTXA1": ltxa1}
    idoc = IDoc({"DOCNUM": "7", "MESTYP": "ZBRTEST", "SNDPRN": "S4HCLNT100"}, idoc_type="ZBRTEST01")
    idoc.root.add_child(Segment("E1ZOPR", {k: v for k, v in values.items() if v}))
    control, line = write_idoc_flat([idoc], registry, encoding=encoding).split("\n")[:2]
    columns = {"VORNR": (63, 67), "ARBPL": (67, 75), "LTXA1": (75, 115)}
    for cut in range(63, 116):  # columns: characters in UTF-8, bytes in GBK
        cut_line = line[:cut].encode() if encoding == "utf-8" else line.encode(encoding)[:cut]
        try:
            (read,) = read_idocs_flat(control.encode() + b"\n" + cut_line, registry, encoding=encoding)
        except DecodeError as exc:
            error = str(exc)
        else:
            error = ""
        if error:  # only a double-byte character split by the cut
            assert "ends inside a multi-byte gbk character" in error, cut
            continue
        fields = read.idoc.root["E1ZOPR"][0].fields()
        for name, (start, end) in columns.items():
            if end <= cut:
                assert fields.get(name) == (values[name] or None), (cut, name)
            elif start < cut:  # the cut splits this field: same value, or a warning naming it
                warned = any(f"inside field {name}" in w for w in read.warnings)
                assert fields.get(name) == values[name] or warned, (cut, name)
            else:
                assert name not in fields
