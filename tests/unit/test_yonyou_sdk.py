"""Yonyou's own Python SDK (yonyouopenapisdk1 0.0.2, module yonbip_open_api_sdk) works against the
simulator unchanged: it signs its token call on the old path (appending ``/iuap-api-auth`` to the
URL it is given), keeps the token in its process-wide cache, sends it as a header, and its
finishedreport/save lands as one document."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from adapters.yonyou.simulator import YonyouSimulator

SECRET = "sdk-secret-6d1e0b7c9a"
SAVE = "/iuap-api-gateway/yonbip/mfg/finishedreport/save"


@pytest.fixture
def app_key() -> str:
    return uuid.uuid4().hex  # the SDK caches tokens per appKey for the whole process


@pytest.fixture
def sim(app_key: str) -> Any:
    with YonyouSimulator(app_key=app_key, app_secret=SECRET, tenant_id="tnt-sdk") as simulator:
        simulator.seed_material({"code": "MOTOR-5", "name": "电机"})
        simulator.seed_order({"code": "MO-SDK", "orderProduct": [{"materialCode": "MOTOR-5", "quantity": 20}]})
        yield simulator


def report(line_id: int) -> str:
    # the body as the reference records the SDK's call: serialised by the caller, key inside data
    return json.dumps({"data": {"resubmitCheckKey": uuid.uuid4().hex, "orgCode": "F01", "transTypeCode": "WGBG01",
                                "productionDepartmentCode": "D01", "vouchdate": "2026-12-02", "finishedReportDetail": [
                                    {"materialCode": "MOTOR-5", "quantity": 10, "qualifiedQuantity": 10, "scrapQuantity": 0,
                                     "sourceautoid": str(line_id), "_status": "Insert"}]}})


def test_the_sdk_gets_a_token_and_saves_a_completion_report_unchanged(sim: YonyouSimulator, app_key: str) -> None:
    from yonbip_open_api_sdk import request_opt

    line_id = sim.documents("productionorder")[0]["orderProduct"][0]["id"]
    token_info = {"app_key": app_key, "app_secret": SECRET, "token_url": sim.url}
    reply = request_opt.opt_self_app_request_with_cache("post", sim.url + SAVE, {}, report(line_id), None, token_info)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["code"], body["data"]["sucessCount"], body["data"]["infos"][0]["code"]) == (200, 1, "200")
    again = request_opt.opt_self_app_request_with_cache("post", sim.url + SAVE, {}, report(line_id), None, token_info)
    assert again.json()["data"]["sucessCount"] == 1
    detail = request_opt.opt_self_app_request_with_cache(
        "get", sim.url + "/iuap-api-gateway/yonbip/mfg/productionorder/detail", {}, None,
        {"id": sim.documents("productionorder")[0]["id"]}, token_info)
    assert detail.json()["data"]["orderProduct"][0]["completedQuantity"] == 20
    assert sim.calls == [("/iuap-api-auth/open-auth/selfAppAuth/getAccessToken", "signature"),
                         ("/yonbip/mfg/finishedreport/save", "header"), ("/yonbip/mfg/finishedreport/save", "header"),
                         ("/yonbip/mfg/productionorder/detail", "header")]  # one token, cached by the SDK
    assert len(sim.documents("finishedreport")) == 2


def test_the_sdk_raises_on_a_refused_token_call(sim: YonyouSimulator, app_key: str) -> None:
    from yonbip_open_api_sdk import token_opt

    with pytest.raises(Exception, match="310003"):
        token_opt.opt_self_token(app_key, "not-the-secret", sim.url)
    with pytest.raises(Exception, match="10018"):
        token_opt.opt_self_token("unknown-app", SECRET, sim.url)
    assert token_opt.opt_self_token(app_key, SECRET, sim.url)["expire"] == 7200


def test_the_sdk_wants_the_token_url_without_its_iuap_api_auth_suffix(sim: YonyouSimulator, app_key: str) -> None:
    from yonbip_open_api_sdk import token_opt

    token_url = f"{sim.url}/iuap-api-auth"  # as getGatewayAddress answers it
    with pytest.raises(Exception, match="请求失败"):  # the SDK asked /iuap-api-auth/iuap-api-auth/...: HTTP 404
        token_opt.opt_self_token(app_key, SECRET, token_url)
    assert token_opt.opt_self_token(app_key, SECRET, token_url.removesuffix("/iuap-api-auth"))["access_token"]
