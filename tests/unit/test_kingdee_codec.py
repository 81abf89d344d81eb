"""The Kingdee codec: K/3 Cloud View replies, whole or as the bill alone, read from strict JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.kingdee.codec import KingdeeCodec
from adapters.kingdee.formats import dumps
from bridge.errors import ConfigError, DecodeError

from ..conftest import MAPPINGS

CASES = MAPPINGS / "kingdee" / "cases"
CODEC = KingdeeCodec()
REPLY = (CASES / "PRD_MO_MO25030118.View.json").read_bytes()


def inner_bill(reply: bytes) -> bytes:
    """``Result.Result`` of a reply, as a client that saved only the bill would have written it."""
    return dumps(json.loads(reply, parse_float=Decimal)["Result"]["Result"]).encode("utf-8")


def decode_error(data: bytes, **options: object) -> str:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(data, origin="in.json", **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_whole_view_reply_is_one_document_named_by_its_bill_number():
    [document] = CODEC.decode(REPLY, origin="mo.json")
    assert document.system == "kingdee"
    assert document.document_type == "PRD_MO"
    assert document.document_id == "MO25030118"
    assert document.id_label == "BillNo"
    assert document.label == "mo.json BillNo MO25030118"
    assert document.version == "20250301091527483000"  # ModifyDate 2025-03-01T09:15:27.483
    assert document.created == ("2025-03-01T09:15:27.483",)
    assert document.created_read_by == "iso_datetime"
    assert document.created_path == "ModifyDate"
    assert document.instance is None
    assert document.tree["BillNo"] == "MO25030118"  # the tree is the bill, Result.Result
    assert [row["Seq"] for row in document.tree["TreeEntity"]] == [1, 2]


def test_the_bill_alone_decodes_to_the_same_document():
    [whole] = CODEC.decode(REPLY, origin="mo.json")
    [alone] = CODEC.decode(inner_bill(REPLY), origin="mo.json")
    assert (alone.document_type, alone.document_id, alone.version, alone.created) == (
        whole.document_type, whole.document_id, whole.version, whole.created)
    assert alone.tree["TreeEntity"][1]["MaterialId"]["Number"] == "05.09.02.01"


def test_the_real_shape_keeps_nested_references_and_chinese_texts():
    [document] = CODEC.decode(REPLY)
    bill = document.tree
    assert bill["PrdOrgId"]["Number"] == "102"
    assert bill["PrdOrgId"]["Name"] == [{"Key": 2052, "Value": "宁波海韵体育用品有限公司"}]
    row = bill["TreeEntity"][0]
    assert row["MaterialId"]["Name"][0]["Value"] == "成人硅胶泳镜"
    assert row["WorkShopID"]["Number"] == "03"
    assert row["Lot_Text"] == " "  # K/3 Cloud's empty text: the mappings strip it


def test_floats_stay_exact_decimals_and_whole_numbers_stay_integers():
    [document] = CODEC.decode(REPLY)
    first, second = document.tree["TreeEntity"]
    assert isinstance(first["Qty"], Decimal)
    assert str(first["Qty"]) == "9551.0"
    assert str(second["Qty"]) == "0.1"  # not 0.1000000000000000055511151231257827
    assert first["Seq"] == 1
    assert isinstance(first["Seq"], int)


@pytest.mark.parametrize(
    ("sample", "form", "number"),
    [
        pytest.param("PRD_MO_MO25030207.Result.json", "PRD_MO", "MO25030207", id="order without FFormId"),
        pytest.param("BD_MATERIAL_05.02.11.03.View.json", "BD_MATERIAL", "05.02.11.03", id="material reply"),
        pytest.param("BD_MATERIAL_05.09.02.01.forbidden.json", "BD_MATERIAL", "05.09.02.01", id="material alone"),
        pytest.param("BD_BatchMainFile_HY250302S-02.View.json", "BD_BatchMainFile", "HY250302S-02", id="lot reply"),
        pytest.param("BD_BatchMainFile_HY250215S-01.forbidden.json", "BD_BatchMainFile", "HY250215S-01", id="lot alone"),
    ],
)
def test_a_bill_without_fformid_is_recognised_by_its_shape(sample: str, form: str, number: str):
    data = (CASES / sample).read_bytes()
    [document] = CODEC.decode(data, origin=sample)
    assert (document.document_type, document.document_id) == (form, number)
    assert document.id_label == ("BillNo" if form == "PRD_MO" else "Number")
    assert CODEC.identify(data).document_types == (form,)


def test_identify_names_the_forms_and_the_first_number_without_mapping():
    identity = CODEC.identify(REPLY)
    assert identity.document_types == ("PRD_MO",)
    assert identity.document_id == "MO25030118"
    assert CODEC.identify(inner_bill(REPLY)).document_id == "MO25030118"


def test_a_list_of_bills_is_one_document_per_bill():
    material = (CASES / "BD_MATERIAL_05.09.02.01.forbidden.json").read_bytes()
    data = b"[" + REPLY + b"," + material + b"]"
    documents = CODEC.decode(data)
    assert [(d.document_type, d.document_id) for d in documents] == [("PRD_MO", "MO25030118"), ("BD_MATERIAL", "05.09.02.01")]
    assert documents[0].fingerprint != documents[1].fingerprint
    assert CODEC.identify(data).document_types == ("PRD_MO", "BD_MATERIAL")


def test_fformid_decides_and_the_document_type_option_names_a_bill_of_no_known_shape():
    bill = b'{"FFormId": "PRD_PPBOM", "BillNo": "PPBOM2503007", "DocumentStatus": "C"}'
    assert CODEC.decode(bill)[0].document_type == "PRD_PPBOM"
    shapeless = b'{"BillNo": "MO25030118", "DocumentStatus": "C", "ModifyDate": "2025-03-01T09:15:27"}'
    assert CODEC.decode(shapeless, document_type="PRD_MO")[0].document_type == "PRD_MO"
    assert "is a PRD_MO, not the BD_MATERIAL" in decode_error(REPLY, document_type="BD_MATERIAL")
    material = (CASES / "BD_MATERIAL_05.09.02.01.forbidden.json").read_bytes()  # no FFormId
    assert "$: the bill is shaped like a BD_MATERIAL (MaterialBase or MaterialStock, and Number), not the PRD_MO" in (
        decode_error(material, document_type="PRD_MO"))
    assert CODEC.decode(material, document_type="BD_MATERIAL")[0].document_type == "BD_MATERIAL"


def test_a_bill_of_no_shape_is_refused_naming_the_forms_it_could_be():
    message = decode_error(b'{"Number": "X1", "DocumentStatus": "C"}')
    assert message.startswith("in.json: $: which form this bill is cannot be told")
    for form in ("PRD_MO (TreeEntity and BillNo)", "BD_MATERIAL", "BD_BatchMainFile", "document_type"):
        assert form in message


def test_a_numeric_number_is_an_id_in_text():
    [document] = CODEC.decode(b'{"FFormId": "BD_MATERIAL", "Number": 4711, "ForbidStatus": "A"}')
    assert document.document_id == "4711"
    assert document.version is None
    assert document.created == ()


def test_sniff_knows_replies_and_bills_and_nothing_else():
    assert CODEC.sniff(REPLY)
    assert CODEC.sniff(inner_bill(REPLY))
    assert CODEC.sniff(b"\xef\xbb\xbf  " + (CASES / "BD_MATERIAL_05.09.02.01.forbidden.json").read_bytes())
    assert CODEC.sniff((CASES / "PRD_MO_MO25039999.View.refused.json").read_bytes())
    assert not CODEC.sniff((CASES / "report_sap_order_id.json").read_bytes())  # a canonical envelope
    assert not CODEC.sniff(b'{"report_id": "WR-1", "order": "MO25030118-1", "good": 5}')  # a MES report
    assert not CODEC.sniff(b"<?xml version='1.0'?><LOIPRO05><IDOC BEGIN='1'/></LOIPRO05>")
    assert not CODEC.sniff(b"")


# -- what K/3 Cloud refused ------------------------------------------------------------------


def test_a_reply_with_is_success_false_carries_the_erps_message():
    message = decode_error((CASES / "PRD_MO_MO25039999.View.refused.json").read_bytes())
    assert message == (
        "in.json: $.Result.ResponseStatus: K/3 Cloud answered IsSuccess false (MsgCode 10, ErrorCode 500): "
        "单据编号为“MO25039999”的生产订单不存在，或者已被删除。"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"Result": {"ResponseStatus": {"IsSuccess": "false", "MsgCode": 4, "Errors": [{"FieldName": '
                     b'"FNumber", "Message": "\\u6807\\u8bc6\\u4e0d\\u5b58\\u5728"}]}}}',
                     "IsSuccess false (MsgCode 4): FNumber: 标识不存在", id="string false, ASCII-escaped message"),
        pytest.param(b'{"ResponseStatus": {"IsSuccess": false, "MsgCode": 1, "Errors": [{"Message": "lost"}]}}',
                     "$.ResponseStatus: K/3 Cloud answered IsSuccess false (MsgCode 1): lost", id="status at the top"),
        pytest.param(b'[[{"Result": {"ResponseStatus": {"IsSuccess": false, "MsgCode": 8, "Errors": '
                     b'[{"Message": "FieldKeys empty"}]}}}]]',
                     "$[0][0].Result.ResponseStatus: K/3 Cloud answered IsSuccess false (MsgCode 8): FieldKeys empty",
                     id="ExecuteBillQuery error in a 2-D array"),
        pytest.param(b'{"Result": {"ResponseStatus": {"Errors": [{"Message": "no IsSuccess"}]}}}',
                     "IsSuccess false: no IsSuccess", id="errors without IsSuccess"),
        pytest.param(b'{"Result": {"ResponseStatus": {"IsSuccess": true}, "Result": null}}',
                     "$.Result.Result: the reply succeeded but holds no bill (got null)", id="success without a bill"),
        pytest.param(b'[["MO25030118", "05.02.11.03", 9551.0]]', "$[0]: a list of rows (an ExecuteBillQuery answer)",
                     id="query rows"),
        pytest.param(b"[]", "$: an empty list holds no bill", id="empty list"),
        pytest.param(b'"MO25030118"', "expected a K/3 Cloud View reply or bill object, got a string", id="a string"),
    ],
)
def test_refusals_and_non_bills_are_decode_errors_with_the_path(body: bytes, expected: str):
    assert expected in decode_error(body)


# -- hostile input ---------------------------------------------------------------------------


def test_hostile_input_is_refused_with_a_line_naming_what_is_wrong():
    assert "in.json: not JSON: Expecting value at line 1 column 1" in decode_error(b"<html>502 Bad Gateway</html>")
    gbk = '{"FFormId": "PRD_MO", "BillNo": "生产"}'.encode("gbk")
    wrong = decode_error(gbk)
    assert "not UTF-8: byte 0xC9 at offset 33" in wrong
    assert "K/3 Cloud reply must be UTF-8" in wrong
    assert "MES" not in wrong
    assert "appears twice" in decode_error(b'{"FFormId": "PRD_MO", "BillNo": "A", "BillNo": "B"}')
    assert "$.BillNo" in decode_error(b'{"FFormId": "PRD_MO", "BillNo": "A", "BillNo": "B"}')
    assert "NaN is not a JSON number" in decode_error(b'{"FFormId": "PRD_MO", "BillNo": "A", "Qty": NaN}')
    assert "$.BillNo: a BillNo must be a line of text" in decode_error(b'{"FFormId": "PRD_MO", "BillNo": "A\\nB"}')


def test_a_document_above_the_size_limit_is_refused_before_it_is_parsed():
    assert f"document is {len(REPLY)} bytes, larger than the limit of 1024 bytes" in decode_error(REPLY, max_bytes=1024)
    assert CODEC.decode(REPLY, max_bytes=len(REPLY))


def test_an_unreadable_modify_date_names_the_bill_and_the_path():
    message = decode_error(b'{"FFormId": "PRD_MO", "BillNo": "MO1", "TreeEntity": [], "ModifyDate": "01/03/2025"}')
    assert message.startswith("in.json: document MO1: $.ModifyDate: '01/03/2025' is not an ISO 8601 date-time")


def test_a_missing_modify_date_falls_back_to_the_creation_date():
    [document] = CODEC.decode(b'{"FFormId": "PRD_MO", "BillNo": "MO1", "CreateDate": "2025-02-28T16:40:03.917"}')
    assert (document.version, document.created_path) == ("20250228164003917000", "CreateDate")


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param({"idoc_type": "LOIPRO05"}, "unknown Kingdee codec option(s): idoc_type", id="unknown"),
        pytest.param({"max_bytes": 0}, "max_bytes must be a positive number of bytes", id="max_bytes zero"),
        pytest.param({"max_bytes": True}, "max_bytes", id="max_bytes boolean"),
        pytest.param({"document_type": "PRD MO"}, "document_type must be a K/3 Cloud form id", id="document_type"),
    ],
)
def test_wrong_options_are_refused_before_any_document(options: dict, named: str):
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        CODEC.check_options(**options)
    with pytest.raises(ConfigError):
        CODEC.decode(b"not even JSON", **options)


def test_the_known_options_are_accepted():
    CODEC.check_options(max_bytes=1 << 20, document_type="BD_BatchMainFile")
    CODEC.check_options()
