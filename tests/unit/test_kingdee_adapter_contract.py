"""The Kingdee adapter keeps the adapter contract; its transforms and its exact-number JSON format."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.kingdee.adapter import adapter
from adapters.kingdee.formats import KingdeeNumber, dumps, render_kingdee_json
from adapters.kingdee.transforms import (
    kingdee_bill_no,
    kingdee_datetime,
    kingdee_entry_seq,
    kingdee_number,
    kingdee_sum,
)
from bridge.errors import ValidationError
from bridge.formats import serialiser_for
from bridge.mapping import MappingCatalog
from bridge.mapping.scalars import TransformError
from bridge.mapping.transforms import TRANSFORMS as BUILT_IN
from bridge.mapping.transforms import get_transform
from tests.contract import AdapterContract

from ..conftest import MAPPINGS

CASES = MAPPINGS / "kingdee" / "cases"
# the case inputs that are K/3 Cloud documents: not the canonical reports of the reverse
# mappings, not the refused View reply (a decode error by design)
SAMPLES = tuple(p for p in sorted(CASES.glob("*.json")) if not p.name.startswith("report_") and ".refused." not in p.name)


class TestKingdeeAdapterContract(AdapterContract):
    adapter = adapter
    samples = SAMPLES


def test_the_samples_cover_the_three_forms_as_whole_replies_and_as_bills_alone():
    codec = adapter.codec()
    forms = {d.document_type for s in SAMPLES for d in codec.decode(s.read_bytes())}
    assert forms == {"PRD_MO", "BD_MATERIAL", "BD_BatchMainFile"}
    whole = [s for s in SAMPLES if json.loads(s.read_bytes()).get("Result")]
    assert whole
    assert len(whole) < len(SAMPLES)


def test_its_transforms_are_prefixed_and_shadow_no_built_in_one():
    assert adapter.transforms
    for name in adapter.transforms:
        assert name.startswith("kingdee_")
        assert name not in BUILT_IN
        assert get_transform(name) is adapter.transforms[name]


# -- transforms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_id", "bill", "seq"),
    [
        pytest.param("MO25017346-1", "MO25017346", 1, id="plain"),
        pytest.param("MID-225123101-12", "MID-225123101", 12, id="bill number with a hyphen"),
        pytest.param(" MO25017346-2 ", "MO25017346", 2, id="blanks around"),
    ],
)
def test_an_order_id_splits_at_its_last_hyphen_into_bill_and_row(order_id: str, bill: str, seq: int):
    assert kingdee_bill_no(order_id) == bill
    assert kingdee_entry_seq(order_id) == seq


@pytest.mark.parametrize("order_id", ["1895938", "MO25017346-", "MO25017346-A", "-1"])
def test_an_order_id_of_another_form_is_refused(order_id: str):
    with pytest.raises(TransformError, match="expected <FBillNo>-<FSeq>"):
        kingdee_bill_no(order_id)
    with pytest.raises(TransformError):
        kingdee_entry_seq(order_id)


def test_absent_values_stay_absent():
    assert kingdee_bill_no(None) is None
    assert kingdee_entry_seq("") is None
    assert kingdee_number(None) is None
    assert kingdee_sum(None, None) is None
    assert kingdee_datetime(None) is None


def test_numbers_are_exact_and_marked_for_the_kingdee_json_format():
    assert kingdee_number("9551.000") == "9551"
    assert isinstance(kingdee_number(Decimal("0.1")), KingdeeNumber)
    assert kingdee_sum("0.1", "0.2") == "0.3"
    assert kingdee_sum("9551", None) == "9551"
    assert kingdee_sum("1E+2", "-0.5") == "99.5"
    with pytest.raises(TransformError, match="not a number"):
        kingdee_number("12,5")


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        pytest.param("2025-03-06", "Asia/Shanghai", "2025-03-06 00:00:00", id="a date"),
        pytest.param("2025-03-06T00:45:10Z", "Asia/Shanghai", "2025-03-06 08:45:10", id="UTC to local"),
        pytest.param("2025-03-06T16:30:00.250+08:00", "Asia/Shanghai", "2025-03-06 16:30:00", id="fraction dropped"),
        pytest.param("2025-03-06T16:30:00", "Asia/Shanghai", "2025-03-06 16:30:00", id="already local"),
    ],
)
def test_times_become_k3_cloud_local_text(value: str, tz: str, expected: str):
    assert kingdee_datetime(value, tz=tz) == expected


# -- the kingdee-json format -----------------------------------------------------------------


def test_kingdee_json_writes_marked_decimals_as_exact_json_numbers():
    model = {"FDate": "2025-03-06 00:00:00", "FEntity": [
        {"FMoBillNo": "MO25030118", "FMoEntrySeq": 1, "FQuaQty": KingdeeNumber("0.1"),
         "FFinishQty": kingdee_sum("0.1", "0.2"), "FCostRate": Decimal("100.0"), "FIsNew": False,
         "FLot": {"FNumber": "批号-01"}, "FStockId": None}]}
    text = render_kingdee_json("PRD_MORPT", model).decode("utf-8")
    assert text == (
        '{"FDate":"2025-03-06 00:00:00","FEntity":[{"FMoBillNo":"MO25030118","FMoEntrySeq":1,"FQuaQty":0.1,'
        '"FFinishQty":0.3,"FCostRate":100,"FIsNew":false,"FLot":{"FNumber":"批号-01"},"FStockId":null}]}'
    )
    assert json.loads(text, parse_float=Decimal)["FEntity"][0]["FFinishQty"] == Decimal("0.3")
    assert serialiser_for("kingdee-json") is render_kingdee_json
    # any other JSON writer keeps the marked value as its text
    assert json.dumps({"FQuaQty": KingdeeNumber("0.1")}) == '{"FQuaQty": "0.1"}'


@pytest.mark.parametrize(
    ("value", "named"),
    [
        pytest.param({"FQty": KingdeeNumber("1,5")}, "$.FQty: '1,5' is not a number", id="marked text no number"),
        pytest.param({"FQty": float("nan")}, "$.FQty: nan is not a JSON number", id="NaN"),
        pytest.param({"FEntity": [{"FQty": object()}]}, "$.FEntity[0].FQty: a value of type object is not a JSON value", id="object"),
        pytest.param({"FEntity": {1: "x"}}, "$.FEntity: the key 1 is not text", id="key"),
    ],
)
def test_kingdee_json_refuses_what_json_cannot_carry_naming_the_path(value: dict, named: str):
    with pytest.raises(ValidationError, match=named.replace("[", r"\[").replace("]", r"\]").replace("$", r"\$")):
        dumps(value)


def test_the_reverse_mappings_render_through_the_kingdee_json_format_with_numbers():
    catalog = MappingCatalog.load(MAPPINGS / "kingdee")
    envelope = json.loads((CASES / "report_MO25030118-1_with_lots.json").read_text(encoding="utf-8"))
    rendered = render_kingdee_json("PRD_PickMtrl", catalog.get("kingdee.report.prd_pickmtrl").render(envelope))
    assert b'"FAppQty":0.1,"FActualQty":0.1,' in rendered
    assert b'"FMoBillNo":"MO25030118","FMoEntrySeq":1,' in rendered
