"""The Yonyou codec: YonBIP replies, whole or their ``data``, as production orders, products and
batch numbers; strict JSON only, exact numbers, the ERP's refusals as typed errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.yonyou.codec import YonyouCodec, YonyouReplyError
from adapters.yonyou.transforms import yonyou_add, yonyou_date, yonyou_datetime, yonyou_format_datetime
from bridge.errors import ConfigError, DecodeError
from bridge.mapping.scalars import TransformError

from ..conftest import MAPPINGS

CASES = MAPPINGS / "yonyou" / "cases"
CODEC = YonyouCodec()
DETAIL = CASES / "productionorder_detail_reply.json"


def reply(data: object, code: object = "200", message: str = "操作成功") -> bytes:
    return json.dumps({"code": code, "message": message, "data": data}, ensure_ascii=False).encode()


def order(**fields: object) -> dict:
    line = {"id": 2318870412259585, "lineNo": 10, "materialCode": "DJ-1001", "quantity": 1, "mainUnitName": "台"}
    return {"id": 2318870412259584, "code": "SCDD1", "status": 1, "orderProduct": [line], **fields}


def decode_error(data: bytes, **options: object) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(data, origin="in.json", **options)
    return caught.value


# -- what it reads ---------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(CASES.glob("*.json")), ids=lambda p: p.name)
def test_it_recognises_every_yonyou_case_input_and_no_canonical_envelope(sample: Path):
    assert CODEC.sniff(sample.read_bytes()) is not sample.name.startswith("report_")


@pytest.mark.parametrize(
    "data",
    [b"hello", b"<LOIPRO05/>", b'{"report_id": "WR-1", "code": "1"}', b'{"a": 1}', b""],
    ids=["text", "xml", "mes work report", "other json", "empty"],
)
def test_it_leaves_other_formats_alone(data: bytes):
    assert not CODEC.sniff(data)


def test_a_whole_detail_reply_gives_the_production_order_as_its_data():
    [document] = CODEC.decode(DETAIL.read_bytes(), origin="detail.json")
    assert (document.system, document.document_type, document.document_id) == (
        "yonyou", "productionorder", "SCDD20240115000007"
    )
    assert document.version == "20240115091245000"
    assert document.created == ("2024-01-15 09:12:45",)
    assert document.created_read_by == "yonyou_datetime"
    assert document.label == "detail.json code SCDD20240115000007"
    assert document.meta == {"path": "$.data", "shape": "detail"}
    assert [line["lineNo"] for line in document.tree["orderProduct"]] == [10, 20]


def test_the_data_object_alone_decodes_to_the_same_document():
    whole = json.loads(DETAIL.read_bytes())
    [from_reply] = CODEC.decode(DETAIL.read_bytes())
    [from_data] = CODEC.decode(json.dumps(whole["data"], ensure_ascii=False).encode())
    assert from_data.tree == from_reply.tree
    assert (from_data.document_id, from_data.version) == (from_reply.document_id, from_reply.version)
    assert from_data.meta["path"] == "$"


def test_numbers_stay_exact_ids_as_integers_fractions_as_decimals():
    [document] = CODEC.decode(DETAIL.read_bytes())
    assert document.tree["id"] == 2318870412259584  # 16 digits, not a float
    first = document.tree["orderProduct"][0]
    assert first["orderMaterial"][1]["recipientQuantity"] == Decimal("0.1")
    assert first["orderMaterial"][1]["unitUseQuantity"] == Decimal("0.00083333")
    assert document.tree["orderProduct"][1]["quantity"] == "1"


def test_list_rows_are_given_the_detail_shape_one_line_each():
    documents = CODEC.decode((CASES / "productionorder_list_reply.json").read_bytes())
    assert [d.document_id for d in documents] == ["SCDD20240122000011", "SCDD20240105000003"]
    first = documents[0]
    assert first.meta == {"path": "$.data.recordList[0]", "shape": "list-row"}
    [line] = first.tree["orderProduct"]
    assert line["id"] == 2321508827308289
    assert (line["lineNo"], line["materialCode"], line["mainUnitName"]) == (10, "FS-5520", "个")
    assert line["orderMaterial"][0]["materialCode"] == "SL-0031"
    assert "orderMaterial" not in first.tree
    assert first.tree["code"] == "SCDD20240122000011"


@pytest.mark.parametrize(
    ("sample", "types", "first_id"),
    [
        ("product_list_reply.json", ("product", "product"), "DG-2003"),
        ("product_multilingual.json", ("product",), "ZZ-4410"),
        ("batchno_list_reply.json", ("batchno", "batchno"), "20240115"),
        ("batchno_save_reply.json", ("batchno",), "DJ240120-A"),
        ("productionorder_list_reply.json", ("productionorder", "productionorder"), "SCDD20240122000011"),
    ],
)
def test_identify_names_the_documents_by_their_shape(sample: str, types: tuple[str, ...], first_id: str):
    identity = CODEC.identify((CASES / sample).read_bytes())
    assert (identity.document_types, identity.document_id) == (types, first_id)


def test_a_write_reply_gives_the_rows_it_echoes_and_refuses_a_failed_row():
    rows = {"count": 2, "sucessCount": 1, "failCount": 1, "infos": [
        {"code": 200, "rowNum": 1, "message": "操作成功", "data": order(code="SCDD2")},
        {"code": "999", "rowNum": 2, "message": "物料不存在"},
    ]}
    error = decode_error(reply(rows))
    assert isinstance(error, YonyouReplyError)
    assert (error.erp_code, error.erp_message) == ("999", "物料不存在")
    assert str(error) == "in.json: $.data.infos[1]: YonBIP answered code 999: 物料不存在"
    rows["infos"].pop()
    [document] = CODEC.decode(reply(rows))
    assert (document.document_id, document.meta["shape"]) == ("SCDD2", "write-row")


def test_a_list_row_without_pubts_is_versioned_by_its_page():
    page = {"pageIndex": 1, "pubts": "2024-01-25 18:00:00", "recordList": [{"code": "DG-2003", "unitCode": "PCE"}]}
    [document] = CODEC.decode(reply(page))
    assert document.version == "20240125180000000"
    assert document.created_path == "$.data.pubts"


@pytest.mark.parametrize(
    "pubts", ["2024-01-20 17:00:05", 1705741205000, "1705741205000", '"2024-01-20 17:00:05.000"'],
    ids=["text", "epoch ms number", "epoch ms text", "quoted text"],
)
def test_pubts_as_text_or_epoch_ms_gives_the_same_version(pubts: object):
    [document] = CODEC.decode(reply(order(pubts=pubts)))
    assert document.version == "20240120170005000"


def test_the_timezone_option_says_how_epoch_ms_become_the_tenants_wall_clock():
    [document] = CODEC.decode(reply(order(pubts=1705741205000)), timezone="UTC")
    assert document.version == "20240120090005000"


def test_an_object_without_pubts_has_no_version():
    [document] = CODEC.decode(reply(order()))
    assert (document.version, document.created) == (None, ())


def test_the_document_type_option_reads_an_object_of_no_telling_shape():
    [document] = CODEC.decode(reply({"code": "M-1", "name": "螺栓"}), document_type="product")
    assert (document.document_type, document.document_id) == ("product", "M-1")


# -- what it refuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b'{"code": "999", "message": "\xe6\x9c\x8d\xe5\x8a\xa1\xe7\xab\xaf\xe9\x80\xbb\xe8\xbe\x91\xe5\xbc\x82\xe5\xb8\xb8"}',
         "999", "服务端逻辑异常"),
        (b'{"code": 310036, "message": "illegal token"}', "310036", "illegal token"),
        (b'{"code": "1002", "message": "", "data": null}', "1002", None),
    ],
    ids=["string code", "number code", "no message"],
)
def test_a_reply_that_is_not_200_is_a_decode_error_with_the_erps_code_and_message(data, code, message):
    error = decode_error(data)
    assert isinstance(error, YonyouReplyError)
    assert (error.erp_code, error.erp_message) == (code, message)
    assert str(error).startswith(f"in.json: $: YonBIP answered code {code}")
    with pytest.raises(YonyouReplyError):
        CODEC.identify(data)


@pytest.mark.parametrize("code", [200, "200"], ids=["number", "string"])
def test_code_200_as_number_or_string_is_success(code: object):
    assert CODEC.decode(reply(order(), code=code))[0].document_id == "SCDD1"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "in.json: not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ('{"code": "200", "data": {"code": "订单"}}'.encode("gbk"), "in.json: not UTF-8: byte 0xB6 at offset 34"),
        (b'{"code": "SCDD1", "code": "SCDD2", "orderProduct": []}', '$.code: the key appears twice'),
        (b'{"code": "SCDD1", "quantity": NaN, "orderProduct": []}', "NaN is not a JSON number"),
        (b'{"code": "200", "message": "ok"}', "$: the reply (code 200) carries no data"),
        (reply({"pageIndex": 1, "recordList": []}), "$.data: the reply holds no document (an empty list)"),
        (reply({"id": 1, "orgName": "苏州"}), "$.data: cannot tell what this is: expected a production order"),
        (reply(order(code=" ")), "$.data.code: a productionorder needs its code (a line of text), got ' '"),
        (reply(order(code="A\nB")), "$.data.code: a productionorder needs its code"),
        (reply(order(orderProduct=[])), "$.data.orderProduct: a production order needs its product lines"),
        (reply(order(pubts="2024-13-01 00:00:00")), "$.data.pubts: '2024-13-01 00:00:00' is not a valid date"),
        (reply(order(pubts=1620614915)), "$.data.pubts: '1620614915' is not a YonBIP time"),
        (reply([order(), "text"]), "$.data[1]: expected a production order"),
    ],
    ids=["not json", "gbk", "duplicate key", "NaN", "no data", "empty list", "unknown shape", "blank code",
         "line break in code", "no lines", "bad pubts", "epoch seconds", "not an object"],
)
def test_hostile_or_broken_input_is_a_decode_error_naming_the_place(data: bytes, expected: str):
    message = str(decode_error(data))
    assert expected in message
    assert "\n" not in message


def test_the_unknown_shape_error_names_the_types_it_could_be():
    message = str(decode_error(reply({"id": 1, "orgName": "苏州"})))
    for kind in ("production order", "product", "batch number", "document_type"):
        assert kind in message


def test_a_document_larger_than_the_limit_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setenv("BRIDGE_MAX_DOCUMENT_BYTES", "100")
    message = str(decode_error(DETAIL.read_bytes()))
    assert "larger than the limit of 100 bytes" in message


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"no_such_option": 1}, "no_such_option"),
        ({"encoding": "gbk"}, "encoding"),
        ({"document_type": "finishedreport"}, "document_type"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"instance": ""}, "instance"),
    ],
)
def test_a_wrong_option_is_a_config_error_naming_it(options: dict, named: str):
    with pytest.raises(ConfigError, match=named):
        CODEC.check_options(**options)
    with pytest.raises(ConfigError, match=named):
        CODEC.decode(DETAIL.read_bytes(), **options)


def test_the_instance_option_names_the_tenant():
    identity = CODEC.identify(DETAIL.read_bytes(), instance="tenant-sz")
    assert identity.instance == "tenant-sz"
    assert CODEC.decode(DETAIL.read_bytes(), instance="tenant-sz")[0].instance == "tenant-sz"


# -- its time and number transforms -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-16 08:00:00", "2024-01-16T08:00:00+08:00"),
        ("2024-01-16", "2024-01-16T00:00:00+08:00"),
        ("2021-02-23 23:59:59.999", "2021-02-23T23:59:59.999000+08:00"),
        (1620576000000, "2021-05-10T00:00:00+08:00"),
        ("1618811946000", "2021-04-19T13:59:06+08:00"),
        (Decimal("1620576000000"), "2021-05-10T00:00:00+08:00"),
        ("", None),
        (None, None),
    ],
)
def test_yonyou_datetime_reads_wall_clock_text_in_the_zone_and_epoch_ms_as_instants(value, expected):
    assert yonyou_datetime(value, tz="Asia/Shanghai") == expected


@pytest.mark.parametrize(
    "value", ["20240116", "2024/01/16", "2024-01-16 8:00", "１７０５７４１２０５０００", True, 1.5, Decimal("1E+999999")]
)
def test_yonyou_datetime_refuses_what_it_would_have_to_guess(value):
    with pytest.raises(TransformError):
        yonyou_datetime(value, tz="Asia/Shanghai")


def test_yonyou_date_is_the_plants_day_of_an_epoch_instant():
    assert yonyou_date(1705248000000, tz="Asia/Shanghai") == "2024-01-15"  # 2024-01-14T16:00Z
    assert yonyou_date('"2029-01-19 00:00:00"', tz="Asia/Shanghai") == "2029-01-19"


def test_yonyou_format_datetime_writes_the_zones_wall_clock():
    assert yonyou_format_datetime("2024-01-16T09:30:00Z", tz="Asia/Shanghai") == "2024-01-16 17:30:00"
    assert yonyou_format_datetime("2024-01-16", tz="Asia/Shanghai") == "2024-01-16 00:00:00"


def test_yonyou_add_is_exact():
    assert yonyou_add("95", "0.5") == "95.5"
    assert yonyou_add("0.1", Decimal("0.2")) == "0.3"
    assert yonyou_add("1" + "0" * 30, "0." + "0" * 20 + "1") == "1" + "0" * 30 + "." + "0" * 20 + "1"
    with pytest.raises(TransformError, match="more than 60 significant digits"):
        yonyou_add("1" + "0" * 59, "0." + "0" * 38 + "1")  # the sum would need rounding: refused
    assert yonyou_add("12.25", None) == "12.25"
    assert yonyou_add(None, None) is None
