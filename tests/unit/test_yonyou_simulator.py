"""The Yonyou simulator answers as YonBIP's open platform does, checked with plain HTTP calls built
as the API pages describe them: the data-centre lookup, both token paths (a signature encoded
twice refused), the gateway's refusals in their order, the fault flags, the seed file, the
SQLite store and ``bridge simulate yonyou``."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from adapters.yonyou.signing import token_params, wire_query
from adapters.yonyou.simulator import YonyouSimulator, load_seed
from adapters.yonyou.simulator.cli import DEMO_SEED
from bridge.simulation.faults import FaultSettings

KEY, SECRET, TENANT = "a1b2c3d4e5f60718293a4b5c6d7e8f90", "plain-http-secret-51c9", "tnt-0042"
BASE_V1 = "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
OLD = "/iuap-api-auth/open-auth/selfAppAuth/getAccessToken"
SAVE = "/iuap-api-gateway/yonbip/mfg/finishedreport/save"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def report(key: str = "") -> dict[str, Any]:
    return {"data": {"resubmitCheckKey": key, "orgCode": "P1", "transTypeCode": "WGBG01", "productionDepartmentCode": "D1",
                     "vouchdate": "2026-12-02", "finishedReportDetail": [{"materialCode": "VALVE-3", "quantity": 4}]}}


@pytest.fixture
def sim() -> Any:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, tenant_id=TENANT) as simulator:
        simulator.seed_material({"code": "VALVE-3", "name": "球阀"})
        yield simulator


def token_of(base: str, path: str = BASE_V1) -> str:
    reply = httpx.get(f"{base}{path}", params=token_params(KEY, SECRET, int(time.time() * 1000))).json()
    assert reply["code"] == "00000", reply
    return str(reply["data"]["access_token"])


def test_plain_http_as_the_api_pages_describe_it(sim: YonyouSimulator) -> None:
    with httpx.Client() as http:
        found = http.get(f"{sim.url}/open-auth/dataCenter/getGatewayAddress", params={"tenantId": TENANT}).json()
        assert found == {"code": "00000", "message": "成功！", "data": {
            "gatewayUrl": f"{sim.url}/iuap-api-gateway", "tokenUrl": f"{sim.url}/iuap-api-auth"}}
        signed = token_params(KEY, SECRET, int(time.time() * 1000))  # the raw signature; httpx encodes it once
        token = http.get(found["data"]["tokenUrl"] + "/open-auth/selfAppAuth/base/v1/getAccessToken", params=signed,
                         headers={"content-type": "application/json; charset=UTF-8"}).json()
        assert token["code"] == "00000"
        assert token["data"]["expire"] == 7200
        access = token["data"]["access_token"]
        assert {"+", "/", "="} & set(access)  # a new-style token: it must be URL-encoded
        saved = http.post(found["data"]["gatewayUrl"] + "/yonbip/mfg/finishedreport/save",
                          params={"access_token": access}, json=report()).json()
        assert (saved["code"], saved["data"]["sucessCount"], saved["data"]["infos"][0]["code"]) == (200, 1, "200")
        document = saved["data"]["infos"][0]["data"]
        detail = http.get(found["data"]["gatewayUrl"] + "/yonbip/mfg/finishedreport/detail",
                          params={"access_token": access, "id": document["id"]}).json()
        assert detail["code"] == 200
        assert detail["data"]["code"] == document["code"]
        assert detail["data"]["finishedReportDetail"][0]["materialCode"] == "VALVE-3"
    assert [how for _, how in sim.calls] == ["tenant", "signature", "query", "query"]


def test_a_signature_encoded_twice_or_not_at_all_is_refused(sim: YonyouSimulator) -> None:
    stamp = 1796193465547
    while not {"+", "/"} <= set(token_params(KEY, SECRET, stamp)["signature"]):
        stamp += 1
    params = token_params(KEY, SECRET, stamp)
    head = f"{sim.url}{BASE_V1}?appKey={KEY}&timestamp={stamp}&signature="
    twice = httpx.get(head + quote(quote(params["signature"], safe=""), safe="")).json()
    raw = httpx.get(head + params["signature"]).json()
    assert twice == raw == {"code": "310003", "message": "获取token失败"}
    assert httpx.get(f"{sim.url}{BASE_V1}?{wire_query(params)}").json()["code"] == "00000"
    assert [how for _, how in sim.calls] == ["bad-signature", "bad-signature", "signature"]


def test_the_old_token_path_answers_too_and_an_unknown_app_gets_10018(sim: YonyouSimulator) -> None:
    assert token_of(sim.url, OLD)
    for path in (BASE_V1, OLD):
        refused = httpx.get(f"{sim.url}{path}", params=token_params("no-such-app", SECRET, 1796193465547)).json()
        assert refused == {"code": "10018", "message": "应用不存在或appKey已停用"}


def test_an_unknown_tenant_gets_500_and_a_simulator_without_tenant_takes_any(sim: YonyouSimulator) -> None:
    lookup = "/open-auth/dataCenter/getGatewayAddress"
    assert httpx.get(f"{sim.url}{lookup}", params={"tenantId": "other"}).json() == {
        "code": "500", "message": "根据租户id获取网关地址出现异常"}
    with YonyouSimulator(app_key=KEY, app_secret=SECRET) as open_sim:
        assert httpx.get(f"{open_sim.url}{lookup}", params={"tenantId": "whoever"}).json()["code"] == "00000"


def test_the_gateway_checks_the_path_first_then_the_token(sim: YonyouSimulator) -> None:
    nowhere = httpx.post(f"{sim.url}/iuap-api-gateway/yonbip/skillify/not/exist", params={"access_token": "fake"}, json={})
    assert nowhere.status_code == 404
    assert nowhere.json() == {"code": "310404", "message": "网关上没有注册此API[/yonbip/skillify/not/exist]，请确认后重新调用"}
    assert httpx.post(f"{sim.url}{SAVE}", json=report()).json() == {"code": "310001", "message": "access_token不能为空。"}
    assert httpx.post(f"{sim.url}{SAVE}", params={"access_token": "fake"}, json=report()).json() == {
        "code": "310036", "message": "非法token"}
    token = token_of(sim.url)
    assert httpx.get(f"{sim.url}{SAVE}", params={"access_token": token}).status_code == 405
    bad = httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, content=b"{not json")
    assert bad.json()["code"] == "310002"
    while "+" not in token:  # the token must be URL-encoded: sent raw, its "+" arrives as a space
        token = token_of(sim.url)
    assert httpx.post(f"{sim.url}{SAVE}?access_token={token}", json=report()).json()["code"] == "310036"
    assert httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report()).json()["code"] == 200


def test_tokens_expire_after_their_ttl() -> None:
    clock = Clock()
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, token_ttl_s=60, clock=clock) as sim:
        sim.seed_material({"code": "VALVE-3"})
        reply = httpx.get(f"{sim.url}{BASE_V1}", params=token_params(KEY, SECRET, 1796193465547)).json()
        assert reply["data"]["expire"] == 60
        token = reply["data"]["access_token"]
        assert httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report()).json()["code"] == 200
        clock.now += 61
        assert httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report()).json()["code"] == "310036"


def test_token_expiry_rate_forgets_every_token_before_a_call() -> None:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, token_expiry_rate=1.0) as sim:
        token = token_of(sim.url)
        assert httpx.post(f"{sim.url}{SAVE}", headers={"access_token": token}, json=report()).json()["code"] == "310036"
    with pytest.raises(ValueError, match="token_expiry_rate"):
        YonyouSimulator(app_key=KEY, app_secret=SECRET, token_expiry_rate=1.5)


def test_fail_rate_answers_503_before_any_effect() -> None:
    faults = FaultSettings(fail_rate=1.0)
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, faults=faults) as sim:
        sim.seed_material({"code": "VALVE-3"})
        assert httpx.get(f"{sim.url}{BASE_V1}", params=token_params(KEY, SECRET, 1)).status_code == 503
        faults.fail_rate = 0.0
        token = token_of(sim.url)
        faults.fail_rate = 1.0
        down = httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report())
        assert down.status_code == 503
        assert sim.documents("finishedreport") == []


def test_lose_reply_rate_stores_the_document_and_drops_the_reply() -> None:
    faults = FaultSettings(lose_reply_rate=1.0)
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, faults=faults) as sim:
        sim.seed_material({"code": "VALVE-3"})
        token = token_of(sim.url)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report("5e" * 16))
        assert len(sim.documents("finishedreport")) == 1
        assert sim.dropped == ["/yonbip/mfg/finishedreport/save"]
        # reads are not writes: their replies arrive
        listed = httpx.post(f"{sim.url}/iuap-api-gateway/yonbip/mfg/finishedreport/list",
                            params={"access_token": token}, json={})
        assert listed.json()["data"]["recordCount"] == 1
        faults.lose_reply_rate = 0.0
        again = httpx.post(f"{sim.url}{SAVE}", params={"access_token": token}, json=report("5e" * 16)).json()
        assert again["data"]["infos"][0]["data"]["id"] == sim.documents("finishedreport")[0]["id"]
        assert len(sim.documents("finishedreport")) == 1


def test_the_demo_seed_and_a_wrong_seed_file(tmp_path: Path) -> None:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET) as sim:
        assert load_seed(sim, DEMO_SEED) == {"materials": 4, "batches": 4, "orders": 2}
        orders = sim.documents("productionorder")
        assert sorted(len(o["orderProduct"]) for o in orders) == [1, 2]
        assert any(m["isBatchManage"] for m in sim.documents("product"))
        wrong = tmp_path / "seed.json"
        wrong.write_text('{"orders": [{"orderProduct": [{"materialCode": "NOT-THERE", "quantity": 1}]}]}')
        with pytest.raises(ValueError, match=r"orders\[0\].*NOT-THERE"):
            load_seed(sim, wrong)
        wrong.write_text('{"customers": []}')
        with pytest.raises(ValueError, match="materials, batches, orders"):
            load_seed(sim, wrong)


def test_a_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'yonyou.db'}"
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, store=store) as first:
        first.seed_material({"code": "VALVE-3"})
        token = token_of(first.url)
        saved = httpx.post(f"{first.url}{SAVE}", params={"access_token": token}, json=report("77" * 16)).json()
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, store=store) as second:
        assert [d["code"] for d in second.documents("finishedreport")] == [saved["data"]["infos"][0]["data"]["code"]]
        token = token_of(second.url)  # tokens do not survive; documents, keys and counters do
        again = httpx.post(f"{second.url}{SAVE}", params={"access_token": token}, json=report("77" * 16)).json()
        assert again == saved
        other = httpx.post(f"{second.url}{SAVE}", params={"access_token": token}, json=report()).json()
        assert other["data"]["infos"][0]["data"]["id"] != saved["data"]["infos"][0]["data"]["id"]
    with pytest.raises(ValueError, match="sqlite"):
        YonyouSimulator(app_key=KEY, app_secret=SECRET, store="postgres://x")


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_bridge_simulate_yonyou_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "YONYOU_APP_KEY": KEY, "YONYOU_APP_SECRET": SECRET}
    args = [sys.executable, "-m", "bridge.cli", "simulate", "yonyou", "--port", "0", "--demo", "--tenant-id", TENANT,
            "--store", str(tmp_path / "sim.db"), "--token-ttl-s", "600"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        first = lines.get(timeout=60)
        assert first.startswith("Yonyou simulator: http://127.0.0.1:"), first
        assert "4 materials, 4 lots, 2 production orders" in first
        base = first.split()[2]
        token = httpx.get(f"{base}{BASE_V1}", params=token_params(KEY, SECRET, 1796193465547)).json()
        assert token["data"]["expire"] == 600
        listed = httpx.post(f"{base}/iuap-api-gateway/yonbip/mfg/productionorder/list",
                            params={"access_token": token["data"]["access_token"]}, json={"pageSize": 50}).json()
        assert listed["data"]["recordCount"] == 3  # one row per order line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert lines.get(timeout=10).strip() == "Yonyou simulator stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_the_command_wants_the_app_s_credentials_and_is_listed() -> None:
    from bridge.cli import main

    listed = CliRunner().invoke(main, ["simulate", "--help"])
    assert listed.exit_code == 0
    assert "yonyou" in listed.output
    refused = CliRunner().invoke(main, ["simulate", "yonyou", "--port", "0"], env={"YONYOU_APP_KEY": "", "YONYOU_APP_SECRET": ""})
    assert refused.exit_code == 2
    assert "--app-key" in refused.output
