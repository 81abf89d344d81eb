"""Properties of the flat reader and writer over arbitrary input and generated IDoc trees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sap.definitions import DefinitionRegistry, SegmentDefinition
from adapters.sap.errors import DefinitionError
from adapters.sap.flat_codec import RAW_SDATA, parse_idoc_flat, read_idocs_flat, write_idoc_flat
from adapters.sap.model import IDoc, Segment
from bridge.errors import DecodeError

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
TEST_REGISTRY = DefinitionRegistry([DATA / "sap" / "we60"])
SAMPLES = [
    DATA / "sap" / "flat" / "zbrtest01.txt",
    DATA / "sap" / "flat" / "zbrtest01_ext.txt",
    DATA / "sap" / "flat" / "INVOIC02_shape.txt",
    MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc",
]
ENCODINGS = [None, "gbk", "latin-1", "shift_jis"]


def outcome(data: bytes, encoding: str | None) -> list[Any] | Exception:
    """IDocs (with warnings) or the typed error; anything else propagates and fails the test."""
    try:
        return read_idocs_flat(data, TEST_REGISTRY, source="fuzz", encoding=encoding)
    except (DecodeError, DefinitionError) as exc:
        return exc


def assert_clean(result: list[Any] | Exception) -> None:
    if isinstance(result, Exception):
        assert "\n" not in str(result)
        assert str(result).startswith("fuzz: ")
    else:
        assert all(isinstance(w, str) and "\n" not in w for r in result for w in r.warnings)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=3000), st.binary(max_size=3000).map(lambda b: b"EDI_DC40" + b)),
    encoding=st.sampled_from(ENCODINGS),
)
def test_arbitrary_bytes_give_idocs_or_a_one_line_decode_or_definition_error(
    data: bytes, encoding: str | None
) -> None:
    assert_clean(outcome(data, encoding))


MUTATION = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.integers(min_value=0),
    st.sampled_from([0x00, 0x09, 0x0A, 0x0D, 0x20, 0x30, 0x39, 0x41, 0x7F, 0x80, 0xA1, 0xB0, 0xD7, 0xFF]),
)


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    mutations=st.lists(MUTATION, min_size=1, max_size=6),
    encoding=st.sampled_from(ENCODINGS),
)
def test_mutated_real_files_give_idocs_or_a_one_line_error(
    sample: Path, mutations: list[tuple[str, int, int]], encoding: str | None
) -> None:
    data = bytearray(sample.read_bytes())
    for op, where, byte in mutations:
        at = where % (len(data) or 1)
        if op == "replace" and data:
            data[at] = byte
        elif op == "insert":
            data.insert(at, byte)
        elif data:
            del data[at]
    assert_clean(outcome(bytes(data), encoding))


# -- generated trees round-trip ---------------------------------------------------------------

SHIPPED = DefinitionRegistry()
TYPES = {name: SHIPPED.resolve(name) for name in ("MATMAS05", "BATMAS03", "LOIPRO01", "LOIPRO05")}


def _children(name: str) -> dict[str | None, list[SegmentDefinition]]:
    found: dict[str | None, list[SegmentDefinition]] = {}
    for definition in TYPES[name].by_type.values():
        found.setdefault(definition.parent_type, []).append(definition)
    return found


CHILDREN = {name: _children(name) for name in TYPES}


def _value(draw: st.DrawFn, width: int, codec: str) -> str:
    alphabet = st.characters(codec=codec, exclude_categories=("Cc", "Cs", "Zl", "Zp"))
    text = draw(st.text(alphabet, min_size=1, max_size=min(width, 12)))
    while text and (len(text.encode(codec)) > width if codec != "utf-8" else len(text) > width):
        text = text[:-1]
    text = text.rstrip()
    return text or "X"


@st.composite
def idoc_trees(draw: st.DrawFn, codec: str) -> IDoc:
    name = draw(st.sampled_from(sorted(TYPES)))
    control = {
        "DOCNUM": f"{draw(st.integers(1, 10**9)):016d}",
        "DOCREL": "758",
        "MESTYP": name[:-2],
        "SNDPRN": "S4HCLNT100",
        "CREDAT": "20240315",
        "CRETIM": "101500",
    }
    idoc = IDoc(control=control, idoc_type=name)
    budget = [draw(st.integers(1, 25))]

    def grow(parent: Segment, parent_type: str | None, depth: int) -> None:
        kinds = CHILDREN[name].get(parent_type, [])
        if not kinds or depth > 3:
            return
        for _ in range(draw(st.integers(1 if depth == 0 else 0, 4))):
            if budget[0] <= 0:
                return
            budget[0] -= 1
            definition = draw(st.sampled_from(kinds))
            segment = Segment(definition.segment_type, _fields(draw, definition, codec))
            parent.add_child(segment)
            grow(segment, definition.segment_type, depth + 1)

    grow(idoc.root, None, 0)
    return idoc


def _fields(draw: st.DrawFn, definition: SegmentDefinition, codec: str) -> dict[str, str]:
    if not definition.fields:
        return {RAW_SDATA: _value(draw, 1000, codec)} if draw(st.booleans()) else {}
    chosen = draw(st.lists(st.sampled_from(definition.fields), max_size=6, unique_by=lambda f: f.name))
    return {f.name: _value(draw, f.length, codec) for f in chosen}


def shape(segment: Segment) -> list[Any]:
    return [(c.segment_type, c.fields(), shape(c)) for c in segment.children]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), codec=st.sampled_from(["utf-8", "gbk"]), pad=st.booleans())
def test_generated_idoc_trees_round_trip_through_the_writer_and_the_reader(
    data: st.DataObject, codec: str, pad: bool
) -> None:
    idoc = data.draw(idoc_trees(codec), label="idoc")
    text = write_idoc_flat([idoc], SHIPPED, encoding=codec, pad=pad)
    (again,) = parse_idoc_flat(text.encode(codec), SHIPPED, encoding=codec)
    assert again.control == idoc.control | {"TABNAM": "EDI_DC40", "IDOCTYP": idoc.idoc_type}
    assert shape(again.root) == shape(idoc.root)
    if pad:  # columns: characters in UTF-8, bytes in GBK
        lines = text.split("\n")[1:-1] if codec == "utf-8" else text.encode(codec).split(b"\n")[1:-1]
        assert all(len(line) == 1063 for line in lines)
