"""The Yonyou client against the simulator: the gateway looked up once, one token kept until its
expire (one refresh at a time), a refused token renewed once and no more, failures typed as sent
or not sent, refusals typed by the error table with YonBIP's message, secrets never shown."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.yonyou.client import YonyouClient
from adapters.yonyou.results import write_result
from adapters.yonyou.settings import YonyouClientSettings
from adapters.yonyou.simulator import YonyouSimulator
from bridge.errors import ConfigError, NotSentError, PermanentError, TransientError
from bridge.simulation.faults import FaultSettings
from tests.polling import free_port

KEY, SECRET, TENANT = "c0ffee00c0ffee00c0ffee00c0ffee00", "sim-secret-7f3a9d2e41b8c6a0", "tnt-4711"
ENV = {"YONYOU_APP_KEY": KEY, "YONYOU_APP_SECRET": SECRET}
LIST = "/yonbip/mfg/productionorder/list"
SAVE = "/yonbip/mfg/finishedreport/save"
TOKEN_PATH = "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"


class Clock:
    def __init__(self, now: float = 1_796_193_465.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def seeded(sim: YonyouSimulator) -> YonyouSimulator:
    sim.seed_material({"code": "PUMP-7", "name": "循环泵", "unitName": "台"})
    sim.seed_order({"code": "SCDD-T-1", "orderProduct": [{"materialCode": "PUMP-7", "quantity": 8}]})
    return sim


@pytest.fixture
def sim() -> Any:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, tenant_id=TENANT) as simulator:
        yield seeded(simulator)


def client_for(sim: YonyouSimulator, env: dict[str, str] | None = None, clock: Any = time.time,
               **settings: Any) -> YonyouClient:
    values = {"url": sim.url, "tenant_id": TENANT, **settings}
    return YonyouClient(YonyouClientSettings.model_validate(values), env=ENV if env is None else env, clock=clock)


def report(key: str = "", **fields: Any) -> dict[str, Any]:
    return {"data": {"resubmitCheckKey": key, "orgCode": "PLANT1", "transTypeCode": "WGBG01",
                     "productionDepartmentCode": "WS-1", "finishedReportDetail": [{"materialCode": "PUMP-7", "quantity": 2}],
                     **fields}}


def hows(sim: YonyouSimulator) -> list[str]:
    return [how for _, how in sim.calls]


def test_the_gateway_is_looked_up_once_and_one_token_serves_every_call(sim: YonyouSimulator) -> None:
    with client_for(sim) as client:
        assert client.endpoints().gateway_url == f"{sim.url}/iuap-api-gateway"
        for _ in range(3):
            assert client.post(LIST, {"pageIndex": 1, "pageSize": 10})["data"]["recordCount"] == 1
        assert client.get("/yonbip/mfg/productionorder/detail", {"id": sim.documents("productionorder")[0]["id"]})["code"] == 200
    assert hows(sim) == ["tenant", "signature", "query", "query", "query", "query"]
    business = [t for t in sim.targets if t.startswith("/iuap-api-gateway/")]
    # the token (with + / =) travels URL-encoded exactly once
    assert all("access_token=yht" in t and t.endswith("%3D") for t in business)
    assert not any("%25" in t for t in sim.targets)


def test_the_token_may_go_as_a_header_and_the_old_token_path_still_works(sim: YonyouSimulator) -> None:
    with client_for(sim, token_in="header", token_path="old") as client:
        client.post(LIST, {})
    assert sim.calls[1] == ("/iuap-api-auth/open-auth/selfAppAuth/getAccessToken", "signature")
    assert sim.calls[2] == (LIST, "header")
    assert "access_token" not in sim.targets[-1]


def test_configured_gateway_and_token_urls_skip_the_lookup(sim: YonyouSimulator) -> None:
    with client_for(sim, tenant_id=None, gateway_url=f"{sim.url}/iuap-api-gateway/",
                    token_url=f"{sim.url}/iuap-api-auth") as client:
        client.post(LIST, {})
    assert hows(sim) == ["signature", "query"]


def test_an_expired_token_gets_one_refresh_and_the_call_is_sent_again(sim: YonyouSimulator) -> None:
    with client_for(sim) as client:
        client.post(LIST, {})
        sim.forget_tokens()  # the token expired mid-run
        assert client.post(SAVE, report())["data"]["sucessCount"] == 1
        assert client.tokens.fetched == 2
    assert [c for c in sim.calls if c[0] == SAVE] == [(SAVE, "bad-token"), (SAVE, "query")]
    assert len(sim.documents("finishedreport")) == 1


def test_a_token_refused_right_after_a_refresh_is_a_configuration_error() -> None:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, tenant_id=TENANT, token_expiry_rate=1.0) as sim, \
            client_for(sim) as client, pytest.raises(ConfigError, match="非法token.*310036"):
        client.post(SAVE, report())
    assert hows(sim) == ["tenant", "signature", "bad-token", "signature", "bad-token"]  # one refresh, no more
    assert sim.documents("finishedreport") == []


def test_a_token_is_kept_until_its_expire_minus_the_margin(sim: YonyouSimulator) -> None:
    clock = Clock()
    with client_for(sim, clock=clock, token_margin_s=60) as client:
        client.post(LIST, {})
        clock.now += 7200 - 61
        client.post(LIST, {})
        assert client.tokens.fetched == 1
        clock.now += 2
        client.post(LIST, {})
        assert client.tokens.fetched == 2


def test_threads_share_one_token_and_one_refresh(sim: YonyouSimulator) -> None:
    with client_for(sim) as client:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(3):
                    client.post(LIST, {})
            except BaseException as exc:  # pragma: no cover - shown by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert client.tokens.fetched == 1
        sim.forget_tokens()
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert client.tokens.fetched == 2  # many threads saw the token refused; one asked for a new one


def test_refusals_are_typed_with_yonbip_s_message(sim: YonyouSimulator) -> None:
    with client_for(sim) as client:
        with pytest.raises(ConfigError, match=r"网关上没有注册此API\[/yonbip/mfg/nosuch/list\].*310404"):
            client.post("/yonbip/mfg/nosuch/list", {})
        with pytest.raises(PermanentError, match="数据不存在.*code 1002"):
            client.get("/yonbip/mfg/productionorder/detail", {"id": 1})
        with pytest.raises(PermanentError, match="resubmitCheckKey.*code 999"):
            client.post(SAVE, report(key="k" * 33))
        reply = client.post(SAVE, report(finishedReportDetail=[{"materialCode": "NOPE-1", "quantity": 1}]))
        result = write_result(reply)  # refused per row: the call itself succeeded
        assert result.outcome == "failed"
        assert "materialCode" in result.messages[0]
        assert "NOPE-1" in result.messages[0]


def test_the_tenant_and_the_app_are_checked_and_secrets_stay_out_of_errors(sim: YonyouSimulator) -> None:
    with pytest.raises(ConfigError, match="根据租户id获取网关地址出现异常") as tenant:
        client_for(sim, tenant_id="no-such-tenant").post(LIST, {})
    assert "tenant" in str(tenant.value)
    with pytest.raises(ConfigError, match="10018") as app:
        client_for(sim, env={"YONYOU_APP_KEY": "unknown-app", "YONYOU_APP_SECRET": SECRET}).post(LIST, {})
    assert "unknown-app" not in str(app.value)
    wrong = client_for(sim, env={"YONYOU_APP_KEY": KEY, "YONYOU_APP_SECRET": "not-the-secret"})
    with pytest.raises(ConfigError, match="310003") as secret:
        wrong.post(LIST, {})
    for text in (str(secret.value), repr(wrong), repr(wrong.tokens)):
        assert "not-the-secret" not in text
        assert KEY not in text
    with client_for(sim) as good:
        good.post(LIST, {})
        assert good.tokens._token is not None
        assert good.tokens._token not in repr(good)


def test_an_unavailable_or_absent_gateway_is_not_sent() -> None:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, faults=FaultSettings(fail_rate=1.0)) as down:
        with pytest.raises(NotSentError, match="HTTP 503"):
            client_for(down).post(SAVE, report())
        assert down.documents("finishedreport") == []
    absent = YonyouClientSettings(gateway_url=f"http://127.0.0.1:{free_port()}/iuap-api-gateway",
                                  token_url=f"http://127.0.0.1:{free_port()}/iuap-api-auth")
    with pytest.raises(NotSentError, match="cannot connect"):
        YonyouClient(absent, env=ENV).post(SAVE, report())


def test_a_rate_limited_write_is_not_sent_and_a_lost_reply_is_in_doubt() -> None:
    faults = FaultSettings(lock_rate=1.0)
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, faults=faults) as sim, client_for(seeded(sim)) as client:
        with pytest.raises(NotSentError, match="310046"):
            client.post(SAVE, report())
        assert sim.documents("finishedreport") == []
        faults.lock_rate, faults.lose_reply_rate = 0.0, 1.0
        with pytest.raises(TransientError, match="may have been carried out") as lost:
            client.post(SAVE, report(key="0f" * 16))
        assert not isinstance(lost.value, NotSentError)
        assert len(sim.documents("finishedreport")) == 1  # written, the reply lost
        faults.lose_reply_rate = 0.0
        again = client.post(SAVE, report(key="0f" * 16))  # the same key: the first result, no second document
        assert write_result(again).ids == (str(sim.documents("finishedreport")[0]["id"]),)
        assert len(sim.documents("finishedreport")) == 1


def test_a_timeout_after_sending_is_in_doubt() -> None:
    with YonyouSimulator(app_key=KEY, app_secret=SECRET, faults=FaultSettings(latency_ms=600)) as slow:
        settings = {"gateway_url": f"{slow.url}/iuap-api-gateway", "token_url": f"{slow.url}/iuap-api-auth",
                    "tenant_id": None, "timeout_s": 0.2}
        with pytest.raises(TransientError, match="no answer in time.*may have been carried out") as caught:
            client_for(slow, **settings).post(SAVE, report())
        assert not isinstance(caught.value, NotSentError)


def test_a_plain_text_illegal_token_is_renewed_once_like_310036() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("getAccessToken"):
            return httpx.Response(200, json={"code": "00000", "message": "成功！", "data": {"access_token": "t", "expire": 7200}})
        return httpx.Response(200, text="非法token", headers={"Content-Type": "text/plain; charset=utf-8"})

    settings = YonyouClientSettings(gateway_url="https://yb.example/iuap-api-gateway", token_url="https://yb.example/iuap-api-auth")
    client = YonyouClient(settings, env=ENV, transport=httpx.MockTransport(answer))
    with pytest.raises(ConfigError, match="310036"):
        client.post("/yonbip/fi/fipub/basedoc/querybd/accperiod", {})
    assert seen.count("/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken") == 2


def test_secrets_come_from_the_named_variables_or_their_files(sim: YonyouSimulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    env = {"PLANT_YY_KEY": KEY, "PLANT_YY_SECRET_FILE": str(secret_file)}
    with client_for(sim, env=env, app_key_env="PLANT_YY_KEY", app_secret_env="PLANT_YY_SECRET") as client:
        assert client.post(LIST, {})["code"] == "200"
    with pytest.raises(ConfigError, match="YONYOU_APP_SECRET"):
        client_for(sim, env={"YONYOU_APP_KEY": KEY})


@pytest.mark.parametrize(("values", "named"), [
    pytest.param({"gateway_url": "https://g.example/iuap-api-gateway"}, "token_url", id="half the urls"),
    pytest.param({}, "tenant_id", id="neither a tenant nor the urls"),
    pytest.param({"tenant_id": "t", "token_in": "cookie"}, "token_in", id="token place"),
    pytest.param({"tenant_id": "t", "token_path": "v2"}, "token_path", id="token path"),
    pytest.param({"tenant_id": "t", "app_secret": "s3cret"}, "app_secret", id="a secret in the file"),
    pytest.param({"tenant_id": "t", "app_key_env": "not a name"}, "app_key_env", id="variable name"),
    pytest.param({"tenant_id": "t", "url": "ftp://x"}, "url", id="url scheme"),
])
def test_wrong_settings_are_named(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        YonyouClientSettings.model_validate(values)


def test_tls_is_verified_by_default_and_a_bad_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    assert YonyouClientSettings(tenant_id="t").verify is True
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="Yonyou TLS settings"):
        YonyouClient(YonyouClientSettings(tenant_id="t", ca_bundle=bad), env=ENV)
    with pytest.raises(ValidationError, match="client_key needs client_cert"):
        YonyouClientSettings(tenant_id="t", client_key=bad)
