"""The simulator's business APIs: production orders listed one row per line and found again by
pubts after a change, the list conditions, writes that move the orders' quantities, refusals
that name the field, resubmitCheckKey, the contradicting counts of the official sample, lots."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from adapters.yonyou.results import write_result
from adapters.yonyou.signing import token_params
from adapters.yonyou.simulator import YonyouSimulator

KEY, SECRET = "9d8c7b6a5f4e3d2c1b0a99887766554f", "apis-secret-2b6e"
FR, MO, SP = "/yonbip/mfg/finishedreport", "/yonbip/scm/materialout", "/yonbip/scm/storeprorecord"
PO = "/yonbip/mfg/productionorder"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Api:
    """Plain HTTP calls to the simulator's gateway with one token."""

    def __init__(self, sim: YonyouSimulator) -> None:
        reply = httpx.get(f"{sim.url}/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken",
                          params=token_params(KEY, SECRET, int(time.time() * 1000))).json()
        self.base, self.token = f"{sim.url}/iuap-api-gateway", reply["data"]["access_token"]

    def post(self, path: str, body: Any) -> dict[str, Any]:
        return httpx.post(self.base + path, params={"access_token": self.token}, json=body).json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return httpx.get(self.base + path, params={"access_token": self.token, **params}).json()  # type: ignore[no-any-return]

    def rows(self, path: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        reply = self.post(path, {"pageIndex": 1, "pageSize": 100, **(body or {})})
        assert str(reply["code"]) == "200", reply
        return reply["data"]["recordList"]  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Any:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, clock=clock) as simulator:
        simulator.seed_material({"code": "GEAR-10", "name": "齿轮箱", "unitName": "台"})
        simulator.seed_material({"code": "SHAFT-20", "name": "传动轴", "unitName": "根", "isBatchManage": True})
        simulator.seed_material({"code": "OIL-30", "name": "润滑油", "unitName": "升", "isBatchManage": True,
                                 "isExpiryDateManage": True})
        simulator.seed_batch({"product": "SHAFT-20", "batchno": "SH-01"})
        simulator.seed_batch({"product": "SHAFT-20", "batchno": "SH-02", "stopstatus": True})
        simulator.seed_order({"code": "MO-A", "vouchdate": "2026-11-30", "orderProduct": [
            {"materialCode": "GEAR-10", "quantity": 50, "orderMaterial": [{"materialCode": "SHAFT-20", "recipientQuantity": 50}]}]})
        simulator.seed_order({"code": "MO-B", "vouchdate": "2026-12-01", "orderProduct": [
            {"materialCode": "GEAR-10", "quantity": 10, "startDate": "2026-12-02"},
            {"materialCode": "SHAFT-20", "quantity": 30, "startDate": "2026-12-03"}]})
        simulator.seed_order({"code": "MO-DRAFT", "status": 0, "orderProduct": [{"materialCode": "GEAR-10", "quantity": 5}]})
        yield simulator


@pytest.fixture
def api(sim: YonyouSimulator) -> Api:
    return Api(sim)


def order(sim: YonyouSimulator, code: str) -> dict[str, Any]:
    return next(o for o in sim.documents("productionorder") if o["code"] == code)


def report(line_ref: dict[str, Any], quantity: Any = 6, key: str = "", **fields: Any) -> dict[str, Any]:
    line = {"materialCode": "GEAR-10", "quantity": quantity, "qualifiedQuantity": quantity, **line_ref}
    return {"data": {"resubmitCheckKey": key, "orgCode": "P1", "transTypeCode": "WGBG01", "productionDepartmentCode": "D1",
                     "finishedReportDetail": [line], **fields}}


def test_the_list_returns_one_row_per_order_line_as_the_real_list(api: Api) -> None:
    reply = api.post(f"{PO}/list", {"pageIndex": 1, "pageSize": 2, "isShowMaterial": True})
    assert reply["code"] == "200"
    data = reply["data"]
    assert (data["recordCount"], data["pageCount"], data["pageSize"], len(data["recordList"])) == (4, 2, 2, 2)
    first = data["recordList"][0]
    assert (first["code"], first["OrderProduct_materialCode"], first["OrderProduct_quantity"]) == ("MO-A", "GEAR-10", 50)
    assert first["OrderProduct_completedQuantity"] == 0
    assert isinstance(first["orderProduct_id"], int)
    assert first["orderMaterial"][0]["materialCode"] == "SHAFT-20"
    assert len(first["pubts"]) == 19  # yyyy-MM-dd HH:mm:ss
    assert "orderMaterial" not in api.rows(f"{PO}/list")[0]
    page2 = api.post(f"{PO}/list", {"pageIndex": 2, "pageSize": 2})["data"]["recordList"]
    assert [(r["code"], r["OrderProduct_lineNo"]) for r in page2] == [("MO-B", 20), ("MO-DRAFT", 10)]


def test_filtering_by_pubts_sees_a_changed_order(sim: YonyouSimulator, api: Api, clock: Clock) -> None:
    cursor = max(r["pubts"] for r in api.rows(f"{PO}/list"))
    clock.now += 5
    changed = order(sim, "MO-A")
    sim.change_order(changed["id"], {"orderProduct": [{"lineNo": 10, "quantity": 55}]})
    since = api.rows(f"{PO}/list", {"simpleVOs": [{"field": "pubts", "op": "gt", "value1": cursor}]})
    assert [(r["code"], r["OrderProduct_quantity"]) for r in since] == [("MO-A", 55)]
    assert since[0]["pubts"] > cursor
    window = api.rows(f"{PO}/list", {"simple": {"open_pubts_begin": since[0]["pubts"], "open_pubts_end": since[0]["pubts"]}})
    assert [r["code"] for r in window] == ["MO-A"]


@pytest.mark.parametrize(("body", "codes"), [
    pytest.param({"code": "MO-B"}, ["MO-B", "MO-B"], id="top-level code"),
    pytest.param({"status": 0}, ["MO-DRAFT"], id="top-level status"),
    pytest.param({"vouchdate": "2026-12-01|2026-12-01 23:59:59"}, ["MO-B", "MO-B"], id="range text"),
    pytest.param({"simpleVOs": [{"field": "code", "op": "in", "value1": ["MO-A", "MO-DRAFT"]}]}, ["MO-A", "MO-DRAFT"], id="in"),
    pytest.param({"simpleVOs": [{"field": "code", "op": "neq", "value1": "MO-B"}]}, ["MO-A", "MO-DRAFT"], id="neq"),
    pytest.param({"simpleVOs": [{"field": "code", "op": "like", "value1": "DRA"}]}, ["MO-DRAFT"], id="like"),
    pytest.param({"simpleVOs": [{"field": "OrderProduct.materialCode", "op": "leftlike", "value1": "SHA"}]}, ["MO-B"],
                 id="line field"),
    pytest.param({"simpleVOs": [{"field": "OrderProduct_quantity", "op": "between", "value1": 10, "value2": 30}]},
                 ["MO-B", "MO-B"], id="between"),
    pytest.param({"simpleVOs": [{"field": "OrderProduct_quantity", "op": "elt", "value1": "5"}]}, ["MO-DRAFT"], id="elt"),
    pytest.param({"simpleVOs": [{"field": "status", "op": "egt", "value1": 1}]}, ["MO-A", "MO-B", "MO-B"], id="egt"),
    pytest.param({"simpleVOs": [{"field": "code", "op": "eq", "value1": "MO-A", "logicOp": "or",
                                 "conditions": [{"field": "status", "op": "eq", "value1": 0}]}]}, ["MO-A", "MO-DRAFT"],
                 id="or with conditions"),
    pytest.param({"simpleVOs": [{"field": "out_sys_id", "op": "is_null"}, {"field": "code", "op": "rightlike", "value1": "A"}]},
                 ["MO-A"], id="is_null and rightlike"),
    pytest.param({"id": [""], "transTypeId": [""], "simpleVOs": [{"field": "", "op": "", "value1": ""}]},
                 ["MO-A", "MO-B", "MO-B", "MO-DRAFT"], id="the template's empty values"),
    pytest.param({"no_such_field": "x"}, [], id="an unknown field matches nothing"),
])
def test_list_conditions(api: Api, body: dict[str, Any], codes: list[str]) -> None:
    assert [r["code"] for r in api.rows(f"{PO}/list", body)] == codes


def test_an_unknown_operator_is_refused(api: Api) -> None:
    reply = api.post(f"{PO}/list", {"simpleVOs": [{"field": "code", "op": "regex", "value1": "M"}]})
    assert reply["code"] == "999"
    assert "regex" in reply["message"]


def test_detail_audit_and_save_of_orders(sim: YonyouSimulator, api: Api) -> None:
    draft = order(sim, "MO-DRAFT")
    detail = api.get(f"{PO}/detail", id=draft["id"])
    assert detail["code"] == 200
    assert detail["data"]["orderProduct"][0]["materialName"] == "齿轮箱"
    assert api.get(f"{PO}/detail", id=1) == {"code": "1002", "message": "数据不存在"}
    audited = api.post(f"{PO}/audit", {"data": {"code": "MO-DRAFT"}})
    assert (audited["code"], audited["data"]["status"], audited["data"]["verifystate"]) == (200, 1, 2)
    assert api.post(f"{PO}/audit", {"data": {"id": draft["id"]}})["code"] == "999"
    saved = api.post(f"{PO}/save", {"data": {"orgCode": "P1", "transTypeCode": "PO-001", "vouchdate": "2026-12-04",
                                             "orderProduct": [{"materialCode": "GEAR-10", "quantity": 3}]}})
    info = saved["data"]["infos"][0]
    assert (saved["code"], info["code"], saved["data"]["sucessCount"]) == ("200", 200, 1)
    assert isinstance(info["data"]["vouchdate"], int)  # the save reply echoes epoch milliseconds
    new_id = info["data"]["id"]
    line_id = info["data"]["orderProduct"][0]["id"]
    update = {"data": {"_status": "Update", "id": new_id, "orderProduct": [{"id": line_id, "quantity": 4, "_status": "Update"},
                                                                          {"materialCode": "SHAFT-20", "quantity": 1}]}}
    assert api.post(f"{PO}/save", update)["data"]["sucessCount"] == 1
    lines = api.get(f"{PO}/detail", id=new_id)["data"]["orderProduct"]
    assert [(x["lineNo"], x["materialCode"], x["quantity"]) for x in lines] == [(10, "GEAR-10", 4), (20, "SHAFT-20", 1)]
    refused = api.post(f"{PO}/save", {"data": {"_status": "Update", "code": "MO-A", "orderProduct": []}})
    assert refused["data"]["failCount"] == 1
    assert "已审核" in refused["data"]["messages"][0]["message"]


def test_a_completion_report_adds_to_the_order_line_and_bumps_its_pubts(sim: YonyouSimulator, api: Api,
                                                                         clock: Clock) -> None:
    mo_a = order(sim, "MO-A")
    before = mo_a["pubts"]
    clock.now += 3
    reply = api.post(f"{FR}/save", report({"sourceautoid": mo_a["orderProduct"][0]["id"]}, remark="mes:R-100"))
    assert write_result(reply).outcome == "ok"
    clock.now += 3
    api.post(f"{FR}/save", report({"upcode": "MO-A"}, quantity="2.5"))  # order code + the line's material
    row = api.rows(f"{PO}/list", {"code": "MO-A"})[0]
    assert row["OrderProduct_completedQuantity"] == 8.5
    assert row["pubts"] > before
    saved = sim.documents("finishedreport")[0]["finishedReportDetail"][0]
    assert (saved["source"], saved["sourceid"], saved["upcode"]) == ("po_production_order", mo_a["id"], "MO-A")
    found = api.rows(f"{FR}/list", {"simpleVOs": [{"field": "remark", "op": "eq", "value1": "mes:R-100"}]})
    assert [r["id"] for r in found] == [sim.documents("finishedreport")[0]["id"]]


@pytest.mark.parametrize(("line", "header", "named"), [
    pytest.param({"materialCode": "NOPE-9"}, {}, "materialCode：物料[NOPE-9]不存在", id="unknown material"),
    pytest.param({"quantity": "lots"}, {}, "quantity：[lots]不是有效的数字", id="quantity not a number"),
    pytest.param({"quantity": None}, {}, "quantity不能为空", id="quantity missing"),
    pytest.param({"scrapQuantity": "x"}, {}, "scrapQuantity", id="scrap not a number"),
    pytest.param({}, {"orgCode": ""}, "orgId和orgCode不能同时为空", id="missing organisation"),
    pytest.param({"materialCode": "SHAFT-20"}, {}, "batchNo", id="batch-managed without a lot"),
    pytest.param({"sourceautoid": 1}, {}, "sourceautoid：来源单据行[1]不存在", id="unknown source line"),
    pytest.param({"upcode": "MO-DRAFT"}, {}, "MO-DRAFT]未审核", id="order not audited"),
    pytest.param({"upcode": "MO-B", "materialCode": "SHAFT-20", "batchNo": "X"}, {}, "", id="ok: the other line"),
    pytest.param({"upcode": "MO-A", "materialCode": "SHAFT-20", "batchNo": "X"}, {}, "没有该物料", id="material not on order"),
])
def test_refused_reports_name_the_field_and_write_nothing(sim: YonyouSimulator, api: Api, line: dict[str, Any],
                                                          header: dict[str, Any], named: str) -> None:
    reply = api.post(f"{FR}/save", report(line, **header))
    assert reply["code"] == 200
    if not named:
        assert reply["data"]["sucessCount"] == 1
        return
    data = reply["data"]
    assert (data["count"], data["sucessCount"], data["failCount"], data["infos"][0]["code"]) == (1, 0, 1, "999")
    assert named in data["messages"][0]["message"]
    assert sim.documents("finishedreport") == []
    assert write_result(reply).outcome == "failed"


def test_a_repeated_resubmit_check_key_creates_one_document(sim: YonyouSimulator, api: Api, clock: Clock) -> None:
    body = report({"upcode": "MO-A"}, key="3f2a" * 8)
    first, second = api.post(f"{FR}/save", body), api.post(f"{FR}/save", body)
    assert first == second
    assert len(sim.documents("finishedreport")) == 1
    assert api.rows(f"{PO}/list", {"code": "MO-A"})[0]["OrderProduct_completedQuantity"] == 6  # counted once
    clock.now += 3601  # past the hour the gateway keeps a result: the repeated-submission code, the id only
    late = api.post(f"{FR}/save", body)
    assert late == {"code": "100004", "message": "幂等接口，重复提交请求", "data": {"id": sim.documents("finishedreport")[0]["id"]}}
    assert write_result(late).ids == (str(sim.documents("finishedreport")[0]["id"]),)
    too_long = api.post(f"{FR}/save", report({"upcode": "MO-A"}, key="k" * 33))
    assert (too_long["code"], "32" in too_long["message"]) == ("999", True)
    refused = report({"materialCode": "NOPE"}, key="ab" * 16)
    assert api.post(f"{FR}/save", refused)["data"]["failCount"] == 1
    refused["data"]["finishedReportDetail"][0]["materialCode"] = "GEAR-10"  # a refusal is not remembered
    assert api.post(f"{FR}/save", refused)["data"]["sucessCount"] == 1


def test_contradict_counts_reproduces_the_official_sample(sim: YonyouSimulator, api: Api) -> None:
    sim.contradict_counts = True
    reply = api.post(f"{FR}/save", report({"upcode": "MO-A"}))
    data = reply["data"]
    assert (reply["code"], data["count"], data["sucessCount"], data["failCount"]) == (200, 1, 0, 1)
    assert data["infos"][0]["code"] == "200"
    assert data["messages"] == [{"rowNum": "1", "message": "操作成功"}]
    echoed = data["infos"][0]["data"]
    assert isinstance(echoed["pubts"], str)
    assert echoed["pubts"].isdigit()  # epoch ms as text, as in the sample
    assert isinstance(echoed["finishedReportDetail"][0]["scrapQuantity"], str)
    assert write_result(reply).outcome == "unclear"  # the client must read the document back
    assert len(sim.documents("finishedreport")) == 1


def test_the_full_save_answers_with_the_document_as_infos(api: Api) -> None:
    reply = api.post(f"{FR}/new/save", report({"upcode": "MO-A"}))
    assert (reply["code"], reply["data"]["messages"]) == ("200", {})
    assert reply["data"]["infos"]["code"].startswith("WGBG")
    assert write_result(reply).outcome == "ok"


def test_a_material_issue_adds_to_the_component_and_checks_the_lot(sim: YonyouSimulator, api: Api) -> None:
    component = order(sim, "MO-A")["orderProduct"][0]["orderMaterial"][0]

    def issue(lot: str, **line: Any) -> dict[str, Any]:
        return api.post(f"{MO}/save", {"data": {"resubmitCheckKey": "", "org": "P1", "warehouse": "WH-RAW", "memo": "mes:I-1",
                                                "out_sys_id": "mes-issue-1",
                                                "materOuts": [{"product": "SHAFT-20", "qty": 7, "batchno": lot, **line}]}})

    assert "批次号[SH-02]已停用" in issue("SH-02", sourceautoid=component["id"])["data"]["messages"][0]
    assert "批次号[SH-99]不存在" in issue("SH-99")["data"]["messages"][0]
    saved = issue("SH-01", sourceautoid=component["id"])
    assert (saved["code"], saved["data"]["sucessCount"], saved["data"]["failInfos"]) == ("200", 1, {})
    assert saved["data"]["infos"][0]["materOuts"][0]["product_cCode"] == "SHAFT-20"
    assert issue("SH-01", upcode="MO-A")["data"]["sucessCount"] == 1
    detail = api.get(f"{PO}/detail", id=order(sim, "MO-A")["id"])
    assert detail["data"]["orderProduct"][0]["orderMaterial"][0]["receivedQuantity"] == 14
    rows = api.rows(f"{MO}/list", {"simpleVOs": [{"field": "out_sys_id", "op": "eq", "value1": "mes-issue-1"}]})
    assert len(rows) == 2
    assert rows[0]["materOuts_product"] == rows[0]["product"]
    document = api.get(f"{MO}/detail", id=rows[0]["id"])
    assert (document["code"], document["data"]["memo"]) == ("200", "mes:I-1")
    audited = api.post(f"{MO}/batchaudit", {"data": [{"id": rows[0]["id"]}, {"id": 5}]})
    assert (audited["data"]["sucessCount"], audited["data"]["failCount"]) == (1, 1)


def test_a_stock_in_adds_to_the_order_line_directly_or_through_its_report(sim: YonyouSimulator, api: Api) -> None:
    mo_b = order(sim, "MO-B")
    gear_line, shaft_line = mo_b["orderProduct"]
    reported = api.post(f"{FR}/save", report({"sourceautoid": gear_line["id"]}, quantity=4))
    report_line = reported["data"]["infos"][0]["data"]["finishedReportDetail"][0]["id"]

    def stock_in(**line: Any) -> dict[str, Any]:
        return api.post(f"{SP}/save", {"data": {"org": "P1", "warehouse": "WH-FG", "storeProRecords": [{"qty": 4, **line}]}})

    assert stock_in(product="GEAR-10", sourceautoid=report_line)["data"]["sucessCount"] == 1
    assert stock_in(product="SHAFT-20", sourceautoid=shaft_line["id"], batchno="SH-NEW")["data"]["sucessCount"] == 1
    rows = {r["orderProduct_id"]: r for r in api.rows(f"{PO}/list", {"code": "MO-B"})}
    assert (rows[gear_line["id"]]["OrderProduct_incomingQuantity"], rows[shaft_line["id"]]["OrderProduct_incomingQuantity"]) == (4, 4)
    lots = api.rows("/yonbip/scm/batchno/report/list", {"product": ["SHAFT-20"], "batchno": "SH-NEW"})
    assert [(lot["batchno"], lot["stopstatus"]) for lot in lots] == [("SH-NEW", False)]  # the stock-in's new lot
    report_id = reported["data"]["infos"][0]["data"]["id"]
    api.post(f"{FR}/audit", {"data": {"id": report_id}})
    unaudit = api.post(f"{FR}/batchunaudit", {"data": [{"id": report_id}]})
    assert unaudit["data"]["failCount"] == 1
    assert "已经入库处理" in unaudit["data"]["messages"][0]


def test_lots_are_saved_listed_and_stopped_through_save(sim: YonyouSimulator, api: Api, clock: Clock) -> None:
    lots = api.rows("/yonbip/scm/batchno/report/list", {"product": ["SHAFT-20"]})
    assert [(lot["batchno"], lot["stopstatus"]) for lot in lots] == [("SH-01", False), ("SH-02", True)]
    cursor = max(lot["pubts"] for lot in lots)
    clock.now += 2
    stopped = api.post("/yonbip/scm/batchno/save", {"data": {"_status": "Update", "product": "SHAFT-20", "batchno": "SH-01",
                                                             "stopstatus": True}})
    assert (stopped["code"], stopped["data"]["sucessCount"], stopped["data"]["infos"][0]["stopstatus"]) == ("200", 1, True)
    changed = api.rows("/yonbip/scm/batchno/report/list", {"open_pubts_begin": cursor[:10] + " 00:00:00.000",
                                                            "simpleVOs": [{"field": "pubts", "op": "gt", "value1": cursor}]})
    assert [lot["batchno"] for lot in changed] == ["SH-01"]
    new = api.post("/yonbip/scm/batchno/save", {"data": {"_status": "Insert", "product": "OIL-30", "batchno": "OL-1",
                                                         "producedate": "2026-12-01", "invaliddate": "2027-12-01"}})
    assert new["data"]["infos"][0]["producedate"] == '"2026-12-01 00:00:00"'  # quoted, as the sample echoes it
    undated = api.post("/yonbip/scm/batchno/save", {"data": {"product": "OIL-30", "batchno": "OL-2"}})
    assert undated["data"]["messages"] == ["效期管理的商品生产日期/有效期不能为空"]
    plain = api.post("/yonbip/scm/batchno/save", {"data": {"product": "GEAR-10", "batchno": "G-1"}})
    assert "未启用批次管理" in plain["data"]["messages"][0]


def test_materials_are_listed_by_code_and_by_change_time(sim: YonyouSimulator, api: Api, clock: Clock) -> None:
    listed = api.post("/yonbip/digitalModel/product/listproductbycondition", {"pageIndex": 1, "pageSize": 10})
    assert (listed["code"], listed["message"], listed["data"]["recordCount"]) == ("200", "处理成功", 3)
    assert [p["code"] for p in api.rows("/yonbip/digitalModel/product/listproductbycondition", {"productCode": "OIL-30"})] == ["OIL-30"]
    cursor = max(p["pubts"] for p in listed["data"]["recordList"])
    clock.now += 5
    sim.seed_material({"code": "NEW-40", "name": "新物料"})
    later = api.rows("/yonbip/digitalModel/product/listproductbycondition",
                     {"beganTime": cursor, "simpleVOs": [{"field": "pubts", "op": "gt", "value1": cursor}]})
    assert [p["code"] for p in later] == ["NEW-40"]
    assert sim.documents("product")[-1]["isBatchManage"] is False
    with pytest.raises(ValueError, match="kind"):
        sim.documents("customers")
