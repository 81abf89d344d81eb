"""``bridge translate`` on K/3 Cloud View replies as saved from the API: whole, or the bill alone."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.kingdee.formats import dumps
from bridge.cli import main

from ..conftest import MAPPINGS

KINGDEE = MAPPINGS / "kingdee"  # only the Kingdee mappings: other systems' files do not matter here
CASES = KINGDEE / "cases"
REPLY = CASES / "PRD_MO_MO25030118.View.json"


def translate(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["translate", "--mappings", str(KINGDEE), *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def orders(*args: str | Path) -> list[dict]:
    code, out, err = translate("--source-system", "kingdee", "--document-type", "PRD_MO", *args)
    assert code == 0, err
    assert err == ""
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def bill_alone(tmp_path: Path) -> Path:
    """The reply's ``Result.Result``, saved on its own (numbers written exactly)."""
    bill = json.loads(REPLY.read_bytes(), parse_float=Decimal)["Result"]["Result"]
    path = tmp_path / "MO25030118.json"
    path.write_text(dumps(bill), encoding="utf-8")
    return path


def test_a_whole_view_reply_gives_one_order_per_entry_row():
    envelopes = orders(REPLY)
    assert [e["payload"]["order_id"] for e in envelopes] == ["MO25030118-1", "MO25030118-2"]
    assert [e["event"] for e in envelopes] == ["released", "released"]
    assert [e["message_id"] for e in envelopes] == [
        "kingdee:-:MO25030118:order:MO25030118-1", "kingdee:-:MO25030118:order:MO25030118-2"]
    first, second = (e["payload"] for e in envelopes)
    assert (first["material_id"], first["quantity"], first["site"]) == ("05.02.11.03", {"value": "9551", "unit": "Pcs"}, "102")
    assert second["quantity"] == {"value": "0.1", "unit": "t"}
    assert first["planned_start"] == "2025-03-03T00:00:00+08:00"


def test_the_bill_alone_gives_the_same_orders(bill_alone: Path):
    assert orders(bill_alone) == orders(REPLY)


def test_a_bill_alone_is_found_by_its_shape_without_naming_the_system():
    code, out, err = translate(CASES / "PRD_MO_MO25030207.Result.json", CASES / "BD_BatchMainFile_HY250302S-02.View.json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["entity"], e["payload"].get("order_id") or e["payload"]["lot_id"]) for e in lines] == [
        ("order", "MO25030207-1"), ("order", "MO25030207-2"), ("order", "MO25030207-3"), ("lot", "HY250302S-02")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", "bad.json: not JSON: Expecting value", id="not JSON"),
        pytest.param('{"BillNo": "生产"}'.encode("gbk"), "bad.json: not UTF-8", id="GBK"),
        pytest.param(b'{"Number": "05.02.11.03", "DocumentStatus": "C"}', "which form this bill is cannot be told",
                     id="a bill of no form"),
        pytest.param((CASES / "PRD_MO_MO25039999.View.refused.json").read_bytes(),
                     "K/3 Cloud answered IsSuccess false (MsgCode 10, ErrorCode 500)", id="refused View"),
        pytest.param((CASES / "PRD_MO_MO25030199.no_org.json").read_bytes(),
                     "field site, path $root.PrdOrgId.Number: required value is missing", id="no production org"),
    ],
)
def test_a_wrong_document_gives_one_error_line_and_exit_1(tmp_path: Path, content: bytes, expected: str):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    code, out, err = translate("--source-system", "kingdee", "--document-type", "PRD_MO", bad)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("bridge: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_an_option_the_kingdee_codec_does_not_take_is_a_configuration_error():
    code, _, err = translate("--source-system", "kingdee", "--idoc-type", "LOIPRO05", REPLY)
    assert code == 2
    assert "unknown Kingdee codec option(s): idoc_type" in err
