"""The Kingdee simulator's writes, driven by Kingdee's official SDK (unchanged) and by plain HTTP:
Save as K/3 Cloud merges it (IsDeleteEntry, NeedUpDateFields), its refusals, the status
operations, write-back to the order on audit (undone by UnAudit), Push, Forbid / Enable, and the
write faults (a lost reply after the commit, a network-control conflict)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from adapters.kingdee.simulator import KingdeeSimulator
from bridge.simulation.faults import FaultSettings

WHO = {"acct_id": "6a01b2c3d4e5f6", "user": "mes_writer", "app_id": "300777_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u",
       "app_secret": "fedcba9876543210fedcba9876543210"}
FORMS = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."


def seed_plant(sim: KingdeeSimulator) -> tuple[int, str]:
    """Two materials (one batch-managed), a lot, and an audited order with two rows and components."""
    sim.seed_bill("BD_MATERIAL", {"FNumber": "FG-7", "FName": "阀体", "SubHeadEntity": {"FBaseUnitId": {"FNumber": "Pcs"}},
                                  "SubHeadEntity1": {"FIsBatchManage": True}})
    sim.seed_bill("BD_MATERIAL", {"FNumber": "RM-9", "FName": "垫片", "SubHeadEntity": {"FBaseUnitId": {"FNumber": "Pcs"}}})
    sim.seed_bill("BD_BatchMainFile", {"FNumber": "LOT-A", "FMaterialId": {"FNumber": "FG-7"}})
    return sim.seed_bill("PRD_MO", {"FBillNo": "MO900001", "FPrdOrgId": {"FNumber": "200"}, "FTreeEntity": [
        {"FMaterialId": {"FNumber": "FG-7"}, "FQty": 50, "FUnitId": {"FNumber": "Pcs"},
         "Components": [{"FMaterialID2": {"FNumber": "RM-9"}, "FUnitID2": {"FNumber": "Pcs"}, "FMustQty": 100}]},
        {"FMaterialId": {"FNumber": "FG-7"}, "FQty": 20, "FUnitId": {"FNumber": "Pcs"}}]})


@pytest.fixture
def sim() -> Iterator[KingdeeSimulator]:
    with KingdeeSimulator(**WHO, password="pw-w") as simulator:
        seed_plant(simulator)
        yield simulator


def sdk_for(sim: KingdeeSimulator) -> Any:
    from k3cloud_webapi_sdk.main import K3CloudApiSdk

    api = K3CloudApiSdk(sim.url)
    api.InitConfig(acct_id=WHO["acct_id"], user_name=WHO["user"], app_id=WHO["app_id"], app_secret=WHO["app_secret"],
                   server_url=sim.url, lcid=2052, org_num=0)
    return api


def call(api: Any, operation: str, form: str, data: dict[str, Any]) -> Any:
    return json.loads(getattr(api, operation)(form, data))


def report(remark: str, *entries: dict[str, Any], **header: Any) -> dict[str, Any]:
    rows = entries or ({"FMaterialId": {"FNumber": "FG-7"}, "FMoBillNo": "MO900001", "FMoEntrySeq": 1,
                        "FFinishQty": 10, "FQuaQty": 9},)
    return {"FDescription": remark, "FPrdOrgId": {"FNumber": "200"}, "FEntity": list(rows), **header}


def errors(reply: Any) -> tuple[bool, int, list[str]]:
    status = reply["Result"]["ResponseStatus"]
    return status["IsSuccess"], status["MsgCode"], [e["Message"] for e in status["Errors"]]


def test_the_official_sdk_saves_views_submits_audits_and_queries_unchanged(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    saved = call(api, "Save", "PRD_MORPT", {"Model": report("MES:R-1"), "NeedReturnFields": ["FBillNo", "FEntity.FEntryID"]})
    result = saved["Result"]
    assert result["ResponseStatus"]["IsSuccess"] is True
    fid, number = result["Id"], result["Number"]
    assert number.startswith("SCHB")
    assert result["ResponseStatus"]["SuccessEntitys"] == [{"Id": fid, "Number": number, "DIndex": 0}]
    entry_id = sim.bill("PRD_MORPT", number)["FEntity"][0]["FEntryID"]
    assert result["NeedReturnData"] == [{"FBillNo": number, "FEntity": [{"FEntryID": entry_id}]}]
    view = call(api, "View", "PRD_MORPT", {"CreateOrgId": 0, "Number": number, "Id": "", "IsSortBySeq": "false"})
    shown = view["Result"]["Result"]
    assert (shown["Id"], shown["FFormId"], shown["BillNo"], shown["DocumentStatus"]) == (fid, "PRD_MORPT", number, "A")
    assert shown["Entity"][0]["Id"] == entry_id
    assert shown["Entity"][0]["Seq"] == 1
    assert shown["Entity"][0]["MaterialId"]["Number"] == "FG-7"
    assert shown["Entity"][0]["QuaQty"] == 9.0
    assert shown["Description"] == [{"Key": 2052, "Value": "MES:R-1"}]
    assert call(api, "Submit", "PRD_MORPT", {"Numbers": [number]})["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert call(api, "Audit", "PRD_MORPT", {"Ids": str(fid)})["Result"]["ResponseStatus"]["IsSuccess"] is True
    rows = json.loads(api.ExecuteBillQuery({"FormId": "PRD_MORPT", "FieldKeys": "FID,FBillNo,FDocumentStatus",
                                            "FilterString": "FDescription like '%MES:R-1%'", "OrderString": "FID ASC"}))
    assert rows == [[fid, number, "C"]]
    again = call(api, "Audit", "PRD_MORPT", {"Ids": str(fid)})
    assert errors(again) == (False, 11, [f"单据编号为“{number}”的生产汇报单，单据已经审核！"])
    assert again["Result"]["ResponseStatus"]["ErrorCode"] == 500


def test_is_delete_entry_true_drops_the_rows_a_model_omits_and_false_keeps_them(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    two = report("MES:R-2", {"FMaterialId": {"FNumber": "FG-7"}, "FQuaQty": 1}, {"FMaterialId": {"FNumber": "FG-7"}, "FQuaQty": 2})
    kept_fid = call(api, "Save", "PRD_MORPT", {"Model": two})["Result"]["Id"]
    dropped_fid = call(api, "Save", "PRD_MORPT", {"Model": two})["Result"]["Id"]
    bills = {b["FID"]: b for b in sim.bills("PRD_MORPT")}
    first_kept, first_dropped = bills[kept_fid]["FEntity"][0]["FEntryID"], bills[dropped_fid]["FEntity"][0]["FEntryID"]
    call(api, "Save", "PRD_MORPT", {"IsDeleteEntry": "false", "Model": {
        "FID": kept_fid, "FEntity": [{"FEntryID": first_kept, "FQuaQty": 5}, {"FMaterialId": {"FNumber": "FG-7"}, "FQuaQty": 3}]}})
    call(api, "Save", "PRD_MORPT", {"Model": {"FID": dropped_fid, "FEntity": [{"FEntryID": first_dropped, "FQuaQty": 7}]}})
    bills = {b["FID"]: b for b in sim.bills("PRD_MORPT")}
    assert [(r["FSeq"], r["FQuaQty"]) for r in bills[kept_fid]["FEntity"]] == [(1, 5.0), (2, 2.0), (3, 3.0)]
    assert [(r["FEntryID"], r["FQuaQty"]) for r in bills[dropped_fid]["FEntity"]] == [(first_dropped, 7.0)]
    ids = [r["FEntryID"] for b in bills.values() for r in b["FEntity"]]
    assert len(ids) == len(set(ids))
    assert bills[kept_fid]["FEntity"][2]["FEntryID"] == max(ids)


def test_need_update_fields_limits_an_update_to_the_fields_named(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    fid = call(api, "Save", "PRD_MORPT", {"Model": report("MES:R-3", FDate="2026-02-01")})["Result"]["Id"]
    before = sim.bills("PRD_MORPT")[0]
    call(api, "Save", "PRD_MORPT", {"NeedUpDateFields": ["FDescription"],
                                    "Model": {"FID": fid, "FDescription": "MES:R-3b", "FDate": "2026-09-09"}})
    after = sim.bills("PRD_MORPT")[0]
    assert (after["FDescription"], after["FDate"]) == ("MES:R-3b", "2026-02-01T00:00:00")
    assert after["FEntity"] == before["FEntity"]
    assert after["FModifyDate"] > before["FModifyDate"]


def test_saves_are_refused_as_the_real_server_refuses_them(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    assert errors(call(api, "Save", "NO_SUCH_FORM", {"Model": {"FBillNo": "X"}}))[:2] == (False, 4)
    missing = call(api, "Save", "PRD_MORPT", {"Model": report("MES:R-4", {"FMaterialId": {"FNumber": "NOPE-1"}, "FQuaQty": 1})})
    ok, code, messages = errors(missing)
    assert (ok, code) == (False, 11)
    assert "NOPE-1" in messages[0]
    assert missing["Result"]["ResponseStatus"]["Errors"][0]["FieldName"] == "FMaterialId"
    assert sim.bills("PRD_MORPT") == []  # nothing saved
    taken = call(api, "Save", "PRD_MO", {"Model": {"FBillNo": "MO900001", "FTreeEntity": []}})
    assert errors(taken) == (False, 11, ["违反字段唯一性要求：编码唯一。[MO900001]在当前系统中已经被使用。"])
    audited = call(api, "Save", "PRD_MO", {"Model": {"FID": sim.bill("PRD_MO", "MO900001")["FID"], "FDescription": "x"}})
    assert errors(audited)[:2] == (False, 11)
    assert "已经审核" in errors(audited)[2][0]
    assert errors(call(api, "Delete", "PRD_MO", {"Numbers": ["MO900001"]}))[:2] == (False, 11)
    assert errors(call(api, "Submit", "PRD_MO", {"Numbers": ["MO404"]}))[:2] == (False, 10)
    json.loads(api.ExcuteOperation("BD_MATERIAL", "Forbid", {"Numbers": ["RM-9"]}))
    forbidden = call(api, "Save", "PRD_MORPT", {"Model": report("MES:R-4", {"FMaterialId": {"FNumber": "RM-9"}, "FQuaQty": 1})})
    assert errors(forbidden)[:2] == (False, 11)
    assert "已禁用" in errors(forbidden)[2][0]


def test_batch_save_answers_each_model_by_its_dindex(sim: KingdeeSimulator) -> None:
    models = [report("MES:B-1"), report("MES:B-2", {"FMaterialId": {"FNumber": "NOPE"}}), report("MES:B-3")]
    reply = json.loads(sdk_for(sim).BatchSave("PRD_MORPT", {"Model": models}))
    status = reply["Result"]["ResponseStatus"]
    assert [e["DIndex"] for e in status["SuccessEntitys"]] == [0, 2]
    assert [e["DIndex"] for e in status["Errors"]] == [1]
    assert sorted(b["FDescription"] for b in sim.bills("PRD_MORPT")) == ["MES:B-1", "MES:B-3"]


def mo_quantities(api: Any, *keys: str) -> list[list[Any]]:
    return json.loads(api.ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": ",".join(keys),
                                            "OrderString": "FTreeEntity_FSeq ASC"}))


def test_an_audited_stock_in_moves_the_order_and_unaudit_takes_it_back(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    mo = sim.bill("PRD_MO", "MO900001")
    second = mo["FTreeEntity"][1]
    link = [{"FEntity_Link_FRuleId": "PRD_MO2INSTOCK", "FEntity_Link_FSTableName": "T_PRD_MOENTRY",
             "FEntity_Link_FSBillId": mo["FID"], "FEntity_Link_FSId": second["FEntryID"]}]
    model = {"FStockOrgId": {"FNumber": "200"}, "FEntity": [{"FMaterialId": {"FNumber": "FG-7"}, "FRealQty": 8,
                                                             "FLot": {"FNumber": "LOT-A"}, "FEntity_Link": link}]}
    saved = call(api, "Save", "PRD_INSTOCK", {"Model": model, "IsAutoSubmitAndAudit": "true"})["Result"]
    assert sim.bill("PRD_INSTOCK", saved["Number"])["FDocumentStatus"] == "C"
    assert mo_quantities(api, "FStockInQuaQty", "FNoStockInQty") == [[0.0, 50.0], [8.0, 12.0]]
    assert sim.view("PRD_MO", "MO900001")["TreeEntity"][1]["StockInQuaQty"] == 8.0
    assert errors(call(api, "Delete", "PRD_INSTOCK", {"Ids": str(saved["Id"])}))[:2] == (False, 11)
    assert errors(call(api, "UnAudit", "PRD_INSTOCK", {"Ids": str(saved["Id"])}))[0] is True
    assert sim.bill("PRD_INSTOCK", saved["Number"])["FDocumentStatus"] == "D"
    assert mo_quantities(api, "FStockInQuaQty", "FNoStockInQty") == [[0.0, 50.0], [0.0, 20.0]]
    assert errors(call(api, "Delete", "PRD_INSTOCK", {"Ids": str(saved["Id"])}))[0] is True
    assert sim.bills("PRD_INSTOCK") == []


def test_reports_link_by_order_number_and_seq_and_cancel_assign_takes_a_submit_back(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    number = call(api, "Save", "PRD_MORPT", {"Model": report("MES:R-5")})["Result"]["Number"]
    call(api, "Submit", "PRD_MORPT", {"Numbers": [number]})
    assert errors(call(api, "CancelAssign", "PRD_MORPT", {"Numbers": [number]}))[0] is True
    assert sim.bill("PRD_MORPT", number)["FDocumentStatus"] == "A"
    assert errors(call(api, "Audit", "PRD_MORPT", {"Numbers": [number]}))[:2] == (False, 11)  # not submitted
    call(api, "Submit", "PRD_MORPT", {"Numbers": [number]})
    call(api, "Audit", "PRD_MORPT", {"Numbers": [number]})
    assert mo_quantities(api, "FRepQuaQty", "FRptFinishQty") == [[9.0, 10.0], [0.0, 0.0]]


def test_push_makes_linked_bills_from_an_audited_source_only(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    mo = sim.bill("PRD_MO", "MO900001")
    pushed = call(api, "Push", "PRD_MO", {"Ids": str(mo["FID"]), "EntryIds": str(mo["FTreeEntity"][1]["FEntryID"]),
                                          "RuleId": "PRD_MO2INSTOCK", "TargetFormId": "PRD_INSTOCK"})
    assert pushed["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert pushed["Result"]["ConvertResponseStatus"]["IsSuccess"] is True
    target = pushed["Result"]["ResponseStatus"]["SuccessEntitys"][0]
    bill = sim.bill("PRD_INSTOCK", target["Number"])
    assert bill["FDocumentStatus"] == "A"
    assert len(bill["FEntity"]) == 1
    row = bill["FEntity"][0]
    assert (row["FRealQty"], row["FMoBillNo"], row["FMoId"], row["FMoEntryId"], row["FMoEntrySeq"]) == \
        (20.0, "MO900001", mo["FID"], mo["FTreeEntity"][1]["FEntryID"], 2)
    assert row["FEntity_Link"][0]["FEntity_Link_FRuleId"] == "PRD_MO2INSTOCK"
    assert row["FEntity_Link"][0]["FEntity_Link_FSTableName"] == "T_PRD_MOENTRY"
    report_push = call(api, "Push", "PRD_MO", {"Numbers": ["MO900001"], "RuleId": "PRD_MO2MORPT"})
    assert len(sim.bill("PRD_MORPT", report_push["Result"]["ResponseStatus"]["SuccessEntitys"][0]["Number"])["FEntity"]) == 2
    bom = sim.bills("PRD_PPBOM")[0]
    picked = call(api, "Push", "PRD_PPBOM", {"Ids": str(bom["FID"]), "RuleId": "PRD_PPBOM2PICKMTRL_NORMAL"})
    pick_fid = picked["Result"]["ResponseStatus"]["SuccessEntitys"][0]["Id"]
    call(api, "Submit", "PRD_PickMtrl", {"Ids": str(pick_fid)})
    call(api, "Audit", "PRD_PickMtrl", {"Ids": str(pick_fid)})
    rows = json.loads(api.ExecuteBillQuery({"FormId": "PRD_PPBOM", "FieldKeys": "FMaterialID2.FNumber,FPickedQty,FNoPickedQty",
                                            "FilterString": "FMOBillNO = 'MO900001' AND FMOEntrySeq = 1"}))
    assert rows == [["RM-9", 100.0, 0.0]]
    draft = sim.seed_bill("PRD_MO", {"FTreeEntity": [{"FMaterialId": {"FNumber": "FG-7"}, "FQty": 5}]}, status="A")
    refused = call(api, "Push", "PRD_MO", {"Ids": str(draft[0]), "RuleId": "PRD_MO2INSTOCK"})
    assert errors(refused)[:2] == (False, 11)
    assert refused["Result"]["ConvertResponseStatus"]["IsSuccess"] is False
    assert len(sim.bills("PRD_INSTOCK")) == 1  # nothing made by the refused push


def test_forbid_and_enable_set_a_lot_s_forbid_status(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    lot = json.loads(api.ExecuteBillQuery({"FormId": "BD_BatchMainFile", "FieldKeys": "FLOTID,FNumber,FForbidStatus",
                                           "FilterString": "FNumber = 'LOT-A' AND FMaterialId.FNumber = 'FG-7'"}))
    assert lot[0][1:] == ["LOT-A", "A"]
    forbid = json.loads(api.ExcuteOperation("BD_BatchMainFile", "Forbid", {"Ids": str(lot[0][0]), "Numbers": []}))
    assert forbid["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert sim.bill("BD_BatchMainFile", "LOT-A")["FForbidStatus"] == "B"
    assert errors(json.loads(api.ExcuteOperation("BD_BatchMainFile", "Forbid", {"Ids": str(lot[0][0])})))[:2] == (False, 11)
    refused = call(api, "Save", "PRD_INSTOCK", {"Model": {"FEntity": [{"FMaterialId": {"FNumber": "FG-7"}, "FRealQty": 1,
                                                                      "FLot": {"FNumber": "LOT-A"}}]}})
    assert errors(refused)[:2] == (False, 11)
    json.loads(api.ExcuteOperation("BD_BatchMainFile", "Enable", {"Numbers": ["LOT-A"]}))
    assert sim.bill("BD_BatchMainFile", "LOT-A")["FForbidStatus"] == "A"
    assert errors(json.loads(api.ExcuteOperation("PRD_MO", "Forbid", {"Numbers": ["MO900001"]})))[:2] == (False, 12)


def test_a_lost_reply_leaves_the_write_done_and_a_conflict_leaves_nothing() -> None:
    faults = FaultSettings()
    with KingdeeSimulator(**WHO, faults=faults) as sim:
        seed_plant(sim)
        api = sdk_for(sim)
        faults.lose_reply_rate = 1.0
        with pytest.raises(requests.exceptions.ConnectionError):
            api.Save("PRD_MORPT", {"Model": report("MES:L-1")})
        assert [b["FDescription"] for b in sim.bills("PRD_MORPT")] == ["MES:L-1"]  # committed, then the reply lost
        rows = json.loads(api.ExecuteBillQuery({"FormId": "PRD_MORPT", "FieldKeys": "FBillNo"}))  # reads are answered
        assert len(rows) == 1
        with pytest.raises(requests.exceptions.ConnectionError):
            api.Submit("PRD_MORPT", {"Numbers": [rows[0][0]]})
        assert sim.bills("PRD_MORPT")[0]["FDocumentStatus"] == "B"
        faults.lose_reply_rate, faults.lock_rate = 0.0, 1.0
        conflict = call(api, "Save", "PRD_MORPT", {"Model": report("MES:L-2")})
        assert errors(conflict)[:2] == (False, 13)
        assert len(sim.bills("PRD_MORPT")) == 1


def test_older_bodies_parameters_and_form_fields_are_understood(sim: KingdeeSimulator) -> None:
    with httpx.Client() as http:
        http.post(f"{sim.url}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
                  json={"parameters": [WHO["acct_id"], WHO["user"], "pw-w", 2052]})
        saved = http.post(f"{sim.url}/{FORMS}Save.common.kdsvc",
                          json={"parameters": ["PRD_MORPT", json.dumps({"Model": report("MES:P-1")})]}).json()
        number = saved["Result"]["Number"]
        for operation in ("Submit", "Audit"):
            http.post(f"{sim.url}/{FORMS}{operation}.common.kdsvc",
                      json={"parameters": ["PRD_MORPT", json.dumps({"Numbers": [number]})]})
        assert sim.bill("PRD_MORPT", number)["FDocumentStatus"] == "C"
        query = json.dumps({"FormId": "PRD_MORPT", "FieldKeys": "FBillNo,FDocumentStatus"})
        assert http.post(f"{sim.url}/{FORMS}ExecuteBillQuery.common.kdsvc", json={"parameters": [query]}).json() == \
            [[number, "C"]]
        form = http.post(f"{sim.url}/{FORMS}ExecuteBillQuery.common.kdsvc", data={"data": query},
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.json() == [[number, "C"]]
        operation = http.post(f"{sim.url}/{FORMS}ExcuteOperation.common.kdsvc",
                              json={"parameters": ["BD_MATERIAL", "Forbid", json.dumps({"Numbers": ["RM-9"]})]}).json()
        assert operation["Result"]["ResponseStatus"]["IsSuccess"] is True
        polled = http.post(f"{sim.url}/{FORMS}BatchSave.common.kdsvc", json={
            "formid": "PRD_MORPT", "data": {"Model": [report("MES:P-2")]}, "beginmethod": "BeginQueryImpl",
            "querymethod": "QueryAsyncResult"}).json()
        assert polled["Status"] == 2
        assert polled["Result"]["Result"]["ResponseStatus"]["IsSuccess"] is True


def test_a_draft_skips_checks_and_must_be_saved_before_it_is_submitted(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    draft = call(api, "Draft", "PRD_MORPT", {"Model": report("MES:D-1", {"FMaterialId": {"FNumber": "LATER-1"}})})
    fid, number = draft["Result"]["Id"], draft["Result"]["Number"]
    assert sim.bill("PRD_MORPT", number)["FDocumentStatus"] == "Z"
    assert errors(call(api, "Submit", "PRD_MORPT", {"Ids": str(fid)}))[:2] == (False, 11)
    entry = sim.bill("PRD_MORPT", number)["FEntity"][0]["FEntryID"]
    fixed = call(api, "Save", "PRD_MORPT", {"Model": {"FID": fid, "FEntity": [
        {"FEntryID": entry, "FMaterialId": {"FNumber": "FG-7"}, "FQuaQty": 1}]}})
    assert errors(fixed)[0] is True
    assert sim.bill("PRD_MORPT", number)["FDocumentStatus"] == "A"
    unknown = httpx.post(f"{sim.url}/{FORMS}Allocate.common.kdsvc", json={"formid": "PRD_MORPT", "data": {}},
                         headers={"kdservice-sessionid": api.cookiesStore.SID}).json()
    assert errors(unknown)[:2] == (False, 4)
