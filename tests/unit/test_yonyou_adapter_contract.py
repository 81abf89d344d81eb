"""The Yonyou adapter keeps the adapter contract; its error table says what YonBIP's codes mean,
and the write-result helper judges a save's reply row by row."""

from __future__ import annotations

import pytest

from adapters.yonyou.adapter import adapter
from adapters.yonyou.errors import ERRORS
from adapters.yonyou.results import write_result
from bridge.adapter import ErrorFacts, ErrorKind
from tests.contract import AdapterContract

from ..conftest import MAPPINGS

# the codec (adapters/yonyou/codec.py) reads YonBIP replies; while the adapter names no codec, the
# base class skips the codec tests and there are no samples
SAMPLES = (tuple(p for p in sorted((MAPPINGS / "yonyou" / "cases").glob("*_reply.json")) if "error" not in p.name)
           if adapter.codec is not None else ())


class TestYonyouAdapterContract(AdapterContract):
    adapter = adapter
    samples = SAMPLES


def test_the_simulator_is_the_adapter_s() -> None:
    assert adapter.simulator is not None
    assert adapter.simulator.name == "yonyou"


@pytest.mark.parametrize(("facts", "kind"), [
    pytest.param(ErrorFacts(code="310036", text="非法token"), ErrorKind.CONFIGURATION, id="illegal token after a refresh"),
    pytest.param(ErrorFacts(code="310001"), ErrorKind.CONFIGURATION, id="no token"),
    pytest.param(ErrorFacts(code="310037"), ErrorKind.CONFIGURATION, id="API not authorised"),
    pytest.param(ErrorFacts(code="10018"), ErrorKind.CONFIGURATION, id="no such app"),
    pytest.param(ErrorFacts(code="310404", status=404), ErrorKind.CONFIGURATION, id="API not registered"),
    pytest.param(ErrorFacts(status=404), ErrorKind.CONFIGURATION, id="HTTP 404"),
    pytest.param(ErrorFacts(code="500", text="根据租户id获取网关地址出现异常"), ErrorKind.CONFIGURATION, id="unknown tenant"),
    pytest.param(ErrorFacts(code="500", text="其他"), ErrorKind.PERMANENT, id="500 elsewhere: not the tenant row"),
    pytest.param(ErrorFacts(code="310046", status=429), ErrorKind.TRANSIENT, id="rate limited"),
    pytest.param(ErrorFacts(status=429), ErrorKind.TRANSIENT, id="HTTP 429"),
    pytest.param(ErrorFacts(code="999", text="服务端逻辑异常"), ErrorKind.PERMANENT, id="server logic"),
    pytest.param(ErrorFacts(code="1002"), ErrorKind.PERMANENT, id="no such data"),
    pytest.param(ErrorFacts(code="310504"), ErrorKind.TRANSIENT, id="gateway timeout"),
    pytest.param(ErrorFacts(status=502), ErrorKind.TRANSIENT, id="bad gateway"),
    pytest.param(ErrorFacts(code="123456"), ErrorKind.PERMANENT, id="unknown: the default"),
])
def test_yonbip_answers_are_classified(facts: ErrorFacts, kind: ErrorKind) -> None:
    assert ERRORS.kind(facts) is kind


def test_a_write_is_judged_by_its_rows_and_counts() -> None:
    saved = {"code": 200, "data": {"count": 1, "sucessCount": 1, "failCount": 0, "messages": [{"rowNum": "1", "message": "操作成功"}],
                                   "infos": [{"code": "200", "rowNum": "1", "message": "操作成功", "data": {"id": 7, "code": "WGBG1"}}]}}
    assert write_result(saved).outcome == "ok"
    assert write_result(saved).ids == ("7",)
    contradicting = {"code": 200, "data": {**saved["data"], "sucessCount": 0, "failCount": 1}}  # the official sample
    assert write_result(contradicting).outcome == "unclear"
    documents = {"code": "200", "data": {"count": 1, "sucessCount": 1, "failCount": 0, "messages": [""],
                                         "infos": [{"id": 9, "code": "CLCK1"}], "failInfos": {}}}
    assert write_result(documents).ids == ("9",)
    refused = {"code": "200", "data": {"count": 1, "sucessCount": 0, "failCount": 1, "messages": ["qty：[x]不是有效的数字"],
                                       "infos": []}}
    assert (write_result(refused).outcome, write_result(refused).messages) == ("failed", ("qty：[x]不是有效的数字",))
    repeated = {"code": "100004", "message": "幂等接口，重复提交请求", "data": {"id": 11}}
    assert write_result(repeated).ids == ("11",)
    half = {"code": "200", "data": {"count": 2, "sucessCount": 1, "failCount": 1, "messages": ["row 2 refused"],
                                    "infos": [{"id": 12}]}}
    assert write_result(half).outcome == "unclear"
