"""``bridge translate --source-system yonyou --document-type productionorder FILE.json`` on a
reply as saved from YonBIP (whole, or its ``data``): one canonical Order per product line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main

from ..conftest import MAPPINGS

CASES = MAPPINGS / "yonyou" / "cases"
DETAIL = CASES / "productionorder_detail_reply.json"


def translate(*files: Path, document_type: str = "productionorder") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        ["translate", "--mappings", str(MAPPINGS), "--source-system", "yonyou",
         "--document-type", document_type, *map(str, files)],
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def orders(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_whole_detail_reply_gives_one_order_per_line():
    code, out, err = translate(DETAIL)
    assert code == 0, err
    envelopes = orders(out)
    assert [e["payload"]["order_id"] for e in envelopes] == ["SCDD20240115000007-10", "SCDD20240115000007-20"]
    assert [e["payload"]["material_id"] for e in envelopes] == ["DJ-1001", "DJ-1002"]
    assert {(e["entity"], e["event"]) for e in envelopes} == {("order", "released")}
    assert envelopes[0]["source"] == {
        "system": "yonyou", "document_type": "productionorder", "document_id": "SCDD20240115000007"
    }
    assert envelopes[0]["payload"]["quantity"] == {"value": "120", "unit": "台"}
    assert len({e["message_id"] for e in envelopes}) == 2


def test_the_data_object_alone_gives_the_same_orders(tmp_path: Path):
    data_only = tmp_path / "detail_data.json"
    data_only.write_text(json.dumps(json.loads(DETAIL.read_text("utf-8"))["data"], ensure_ascii=False), "utf-8")
    code, out, err = translate(data_only)
    assert code == 0, err
    assert [e["payload"] for e in orders(out)] == [e["payload"] for e in orders(translate(DETAIL)[1])]


def test_list_rows_and_epoch_ms_times_translate_too():
    code, out, err = translate(CASES / "productionorder_list_reply.json", CASES / "productionorder_detail_data.json")
    assert code == 0, err
    assert [(e["payload"]["order_id"], e["event"]) for e in orders(out)] == [
        ("SCDD20240122000011-10", "released"),
        ("SCDD20240105000003-30", "closed"),
        ("SCDD20240120000002-10", "changed"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b'{"code": "999", "message": "\xe6\x95\xb0\xe6\x8d\xae\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8"}',
                     "bad.json: $: YonBIP answered code 999: 数据不存在", id="ERP error reply"),
        pytest.param(b'{"code": "200", "data": {"code": "SCDD1",', "bad.json: not JSON", id="truncated JSON"),
        pytest.param(b'{"code": 200, "message": "ok", "data": {"id": 1, "orgName": "x"}}',
                     "bad.json: $.data: cannot tell what this is", id="unknown object"),
        pytest.param(b'{"code": "SCDD1", "orgCode": "SZ01", "status": 1, "orderProduct": [{"lineNo": 10, "quantity": 1, "mainUnitName": "x"}]}',
                     "field material_id, path materialCode | productCode: required value is missing",
                     id="line without material"),
    ],
)
def test_a_bad_document_gives_one_line_without_a_traceback(tmp_path: Path, content: bytes, expected: str):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    code, out, err = translate(bad)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("bridge: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_good_files_are_still_translated_when_one_fails(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"code": "310036", "message": "illegal token"}')
    code, out, err = translate(bad, CASES / "productionorder_detail_data.json")
    assert code == 1
    assert [e["payload"]["order_id"] for e in orders(out)] == ["SCDD20240120000002-10"]
    assert "code 310036: illegal token" in err
