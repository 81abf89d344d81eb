"""The Kingdee simulator authenticates as K/3 Cloud does, checked with Kingdee's official Python
SDK (kingdee.cdp.webapi.sdk 8.2.0, unchanged) and with plain HTTP calls built as the reference
records them; the signatures match the reference's test vector. Its ExecuteBillQuery and View
read the kept bills in the real server's shapes."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from adapters.kingdee.signing import Identity, client_secret, signed_headers, verify_signed_headers
from adapters.kingdee.simulator import KingdeeSimulator
from adapters.kingdee.simulator.filter import FilterError, UnknownField, parse_filter

# made-up credentials, and the values the SDK computes for them (reference §1.2(c))
VECTOR = Identity("65f0a1b2c3d4e5", "mes_bridge", "300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u", "0123456789abcdef0123456789abcdef")
SAVE = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
QUERY = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery"
ROWS = [
    {"FBillNo": "MO000001", "FDocumentStatus": "C", "FMaterialId.FNumber": "A01", "FQty": 100.0, "FModifyDate": "2026-12-01T08:00:00"},
    {"FBillNo": "MO000002", "FDocumentStatus": "B", "FMaterialId.FNumber": "A02", "FQty": 5.0, "FModifyDate": "2026-12-02T09:30:00"},
    {"FBillNo": "MO000003", "FDocumentStatus": "C", "FMaterialId.FNumber": "B01", "FQty": 12.5, "FModifyDate": "2026-12-03T10:00:00"},
]


def test_the_signatures_are_the_sdk_s() -> None:
    assert client_secret(VECTOR.app_id) == "AQIGAFMFDg9aBlNRV1dSXgVYUAkKWwld"
    headers = signed_headers(VECTOR, SAVE, 1796193435)
    assert headers["X-Kd-Appdata"] == "NjVmMGExYjJjM2Q0ZTUsbWVzX2JyaWRnZSwyMDUyLDA="
    assert headers["X-Kd-Signature"] == (
        "NjBkN2YwYjZmYTYxNzAwYzIyMzdhZTRmYjBhMjJhYTg2NTYyMWQ0ODZlNzhhNGYyZTdhZjEzMDc5NzExMjljZA==")
    assert headers["X-Api-Signature"] == (
        "ZjIyZWU1YWMxMTRlNDc1MDA3MDlmOWFhNzQ0ZTMxZTEyOGE1ZmMwNjM2ZWE3YTgwM2M2NmJiNjczYmM5M2I5Nw==")
    assert headers["x-api-nonce"] == headers["x-api-timestamp"] == "1796193435"
    assert headers["X-Api-ClientID"] == "300123"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_signed_headers(lowered, SAVE, {VECTOR.app_id: VECTOR.app_secret}) == ("65f0a1b2c3d4e5", "mes_bridge", "2052", "0")
    assert verify_signed_headers(lowered, SAVE, {VECTOR.app_id: "another secret"}) is None
    assert verify_signed_headers(lowered, SAVE.replace("Save", "Audit"), {VECTOR.app_id: VECTOR.app_secret}) is None


def test_an_app_id_without_a_32_character_secret_part_signs_with_an_empty_key() -> None:
    assert client_secret("300123") == ""
    assert client_secret("300123_short") == ""
    assert client_secret("300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1=") == ""  # padding: the SDK gives up too


@pytest.fixture
def sim() -> Any:
    with KingdeeSimulator(acct_id=VECTOR.acct_id, user=VECTOR.user, app_id=VECTOR.app_id,
                          app_secret=VECTOR.app_secret, password="pw-123") as simulator:
        simulator.seed("PRD_MO", ROWS)
        yield simulator


def sdk_for(sim: KingdeeSimulator, **changes: Any) -> Any:
    from k3cloud_webapi_sdk.main import K3CloudApiSdk

    who = {"acct_id": VECTOR.acct_id, "user_name": VECTOR.user, "app_id": VECTOR.app_id, "app_secret": VECTOR.app_secret, **changes}
    api = K3CloudApiSdk(sim.url)
    api.InitConfig(server_url=sim.url, lcid=2052, org_num=0, **who)
    return api


def test_kingdee_s_own_sdk_queries_the_simulator_unchanged(sim: KingdeeSimulator) -> None:
    api = sdk_for(sim)
    text = api.ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo,FMaterialId.FNumber,FQty",
                                 "FilterString": "FDocumentStatus='C' and FModifyDate >= '2026-12-01 00:00:00'",
                                 "OrderString": "FBillNo DESC", "TopRowCount": 0, "StartRow": 0, "Limit": 2000})
    assert json.loads(text) == [["MO000003", "B01", 12.5], ["MO000001", "A01", 100.0]]
    # the SDK took the session cookie the first reply set, and sends it (header and cookie) from then on
    assert api.cookiesStore.SID in sim.sessions
    api.ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo", "FilterString": "", "Limit": 1})
    assert [how for _, how in sim.calls] == ["signature", "session"]


def test_a_wrong_secret_is_refused_as_the_real_server_refuses_it(sim: KingdeeSimulator) -> None:
    text = sdk_for(sim, app_secret="not-the-secret").ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo"})
    reply = json.loads(text)
    assert reply["Result"]["ResponseStatus"]["MsgCode"] == 1
    assert reply["Result"]["ResponseStatus"]["Errors"][0]["Message"] == "会话信息已丢失，请重新登录"
    with pytest.raises(RuntimeError, match="Fail to verify thirty passport"):  # an unknown data center
        sdk_for(sim, acct_id="0000").ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo"})


def test_plain_http_as_documented_pages_and_logs_in_by_password(sim: KingdeeSimulator) -> None:
    base = sim.url
    with httpx.Client() as http:
        login = http.post(f"{base}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
                          json={"parameters": [VECTOR.acct_id, VECTOR.user, "pw-123", 2052]})
        assert login.json()["LoginResultType"] == 1
        sid = login.cookies["kdservice-sessionid"]
        assert login.json()["KDSVCSessionId"] == sid
        pages = [http.post(f"{base}/{QUERY}.common.kdsvc", json={"data": {
            "FormId": "PRD_MO", "FieldKeys": "FBillNo", "OrderString": "FBillNo", "StartRow": start, "Limit": 2}}).json()
            for start in (0, 2, 4)]
        assert pages == [[["MO000001"], ["MO000002"]], [["MO000003"]], []]
        sim.forget_sessions()  # the server lost it: MsgCode 1, and a fresh login opens another
        lost = http.post(f"{base}/{QUERY}.common.kdsvc", json={"data": {"FormId": "PRD_MO", "FieldKeys": "FBillNo"}})
        assert lost.json()["Result"]["ResponseStatus"]["MsgCode"] == 1
        wrong = http.post(f"{base}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
                          json={"parameters": [VECTOR.acct_id, VECTOR.user, "wrong", 2052]})
        assert wrong.json()["LoginResultType"] == 0
        by_app = http.post(f"{base}/Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc",
                           json={"parameters": [VECTOR.acct_id, VECTOR.user, VECTOR.app_id, VECTOR.app_secret, 2052]})
        assert by_app.json()["LoginResultType"] == 1


def test_signed_headers_built_from_the_reference_are_let_in(sim: KingdeeSimulator) -> None:
    path = f"/k3cloud/{QUERY}.common.kdsvc"
    headers = {**signed_headers(VECTOR, path, int(time.time())), "Content-Type": "application/json"}
    reply = httpx.post(f"{sim.url}/{QUERY}.common.kdsvc", headers=headers,
                       content=json.dumps({"data": {"FormId": "PRD_MO", "FieldKeys": "FBillNo", "FilterString": "FQty > 50"}}))
    assert reply.json() == [["MO000001"]]
    assert "kdservice-sessionid=" in reply.headers["set-cookie"]


@pytest.mark.parametrize(("query", "code", "text"), [
    ({"FormId": "NO_SUCH", "FieldKeys": "FBillNo"}, 4, "标识为“NO_SUCH”的业务对象不存在，或者被删除。"),
    ({"FormId": "PRD_MO", "FieldKeys": ""}, 8, "data数据包中的参数FieldKeys的值不能为空。"),
    ({"FormId": "PRD_MO", "FieldKeys": "FNoSuchField"}, 9, "元数据中标识为FNoSuchField的字段不存在"),
    ({"FormId": "PRD_MO", "FieldKeys": "FBillNo", "FilterString": "FNope = 1"}, 9, "元数据中标识为FNope的字段不存在"),
])
def test_query_errors_come_wrapped_in_a_2d_array_as_the_real_server_sends_them(
    sim: KingdeeSimulator, query: dict[str, Any], code: int, text: str,
) -> None:
    reply = json.loads(sdk_for(sim).ExecuteBillQuery(query))
    status = reply[0][0]["Result"]["ResponseStatus"]
    assert (status["IsSuccess"], status["MsgCode"], status["Errors"][0]["Message"]) == (False, code, text)


def test_filter_strings_take_the_real_server_s_conditions() -> None:
    fields = frozenset(ROWS[0])

    def chosen(text: str) -> list[str]:
        predicate = parse_filter(text, fields)
        return [r["FBillNo"] for r in ROWS if predicate(r)]

    assert chosen("") == ["MO000001", "MO000002", "MO000003"]
    assert chosen("FDocumentStatus = 'C' AND FQty < 50") == ["MO000003"]
    assert chosen("FDocumentStatus <> 'C' or FMaterialId.FNumber LIKE 'B%'") == ["MO000002", "MO000003"]
    assert chosen("FBillNo IN ('MO000001', 'MO000003') and not (FQty > 99)") == ["MO000003"]
    assert chosen("FBillNo NOT IN ('MO000001') AND FModifyDate > '2026-12-02 09:30:00'") == ["MO000003"]
    assert chosen("FMaterialId.FNumber NOT LIKE 'A_1'") == ["MO000002", "MO000003"]
    with pytest.raises(UnknownField):
        parse_filter("FNope = 'x'", fields)
    for broken in ("FQty >", "FQty = 'a' AND", "(FQty = 1", "FQty ~ 1"):
        with pytest.raises(FilterError):
            parse_filter(broken, fields)


def test_fault_flags_and_a_lost_session() -> None:
    from bridge.simulation.faults import FaultSettings

    down = KingdeeSimulator(acct_id=VECTOR.acct_id, user=VECTOR.user, app_id=VECTOR.app_id,
                            app_secret=VECTOR.app_secret, password="pw", faults=FaultSettings(fail_rate=1.0))
    with down, pytest.raises(RuntimeError, match="Service Unavailable"):  # the SDK raises on a non-200
        sdk_for(down).ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo"})
    with KingdeeSimulator(acct_id=VECTOR.acct_id, user=VECTOR.user, app_id=VECTOR.app_id, app_secret=VECTOR.app_secret,
                          password="pw", session_loss_rate=1.0) as forgetful, httpx.Client() as http:
        forgetful.seed("PRD_MO", ROWS)
        base = forgetful.url
        http.post(f"{base}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
                  json={"parameters": [VECTOR.acct_id, VECTOR.user, "pw", 2052]})
        lost = http.post(f"{base}/{QUERY}.common.kdsvc", json={"data": {"FormId": "PRD_MO", "FieldKeys": "FBillNo"}})
        assert lost.json()["Result"]["ResponseStatus"]["MsgCode"] == 1  # a password session does not survive
        # signed headers re-authenticate every call: the SDK does not notice
        assert json.loads(sdk_for(forgetful).ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo", "Limit": 1})) == [["MO000001"]]
    with pytest.raises(ValueError, match="session_loss_rate"):
        KingdeeSimulator(acct_id="a", user="u", app_id="x_y", app_secret="s", session_loss_rate=2)


@pytest.fixture
def bare() -> Any:
    with KingdeeSimulator(acct_id=VECTOR.acct_id, user=VECTOR.user, app_id=VECTOR.app_id,
                          app_secret=VECTOR.app_secret) as simulator:
        yield simulator


def plant(sim: KingdeeSimulator) -> tuple[int, str]:
    sim.seed_bill("BD_MATERIAL", {"FNumber": "M-10", "FName": "叶轮", "FSpecification": "D120",
                                  "SubHeadEntity": {"FErpClsID": "2", "FBaseUnitId": {"FNumber": "Pcs"}},
                                  "SubHeadEntity1": {"FStoreUnitID": {"FNumber": "Box"}, "FStoreURNum": 6, "FStoreURNom": 1,
                                                     "FIsBatchManage": "true"}})
    sim.seed_bill("BD_BatchMainFile", {"FNumber": "LOT-1", "FName": "LOT-1", "FMaterialId": {"FNumber": "M-10"},
                                       "FUseOrgId": {"FNumber": "100"}})
    return sim.seed_bill("PRD_MO", {"FBillNo": "MO800001", "FDate": "2026-03-01", "FPrdOrgId": {"FNumber": "100"},
                                    "FTreeEntity": [
        {"FMaterialId": {"FNumber": "M-10"}, "FQty": 9551, "FUnitId": {"FNumber": "Pcs"},
         "FPlanStartDate": "2026-03-02 08:00:00", "FLot": {"FNumber": "LOT-1"}, "FStatus": "4"},
        {"FMaterialId": {"FNumber": "M-10"}, "FQty": 5, "FUnitId": {"FNumber": "Pcs"}, "FPlanStartDate": "2026-03-09"}]})


def query(sim: KingdeeSimulator, **args: Any) -> Any:
    return json.loads(sdk_for(sim).ExecuteBillQuery(args))


def test_queries_read_header_entry_and_reference_fields_as_the_real_server(bare: KingdeeSimulator) -> None:
    sim = bare
    fid, _ = plant(sim)
    material, lot = sim.bill("BD_MATERIAL", "M-10"), sim.bill("BD_BatchMainFile", "LOT-1")
    assert material is not None
    assert lot is not None
    entries = [r["FEntryID"] for r in sim.bill("PRD_MO", "MO800001")["FTreeEntity"]]
    rows = query(sim, FormId="PRD_MO", FilterString="FBillNo = 'MO800001'", FieldKeys=(
        "FID,FTreeEntity_FEntryId,FTreeEntity_FSeq,FMaterialId,FMaterialId.FNumber,FMaterialID.FName,"
        "FMaterialId.FBaseUnitId.FNumber,FMaterialId.FIsBatchManage,FQty,FLot,FLot.FNumber,FDate,FDocumentStatus"))
    assert rows == [
        [fid, entries[0], 1, material["FMATERIALID"], "M-10", "叶轮", "Pcs", True, 9551.0, lot["FLOTID"], "LOT-1",
         "2026-03-01T00:00:00", "C"],
        [fid, entries[1], 2, material["FMATERIALID"], "M-10", "叶轮", "Pcs", True, 5.0, 0, None, "2026-03-01T00:00:00", "C"]]
    assert query(sim, FormId="PRD_MO", FieldKeys="FBillNo", FilterString="FBillNo = 'MO800001'") == [["MO800001"]]
    # as a MES backend asks it (case and spaces as written there)
    assert query(sim, FormId="PRD_MO", FieldKeys="FBillNo,FMaterialID.FName,FQty, FPlanStartDate, FStatus",
                 FilterString="FPrdOrgId.FNumber='100' and FTreeEntity_FSeq = 1") == \
        [["MO800001", "叶轮", 9551.0, "2026-03-02T08:00:00", "4"]]
    assert query(sim, FormId="BD_MATERIAL", FieldKeys="FID,FNumber,FBaseUnitId.FNumber,FIsBatchManage,FStoreURNum") == \
        [[material["FMATERIALID"], "M-10", "Pcs", True, 6.0]]
    keyed = json.loads(sdk_for(sim).BillQuery({"FormId": "BD_BatchMainFile", "FieldKeys": "FNumber,FMaterialId.FNumber"}))
    assert keyed == [{"FNumber": "LOT-1", "FMaterialId.FNumber": "M-10"}]


def test_filters_compare_times_as_times_and_take_the_array_form(bare: KingdeeSimulator) -> None:
    sim = bare
    plant(sim)
    seqs = lambda text: [r[0] for r in query(sim, FormId="PRD_MO", FieldKeys="FTreeEntity_FSeq",  # noqa: E731
                                             FilterString=text, OrderString="FTreeEntity_FSeq")]
    assert seqs("FPlanStartDate = '2026-03-02 08:00:00'") == [1]
    assert seqs("FDate = '2026-03-01' AND FPlanStartDate >= '2026-03-09'") == [2]
    assert seqs("FPlanStartDate < '2026-3-9'") == [1]
    lots = query(sim, FormId="BD_BatchMainFile", FieldKeys="FLOTID,FName,FNumber,FMATERIALID,FUseOrgId", FilterString=[
        {"Left": "(", "FieldName": "FNumber", "Compare": "=", "Value": "LOT-1", "Right": ")", "Logic": ""}])
    assert [r[1:3] for r in lots] == [["LOT-1", "LOT-1"]]
    assert lots[0][3] == sim.bill("BD_MATERIAL", "M-10")["FMATERIALID"]
    array = [{"Left": "(", "FieldName": "FQty", "Compare": ">", "Value": 100, "Right": "", "Logic": "1"},
             {"Left": "", "FieldName": "FMaterialId.FNumber", "Compare": "67", "Value": "X", "Right": ")", "Logic": "0"},
             {"Left": "", "FieldName": "FBillNo", "Compare": "like", "Value": "MO8", "Right": "", "Logic": ""}]
    assert seqs(array) == [1]  # type: ignore[arg-type]
    refused = query(sim, FormId="PRD_MO", FieldKeys="FBillNo",
                    FilterString=[{"FieldName": "FQty", "Compare": "17", "Value": 1}])
    assert refused[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 8


def test_orders_take_several_keys_and_pages_take_top_row_count(bare: KingdeeSimulator) -> None:
    sim = bare
    for status, qty in (("A", 3), ("C", 1), ("B", 2), ("C", 4)):
        sim.seed_bill("PRD_MO", {"FTreeEntity": [{"FMaterialId": {"FNumber": "Z"}, "FQty": qty}]}, status=status)
    ordered = query(sim, FormId="PRD_MO", FieldKeys="FDocumentStatus,FQty", OrderString="FDocumentStatus DESC, FQty ASC",
                    FilterString="FBillNo like 'MO0%'")
    assert ordered == [["C", 1.0], ["C", 4.0], ["B", 2.0], ["A", 3.0]]
    assert query(sim, FormId="PRD_MO", FieldKeys="FQty", OrderString="FQty DESC", TopRowCount=3, StartRow=1, Limit=5,
                 FilterString="FBillNo like 'MO0%'") == [[3.0], [2.0]]


def test_custom_fields_are_known_once_configured_or_saved() -> None:
    with KingdeeSimulator(acct_id=VECTOR.acct_id, user=VECTOR.user, app_id=VECTOR.app_id, app_secret=VECTOR.app_secret,
                          custom_fields={"PRD_MORPT": ["F_ABC_MesKey"]}) as sim:
        asked = {"FormId": "PRD_MORPT", "FieldKeys": "FBillNo", "FilterString": "F_ABC_MesKey = 'R-1'"}
        assert query(sim, **asked) == []
        refused = query(sim, **{**asked, "FormId": "PRD_INSTOCK"})
        assert refused[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 9
        _, number = sim.seed_bill("PRD_MORPT", {"F_ABC_MesKey": "R-1", "FEntity": [{"FMaterialId": {"FNumber": "Z"}}]})
        assert query(sim, **asked) == [[number]]


def test_view_gives_the_whole_bill_in_the_real_server_s_shape(bare: KingdeeSimulator) -> None:
    sim = bare
    fid, number = plant(sim)
    reply = json.loads(sdk_for(sim).View("PRD_MO", {"CreateOrgId": 0, "Number": number, "Id": "", "IsSortBySeq": "false"}))
    assert reply["Result"]["ResponseStatus"]["IsSuccess"] is True
    bill = reply["Result"]["Result"]
    assert (bill["Id"], bill["FFormId"], bill["BillNo"], bill["DocumentStatus"]) == (fid, "PRD_MO", number, "C")
    assert bill["Date"] == "2026-03-01T00:00:00"
    assert "T" in bill["ModifyDate"]
    assert "+" not in bill["ModifyDate"]
    assert bill["PrdOrgId"]["Number"] == "100"
    assert bill["PrdOrgId_Id"] == bill["PrdOrgId"]["Id"]
    assert bill["BillType"]["Number"] == "SCDD01_SYS"
    assert bill["ApproverId"]["Name"] == VECTOR.user
    first, second = bill["TreeEntity"]
    assert (first["Seq"], second["Seq"]) == (1, 2)
    assert first["Id"] == sim.bill("PRD_MO", number)["FTreeEntity"][0]["FEntryID"]
    assert first["Qty"] == 9551.0
    assert isinstance(first["Qty"], float)
    assert first["NoStockInQty"] == 9551.0
    assert first["PlanStartDate"] == "2026-03-02T08:00:00"
    assert first["Status"] == "4"
    material = first["MaterialId"]
    assert first["MaterialId_Id"] == material["Id"] == sim.bill("BD_MATERIAL", "M-10")["FMATERIALID"]
    assert material["Number"] == "M-10"
    assert material["Name"] == [{"Key": 2052, "Value": "叶轮"}]
    assert material["MaterialBase"][0]["BaseUnitId"]["Number"] == "Pcs"
    assert material["MaterialStock"][0]["IsBatchManage"] is True
    assert material["MaterialStock"][0]["StoreURNum"] == 6.0
    assert (first["Lot_Text"], first["Lot"]["Number"], first["Lot_Id"]) == ("LOT-1", "LOT-1", first["Lot"]["Id"])
    assert (second["Lot_Id"], second["Lot"], second["Lot_Text"]) == (0, None, " ")
    by_id = json.loads(sdk_for(sim).View("PRD_MO", {"Id": str(fid)}))["Result"]["Result"]
    assert by_id == bill
    base = json.loads(sdk_for(sim).View("BD_MATERIAL", {"Number": "M-10"}))["Result"]["Result"]
    assert "FFormId" not in base
    assert (base["Number"], base["ForbidStatus"], base["DocumentStatus"]) == ("M-10", "A", "C")
    assert base["MaterialStock"][0]["StoreUnitID"]["Number"] == "Box"
    missing = json.loads(sdk_for(sim).View("PRD_MO", {"Number": "MO404"}))
    assert (missing["Result"]["ResponseStatus"]["IsSuccess"], missing["Result"]["ResponseStatus"]["MsgCode"]) == (False, 10)
