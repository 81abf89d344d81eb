"""A MES snapshot file (CSV or JSON lines) read as Records, streamed, refusing bad lines by
file and line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.reconcile import Amount, Layout, Record, Rules, Side, ValueColumns, read_snapshot, reconcile

D = Decimal
JSON_LAYOUT = Layout(
    key=("order", "op"),
    values={
        "yield": ValueColumns("qty.yield.value", unit="qty.yield.unit"),
        "scrap": ValueColumns("qty.scrap", fixed_unit="PCS"),
    },
    material="material",
    version="version",
    seen_at="seen",
    ref="doc",
)
CSV_LAYOUT = Layout(
    key=("AUFNR", "VORNR"),
    values={"yield": ValueColumns("LMNGA", unit="MEINH"), "scrap": ValueColumns("XMNGA", fixed_unit="PCS")},
    material="MATNR",
    ref="RUECK",
)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def line(**row: object) -> str:
    return json.dumps(row)


def test_json_lines_with_dotted_paths_bom_blank_lines_and_exact_numbers(tmp_path: Path) -> None:
    rows = [
        line(
            order="430094",
            op="0010",
            material="M1",
            version=7,
            seen="2024-06-01T12:00:00+08:00",
            doc="CONF-1",
            qty={"yield": {"value": "12.500", "unit": "KG"}, "scrap": 1},
        ),
        "",
        "   ",
        line(order=430095, op="0020", qty={"yield": {"value": 0.1, "unit": "PCS"}, "scrap": None}),
        line(order=" 430096 ", op="0010", qty={"yield": {"value": 1e-7, "unit": "PCS"}}),
    ]
    path = write(tmp_path, "mes.jsonl", "\ufeff" + "\n".join(rows))  # no line end at the end either
    first, second, third = read_snapshot(path, JSON_LAYOUT)
    assert first == Record(
        ("430094", "0010"),
        {"yield": Amount(D("12.500"), "KG"), "scrap": Amount(D(1), "PCS")},
        "M1",
        "7",
        datetime(2024, 6, 1, 4, 0, tzinfo=UTC),
        "mes.jsonl:1 (CONF-1)",
    )
    assert first.seen_at.utcoffset() == timedelta(hours=8)  # type: ignore[union-attr]
    assert second.key == ("430095", "0020")
    assert second.values == {"yield": Amount(D("0.1"), "PCS")}  # the JSON number read exactly, null absent
    assert second.ref == "mes.jsonl:4"
    assert third.key == ("430096", "0010")
    assert third.values["yield"].value == D("1E-7")


def test_csv_with_a_header_mapping_quoted_lines_and_fixed_units(tmp_path: Path) -> None:
    text = (
        "\ufeffAUFNR;VORNR;MATNR;LMNGA;MEINH;XMNGA;RUECK;NOTE\r\n"
        "430094;0010;M1;12.5;KG;;1001;plain\r\n"
        "\r\n"
        '430094;0020;M1;3;BOX;1;1002;"two\r\nlines"\r\n'
        "430095;0010;M2;7;PCS;0;;x\r\n"
    )
    path = write(tmp_path, "mes.csv", text)
    records = list(read_snapshot(path, CSV_LAYOUT, delimiter=";"))
    assert [(r.key, r.values, r.material, r.ref) for r in records] == [
        (("430094", "0010"), {"yield": Amount(D("12.5"), "KG")}, "M1", "mes.csv:2 (1001)"),
        (
            ("430094", "0020"),
            {"yield": Amount(D(3), "BOX"), "scrap": Amount(D(1), "PCS")},
            "M1",
            "mes.csv:4 (1002)",
        ),
        (("430095", "0010"), {"yield": Amount(D(7), "PCS"), "scrap": Amount(D(0), "PCS")}, "M2", "mes.csv:6"),
    ]


def test_a_snapshot_is_read_lazily_and_compared_against_a_streamed_side(tmp_path: Path) -> None:
    rows = [
        line(order=f"{n:04d}", op="0010", qty={"yield": {"value": str(n), "unit": "PCS"}}) for n in range(50)
    ]
    rows.reverse()
    rows.append("{not json")
    path = write(tmp_path, "mes.jsonl", "\n".join(rows) + "\n")
    reading = read_snapshot(path, JSON_LAYOUT)
    assert next(reading).key == ("0049", "0010")  # the bad line 51 is not read yet
    ledger = [Record((f"{n:04d}", "0010"), {"yield": Amount(D(n), "PCS")}) for n in range(50)]
    with pytest.raises(ConfigError, match=r"mes.jsonl: line 51: not JSON"):
        list(
            reconcile(
                Side("ledger", ledger, ordered=True),
                Side("mes", read_snapshot(path, JSON_LAYOUT)),
                Rules(("o", "p")),
            )
        )
    path.write_text("\n".join(rows[:-1]) + "\n")
    found = reconcile(
        Side("ledger", ledger, ordered=True), Side("mes", read_snapshot(path, JSON_LAYOUT)), Rules(("o", "p"))
    )
    assert list(found) == []
    assert found.summary.matched == 50


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b'{"order": "1", "op": "1"}\n{"order": "\xff"}\n',
            r"line 2: not UTF-8: byte 0xff at byte 12",
            id="not utf-8",
        ),
        pytest.param(b"\n\n[1, 2]\n", r"line 3: a line must hold a JSON object", id="not an object"),
        pytest.param(b'{"order": "1", "op": "1"', r"line 1: not JSON: Expecting", id="broken json"),
        pytest.param(b'{"op": "1"}\n', r"line 1: key field order is missing", id="key missing"),
        pytest.param(b'{"order": "  ", "op": "1"}\n', r"line 1: key field order is empty", id="key empty"),
        pytest.param(
            b'{"order": 1.5, "op": "1"}\n', r"line 1: order is a Decimal 1.5, not text", id="key a number"
        ),
        pytest.param(
            b'{"order": true, "op": "1"}\n', r"line 1: order is a boolean True, not text", id="key a boolean"
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": {"value": "12,5", "unit": "KG"}}}\n',
            r"line 1: yield \(qty.yield.value\): '12,5' is not a number",
            id="not a number",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": {"value": true, "unit": "KG"}}}\n',
            r"line 1: yield \(qty.yield.value\): True is a boolean",
            id="a boolean value",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": {"value": NaN, "unit": "KG"}}}\n',
            r"line 1: not JSON: NaN is not a number a quantity can be",
            id="NaN",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": {"value": "1"}}}\n',
            r"line 1: yield \(qty.yield.value\) is '1' but its unit \(qty.yield.unit\) is missing",
            id="no unit",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": "12"}}\n',
            r"line 1: qty.yield is not an object \(reading qty.yield.value\)",
            id="path through text",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "qty": {"yield": {"value": {"a": 1}, "unit": "KG"}}}\n',
            r"line 1: yield \(qty.yield.value\): \{'a': 1\} is not a number",
            id="an object value",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "seen": "2024-06-01T12:00:00"}\n',
            r"line 1: seen '2024-06-01T12:00:00' has no UTC offset",
            id="naive time",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "seen": "yesterday"}\n',
            r"line 1: seen 'yesterday' is not an ISO 8601 time",
            id="not a time",
        ),
        pytest.param(
            b'{"order": "1", "op": "1", "version": [1]}\n',
            r"line 1: version is a list \[1\], not text",
            id="version a list",
        ),
    ],
)
def test_a_bad_json_line_names_the_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, "mes.jsonl", content)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {message}"):
        list(read_snapshot(path, JSON_LAYOUT))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "AUFNR,VORNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,1,KG,0,x\n",
            r"line 1: the header has no column MATNR",
            id="column missing",
        ),
        pytest.param(
            "AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,M,1,KG,0,x\n\n2,1,M,1,KG\n",
            r"line 4: 5 fields, the header has 7",
            id="short row",
        ),
        pytest.param(
            "AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,M,1.5.1,KG,0,x\n",
            r"line 2: yield \(LMNGA\): '1.5.1' is not a number",
            id="not a number",
        ),
        pytest.param(
            "AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,M,１２,KG,0,x\n",
            r"line 2: yield \(LMNGA\): '１２' is not a number: '１' \(FULLWIDTH DIGIT ONE",
            id="fullwidth digits",
        ),
        pytest.param(
            "AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,M,1,,0,x\n",
            r"line 2: yield \(LMNGA\) is '1' but its unit \(MEINH\) is missing",
            id="no unit",
        ),
        pytest.param(
            'AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n1,1,M,1,KG,0,"x\n',
            r"line 2: not CSV",
            id="open quote",
        ),
        pytest.param(
            "AUFNR,AUFNR,VORNR,MATNR,LMNGA,MEINH,XMNGA,RUECK\n",
            r"line 1: the header names column AUFNR twice",
            id="header twice",
        ),
    ],
)
def test_a_bad_csv_line_names_the_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "mes.csv", content)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {message}"):
        list(read_snapshot(path, CSV_LAYOUT))


def test_size_limits_are_checked_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "mes.jsonl", line(order="1", op="1") + "\n")
    with pytest.raises(ConfigError, match=rf"^{path}: the snapshot is 26 bytes, more than the limit of 10$"):
        read_snapshot(path, JSON_LAYOUT, max_bytes=10)  # at once, not when iterated
    long = write(
        tmp_path, "long.jsonl", line(order="1", op="1") + "\n" + line(order="x" * 100, op="1") + "\n"
    )
    with pytest.raises(ConfigError, match=r"long.jsonl: line 2: the line is longer than 64 bytes"):
        list(read_snapshot(long, JSON_LAYOUT, max_line_bytes=64))
    assert len(list(read_snapshot(long, JSON_LAYOUT, max_line_bytes=200))) == 2


def test_missing_files_and_unknown_formats_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent.jsonl: cannot read the snapshot: No such file"):
        read_snapshot(tmp_path / "absent.jsonl", JSON_LAYOUT)
    path = write(tmp_path, "mes.xml", "<x/>")
    with pytest.raises(ConfigError, match=r"mes.xml: unknown snapshot format '.xml' \(csv or jsonl\)"):
        read_snapshot(path, JSON_LAYOUT)
    renamed = write(tmp_path, "mes.txt", line(order="1", op="2") + "\n")
    assert [r.key for r in read_snapshot(renamed, JSON_LAYOUT, format="jsonl")] == [("1", "2")]


def test_an_empty_file_has_no_records(tmp_path: Path) -> None:
    assert list(read_snapshot(write(tmp_path, "e.csv", ""), CSV_LAYOUT)) == []
    assert list(read_snapshot(write(tmp_path, "e.csv", "\n\n"), CSV_LAYOUT)) == []
    assert list(read_snapshot(write(tmp_path, "e.jsonl", "\ufeff\n"), JSON_LAYOUT)) == []


def test_bad_layouts_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="exactly one of unit and fixed_unit"):
        ValueColumns("qty")
    with pytest.raises(ConfigError, match="exactly one of unit and fixed_unit"):
        ValueColumns("qty", unit="u", fixed_unit="KG")
    with pytest.raises(ConfigError, match="key's columns as a list"):
        Layout(key="order")


def test_times_keep_their_offset_and_compare_across_zones(tmp_path: Path) -> None:
    path = write(tmp_path, "mes.jsonl", line(order="1", op="1", seen="2024-06-01T04:00:00Z") + "\n")
    [record] = read_snapshot(path, JSON_LAYOUT)
    assert record.seen_at == datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
