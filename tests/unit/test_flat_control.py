"""A cut control record is refused; SAP's unpadded output and tool-made records still read."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.encodings import flat_encoding
from adapters.sap.flat_codec import CONTROL_LAYOUT, parse_idoc_flat, write_idoc_flat
from adapters.sap.flat_control import read_control
from bridge.errors import DecodeError

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
FLAT = DATA / "sap" / "flat"
REFERENCE = (FLAT / "zbrtest01.txt").read_bytes()
CONTROL = REFERENCE.split(b"\n")[0].decode()
BODY = REFERENCE[REFERENCE.index(b"\n") :]
UTF8 = flat_encoding(None)
END_OF_CRETIM = 392
SHIPPED = sorted(
    [p for p in FLAT.glob("*.txt") if p.name not in ("zbrtest01_v2.txt", "zbrtest01_truncated.txt")]
    + list((MAPPINGS / "sap" / "cases").glob("*.idoc"))
)


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return DefinitionRegistry([DATA / "sap" / "we60"])


def control(**fields: str) -> str:
    """A control line holding ``fields`` at their columns, trailing blanks stripped."""
    buf = [" "] * 524
    layout = {name: (offset, length) for name, offset, length in CONTROL_LAYOUT}
    for name, value in {"TABNAM": "EDI_DC40", **fields}.items():
        offset, length = layout[name]
        assert len(value) <= length
        buf[offset : offset + len(value)] = value
    return "".join(buf).rstrip()


def test_a_control_record_cut_at_50_characters_is_refused(registry) -> None:
    """The issue's input: read before as sender '-' and creation time now."""
    with pytest.raises(DecodeError) as caught:
        parse_idoc_flat(REFERENCE[:50] + BODY, registry, source="cut.txt")
    assert str(caught.value) == (
        "cut.txt: DOCNUM 0000000000123456: segment EDI_DC40: line 1: control record ends at "
        "column 48, before MESTYP and SNDPRN: cut short? (every IDoc carries its message type "
        "MESTYP and sender partner SNDPRN; SAP strips only blanks)"
    )
    with pytest.raises(DecodeError, match="before MESTYP and SNDPRN"):
        SapCodec().decode(REFERENCE[:50] + BODY, origin="cut.txt", definitions=[DATA / "sap" / "we60"])


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param(CONTROL[:10], "ends at column 8, before MESTYP and SNDPRN", id="tabnam-only"),
        pytest.param(CONTROL[:120], "ends at column 106, before SNDPRN", id="inside-mestyp"),
        pytest.param(CONTROL[:170], "ends at column 170, before the end of CRE", id="inside-sndprn"),
        pytest.param(CONTROL[:300], "ends at column 282, before the end of CRE", id="after-receiver"),
        pytest.param(CONTROL[:382], "ends at column 382, before the end of CRE", id="inside-credat"),
        pytest.param(CONTROL[:391], "ends at column 391, inside CREDAT/CRETIM", id="inside-cretim"),
        pytest.param(
            control(MESTYP="ZBRTEST", SNDPRN="S4HCLNT100", CREDAT="20240315", CRETIM="1015"),
            "ends at column 390, inside CREDAT/CRETIM",
            id="tool-made-inside-cretim",
        ),
        pytest.param(
            control(MESTYP="ZBRTEST", RCVPRN="MES01"), "control record has no SNDPRN", id="no-sender"
        ),
        pytest.param(
            control(DOCREL="758", MESTYP="Z", SNDPRN="S", SERIAL="1"),
            "has DOCREL 758 but no CREDAT/CRETIM",
            id="sap-release-without-creation-time",
        ),
        pytest.param(CONTROL.ljust(524) + "X", "is 525 characters, longer than 524", id="past-524"),
        pytest.param(
            CONTROL.ljust(600) + "EDI_DD40", "control record is 608 characters, longer than 524", id="glued"
        ),
    ],
)
def test_a_cut_or_overlong_control_record_is_a_decode_error(line: str, says: str) -> None:
    with pytest.raises(DecodeError, match="line 7: ") as caught:
        read_control(line, 7, UTF8, source="f.txt")
    assert says in str(caught.value)
    assert caught.value.segment == "EDI_DC40"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(CONTROL, {"SNDPRN": "S4HCLNT100", "SERIAL": "20240315101500"}, id="sap-sample"),
        pytest.param(CONTROL[:END_OF_CRETIM], {"CRETIM": "101500"}, id="sap-cut-after-cretim"),
        pytest.param(CONTROL.ljust(700), {"CRETIM": "101500"}, id="blanks-past-524"),
        pytest.param(
            control(IDOCTYP="ZBRTEST01", MESTYP="ZBRTEST", SNDPRN="ERP7"),
            {"SNDPRN": "ERP7"},
            id="tool-made-minimal",
        ),
        pytest.param(
            control(DOCNUM="77", MESTYP="LOIPRO", SNDPRN="DMC"),
            {"DOCNUM": "77"},
            id="non-sap-erp-shape",
        ),
    ],
)
def test_complete_control_records_read(line: str, expected: dict[str, str]) -> None:
    fields = read_control(line, 1, UTF8)
    assert expected.items() <= fields.items()


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in SHIPPED])
def test_every_shipped_sample_and_its_unpadded_form_still_read(path: Path) -> None:
    registry = DefinitionRegistry([DATA / "sap" / "we60"])
    idocs = parse_idoc_flat(path.read_bytes(), registry)
    unpadded = write_idoc_flat(idocs, registry, pad=False)
    assert [i.control for i in parse_idoc_flat(unpadded, registry)] == [i.control for i in idocs]


@settings(max_examples=120, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {
            "DOCREL": st.sampled_from(["700", "740", "758 "]).map(str.rstrip),
            "MESTYP": st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=30),
            "SNDPRN": st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10),
            "CREDAT": st.dates().map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
            "CRETIM": st.times().map(lambda t: f"{t.hour:02d}{t.minute:02d}{t.second:02d}"),
        },
        optional={
            "DOCNUM": st.integers(1, 10**16 - 1).map(lambda n: f"{n:016d}"),
            "RCVPRN": st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10),
            "ARCKEY": st.text("abcdefghijklmnopqrstuvwxyz:=.-0123456789", min_size=1, max_size=70),
            "SERIAL": st.text("0123456789", min_size=1, max_size=20),
        },
    ),
    cut=st.integers(min_value=0, max_value=523),
)
def test_a_sap_control_record_cut_anywhere_is_refused_or_keeps_every_field_before_the_cut(
    values: dict[str, str], cut: int
) -> None:
    """SAP stamps DOCREL with CREDAT/CRETIM: a cut before CRETIM's end never reads; a cut after it
    loses only what follows the cut."""
    line = control(**values)
    whole = read_control(line, 1, UTF8)
    cut_line = line[:cut]
    if cut < END_OF_CRETIM:
        with pytest.raises(DecodeError, match="cut short"):
            read_control(cut_line, 1, UTF8)
        return
    fields = read_control(cut_line, 1, UTF8)
    for name, offset, length in CONTROL_LAYOUT:
        if offset + length <= cut:
            assert fields.get(name) == whole.get(name), name
