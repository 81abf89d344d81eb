"""How a canonical report, a reversal and a lot decision become SAP BAPI calls."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.bapi_check import check_call
from adapters.sap.lot_calls import plan_lot
from adapters.sap.report_calls import ident, plan_report, plan_reversal
from adapters.sap.target import SapTargetSettings
from bridge.adapter.sink import Acknowledgement, DeliveryContext, DocumentRef
from bridge.errors import PermanentError
from bridge.mapping.catalog import MappingCatalog

ROOT = Path(__file__).resolve().parents[2]
REPORT = json.loads((ROOT / "mappings/sap/cases/report_final_with_movements.json").read_text())


@pytest.fixture(scope="module")
def mapping() -> Any:
    return MappingCatalog.load(ROOT / "mappings").get("sap.report.prodordconf")


def settings(**values: Any) -> SapTargetSettings:
    return SapTargetSettings(url="https://sap.example:44300", **values)


def context(acks: dict[str, Acknowledgement] | None = None, order: dict[str, Any] | None = None) -> DeliveryContext:
    return DeliveryContext((acks or {}).get, lambda _order_id: order)


def test_a_report_is_a_confirmation_a_receipt_and_an_issue_each_marked(mapping: Any) -> None:
    calls = plan_report(REPORT, mapping.render(REPORT), settings(), context())
    assert [(c.key, c.request["bapi"]) for c in calls] == [
        ("RPT-2023-000123/confirmation", "BAPI_PRODORDCONF_CREATE_TT"),
        ("RPT-2023-000123/receipt", "BAPI_GOODSMVT_CREATE"),
        ("RPT-2023-000123/issue", "BAPI_GOODSMVT_CREATE"),
    ]
    confirmation, receipt, issue = (c.request["params"] for c in calls)
    ticket = confirmation["TIMETICKETS"][0]
    assert ticket["EX_IDENT"] == "RPT-2023-000123" == calls[0].ident
    assert ticket["ORDERID"] == "000208277436"
    assert confirmation["LINK_CONF_GOODSMOV"] == [{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 0}]  # no backflush
    assert "GOODSMOVEMENTS" not in confirmation
    assert receipt["GOODSMVT_CODE"] == {"GM_CODE": "02"}
    assert receipt["GOODSMVT_HEADER"]["HEADER_TXT"] == "RPT-2023-000123/R"
    assert [(r["MOVE_TYPE"], r["BATCH"]) for r in receipt["GOODSMVT_ITEM"]] == [("101", "1001003071")]
    assert issue["GOODSMVT_CODE"] == {"GM_CODE": "03"}
    assert [r["MATERIAL"] for r in issue["GOODSMVT_ITEM"]] == ["R1CH01007", "R1MF00012"]
    assert {r["PSTNG_DATE"] for r in (receipt["GOODSMVT_HEADER"], issue["GOODSMVT_HEADER"])} == {"2023-12-12"}
    for call in calls:
        assert check_call(call.request["bapi"], call.request["params"]) == []


def test_in_confirmation_mode_the_movements_travel_in_the_confirmation(mapping: Any) -> None:
    calls = plan_report(REPORT, mapping.render(REPORT), settings(goods_movements="confirmation"), context())
    assert len(calls) == 1
    params = calls[0].request["params"]
    assert [r["MOVE_TYPE"] for r in params["GOODSMOVEMENTS"]] == ["101", "261", "261"]
    assert [link["INDEX_GOODSMOV"] for link in params["LINK_CONF_GOODSMOV"]] == [1, 2, 3]
    assert calls[0].request["lookup"]["with_movements"] is True


def test_standard_backflush_sends_no_suppressing_link(mapping: Any) -> None:
    calls = plan_report(REPORT, mapping.render(REPORT), settings(backflush="standard"), context())
    assert "LINK_CONF_GOODSMOV" not in calls[0].request["params"]


def test_the_plant_and_storage_location_come_from_the_order_when_the_report_has_none(mapping: Any) -> None:
    report = copy.deepcopy(REPORT)
    for item in report["payload"]["consumed"] + report["payload"]["produced"]:
        item.pop("site", None)
        item.pop("storage_location", None)
    order = {"site": "1000", "components": {"R1MF00012": {"site": "1000", "storage_location": "0002"}}}
    calls = plan_report(report, mapping.render(report), settings(receipt_storage_location="0100"), context(order=order))
    receipt, issue = calls[1].request["params"], calls[2].request["params"]
    assert receipt["GOODSMVT_ITEM"][0]["PLANT"] == "1000"
    assert receipt["GOODSMVT_ITEM"][0]["STGE_LOC"] == "0100"
    assert [(r["PLANT"], r.get("STGE_LOC")) for r in issue["GOODSMVT_ITEM"]] == [("1000", None), ("1000", "0002")]


def test_a_movement_without_any_plant_is_refused_naming_the_material(mapping: Any) -> None:
    report = copy.deepcopy(REPORT)
    for item in report["payload"]["consumed"] + report["payload"]["produced"]:
        item.pop("site", None)
    with pytest.raises(PermanentError, match="no plant for the movement of 9990007"):
        plan_report(report, mapping.render(report), settings(), context())


def test_a_long_report_id_becomes_a_digest_that_fits_and_stays_the_same() -> None:
    long_id = "MES-LINE-7/2026-12-03/shift-2/report-000000123456"
    assert ident(long_id, 32) == ident(long_id, 32)
    assert len(ident(long_id, 32)) == 32
    assert ident(long_id, 32).startswith("MES")
    assert len(ident(long_id, 25, "/R")) == 25
    assert ident(long_id, 25, "/R").endswith("/R")
    assert ident(long_id, 25, "/R") != ident(long_id, 25, "/I")
    assert ident("报工-1", 32).startswith("MES")  # not plain ASCII: a digest


def reversal(of: str = "RPT-2023-000123") -> dict[str, Any]:
    return {
        **REPORT,
        "message_id": "mes:LINE1:RPT-9:report",
        "event": "reversed",
        "payload": {**REPORT["payload"], "report_id": "RPT-9", "reversal_of": of},
    }


def test_a_reversal_cancels_the_movements_then_the_confirmation() -> None:
    acks = {
        "RPT-2023-000123/confirmation": Acknowledgement((DocumentRef("confirmation", "0000001114", counter="00000001"),)),
        "RPT-2023-000123/receipt": Acknowledgement((DocumentRef("material_document", "4900000001", year="2023"),)),
        "RPT-2023-000123/issue": Acknowledgement((DocumentRef("material_document", "4900000002", year="2023"),)),
    }
    calls = plan_reversal(reversal(), settings(), context(acks))
    assert [c.key for c in calls] == [
        "RPT-2023-000123/cancel-issue-4900000002",
        "RPT-2023-000123/cancel-receipt-4900000001",
        "RPT-2023-000123/cancel-confirmation",
    ]
    assert calls[-1].request["params"]["CONFIRMATIONCOUNTER"] == "00000001"
    assert calls[0].request["params"] == {
        "MATERIALDOCUMENT": "4900000002", "MATDOCUMENTYEAR": "2023", "GOODSMVT_PSTNG_DATE": "2023-12-12",
    }
    for call in calls:
        assert check_call(call.request["bapi"], call.request["params"]) == []


def test_reversing_a_report_never_posted_is_refused_naming_it() -> None:
    with pytest.raises(PermanentError, match="reverses RPT-X, which this bridge never posted"):
        plan_reversal(reversal("RPT-X"), settings(), context())


def lot_event(status: str, **payload: Any) -> dict[str, Any]:
    return {
        "entity": "lot", "event": "status_changed", "message_id": "mes:L:lot-1", "version": "7",
        "occurred_at": "2026-12-03T10:00:00+08:00",
        "payload": {"lot_id": "B-4711", "material_id": "4711", "site": "1000", "status": status, **payload},
    }


def test_a_blocked_lot_is_a_transfer_posting_with_its_quantity() -> None:
    routes = settings(lot_status={"blocked": {"mechanism": "transfer", "move_type": "344"}})
    [call] = plan_lot(lot_event("blocked", quantity={"value": "12.5", "unit": "KG"}), routes)
    params = call.request["params"]
    assert params["GOODSMVT_CODE"] == {"GM_CODE": "04"}
    assert params["GOODSMVT_ITEM"][0] == {
        "MATERIAL": "000000000000004711", "PLANT": "1000", "BATCH": "B-4711", "MOVE_TYPE": "344",
        "ENTRY_QNT": "12.5", "ENTRY_UOM": "KG",
    }
    with pytest.raises(PermanentError, match="needs the lot's quantity"):
        plan_lot(lot_event("blocked"), routes)


def test_a_restricted_lot_sets_the_batch_status_and_an_unknown_status_is_refused() -> None:
    [call] = plan_lot(lot_event("restricted"), settings())
    assert call.request["bapi"] == "BAPI_BATCH_CHANGE"
    assert call.request["params"]["BATCHATTRIBUTES"] == {"RESTRICTED": "X"}
    with pytest.raises(PermanentError, match="status 'scrapped' has no SAP mechanism configured"):
        plan_lot(lot_event("scrapped"), settings())
    assert plan_lot({**lot_event("x"), "event": "created"}, settings()) == []
