"""LF, CRLF and CR line ends read the same; a stray CR or LF never loses a segment silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.flat_codec import parse_idoc_flat, read_idocs_flat
from bridge.errors import DecodeError

DATA = Path(__file__).parents[1] / "data"
FLAT = DATA / "sap" / "flat"
SAMPLES = ["zbrtest01.txt", "zbrtest01_two_idocs.txt", "zbrtest01_ext.txt", "INVOIC02_shape.txt"]


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([DATA / "sap" / "we60"], include_shipped=False)


def lines_of(name: str) -> list[bytes]:
    return (FLAT / name).read_bytes().rstrip(b"\n").split(b"\n")


def trees(data: bytes, registry: DefinitionRegistry) -> list[object]:
    return [(idoc.control, idoc.tree()) for idoc in parse_idoc_flat(data, registry)]


@pytest.mark.parametrize(
    ("join", "last"),
    [
        pytest.param(b"\n", b"\n", id="lf"),
        pytest.param(b"\r\n", b"\r\n", id="crlf"),
        pytest.param(b"\r", b"\r", id="cr-only"),
        pytest.param(b"\r", b"", id="cr-only-without-a-last-line-end"),
        pytest.param(b"\r\r", b"\r", id="cr-only-with-blank-lines"),
        pytest.param(b"\n", b"", id="lf-without-a-last-line-end"),
    ],
)
@pytest.mark.parametrize("name", SAMPLES)
def test_every_line_end_style_gives_the_same_idocs(registry, name: str, join: bytes, last: bytes) -> None:
    reference = trees((FLAT / name).read_bytes(), registry)
    assert trees(join.join(lines_of(name)) + last, registry) == reference


def test_a_cr_only_file_keeps_every_segment(registry) -> None:
    (idoc,) = parse_idoc_flat(b"\r".join(lines_of("zbrtest01.txt")), registry)
    assert [s.segment_type for s in idoc.segments] == ["E1ZHDR", "E1ZOPR", "E1ZOPR", "E1ZTRL"]
    assert sum(1 for _ in walk(idoc.root)) == 10


def walk(segment):
    for child in segment.children:
        yield child
        yield from walk(child)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(
            b"\r".join(lines_of("zbrtest01.txt")[:3]) + b"\r" + b"\n".join(lines_of("zbrtest01.txt")[3:]),
            "line 4: a line feed (LF) at byte",
            id="cr-then-lf",
        ),
        pytest.param(
            b"\n".join(lines_of("zbrtest01.txt")[:3]) + b"\n" + b"\r".join(lines_of("zbrtest01.txt")[3:]),
            "line 4: a carriage return (CR) at byte",
            id="lf-then-cr",
        ),
        pytest.param(
            b"\n".join(line.replace(b"Cut to", b"Cut\rto") for line in lines_of("zbrtest01.txt")),
            "line 3: a carriage return (CR)",
            id="cr-inside-a-field",
        ),
    ],
)
def test_mixed_line_ends_are_refused_naming_the_line(registry, data: bytes, says: str) -> None:
    with pytest.raises(DecodeError, match="mixed line ends") as caught:
        parse_idoc_flat(data, registry, source="mixed.txt")
    assert says in str(caught.value)
    assert str(caught.value).startswith("mixed.txt: ")


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(SAMPLES),
    style=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    where=st.integers(min_value=0),
    stray=st.sampled_from([b"\r", b"\n", b"\r\n", b"\n\r"]),
)
def test_a_line_break_anywhere_gives_the_same_idocs_an_error_or_a_warning_never_silently_less(
    registry, name: str, style: bytes, where: int, stray: bytes
) -> None:
    """A line break inside a record of an LF or CRLF file cannot be told from a line end; the
    two halves then end inside a field or lack the DOCNUM SAP writes in every record."""
    reference = trees((FLAT / name).read_bytes(), registry)
    data = style.join(lines_of(name)) + style
    at = where % len(data)
    broken = data[:at] + stray + data[at:]
    try:
        read = read_idocs_flat(broken, registry)
    except DecodeError as exc:
        read, error = [], str(exc)
    else:
        error = ""
    if error:
        assert "\n" not in error
        return
    found = [(r.idoc.control, r.idoc.tree()) for r in read]
    assert found == reference or any(r.warnings for r in read)
