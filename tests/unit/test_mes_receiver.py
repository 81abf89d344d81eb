"""POST /api/v1/feedback on the bridge's HTTP port: auth, limits, JSON, 202 only after ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from adapters.mes.adapter import adapter
from adapters.mes.settings import FeedbackSettings, MesSourceSettings
from adapters.mes.source import FeedbackReceiver, credentials_from_env, sources
from bridge.adapter.source import SourceContext
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.observability.http import HealthServer
from bridge.receivers import BasicCredentials, TokenCredentials

from ..conftest import DATA

MES = DATA / "mes"
TOKEN = "tok-8f2a61c0d9"
PATH = "/api/v1/feedback"


@dataclass
class Raw:
    message_id: str


class FakeIngest:
    """Records what it was handed; fails as told."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[bytes, str]]] = []
        self.error: Exception | None = None

    def __call__(self, items):
        items = list(items)
        if self.error is not None:
            raise self.error
        self.calls.append(items)
        return [Raw(f"mes:raw:{len(self.calls)}:{index}") for index, _ in enumerate(items)]


@dataclass
class Served:
    url: str
    ingest: FakeIngest


def serve(receiver: FeedbackReceiver) -> Iterator[str]:
    with HealthServer("127.0.0.1", 0, {}, routes=receiver.routes) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def served() -> Iterator[Served]:
    ingest = FakeIngest()
    settings = FeedbackSettings(max_body_bytes=4096, max_documents=3)
    receiver = FeedbackReceiver(ingest, [TokenCredentials(TOKEN), BasicCredentials("mes", "pw-51b7")], settings)
    for url in serve(receiver):
        yield Served(url + PATH, ingest)


def post(served: Served, body: bytes, *, auth: object = None, **headers: str) -> httpx.Response:
    headers.setdefault("Content-Type", "application/json")
    if auth is None:
        headers.setdefault("Authorization", f"Bearer {TOKEN}")
    return httpx.post(served.url, content=body, headers=headers, auth=auth, timeout=10)  # type: ignore[arg-type]


def test_an_envelope_is_accepted_after_ingest_returned(served: Served):
    body = (MES / "report_created.json").read_bytes()
    response = post(served, body)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "message_ids": ["mes:raw:1:0"]}
    [[(data, origin)]] = served.ingest.calls
    assert data == body
    assert origin.startswith("POST /api/v1/feedback from 127.0.0.1")


def test_basic_auth_is_accepted_too(served: Served):
    response = post(served, b'{"report_id": "WR-1"}', auth=("mes", "pw-51b7"))
    assert response.status_code == 202
    assert len(served.ingest.calls) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": ""},
    ],
)
def test_bad_credentials_are_401_with_the_schemes_offered(served: Served, headers: dict[str, str]):
    response = post(served, b'{"report_id": "WR-1"}', **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="erp-mes-bridge", Basic realm="erp-mes-bridge"'
    assert served.ingest.calls == []


def test_a_wrong_basic_password_is_401(served: Served):
    assert post(served, b'{"report_id": "WR-1"}', auth=("mes", "guess")).status_code == 401


def test_a_body_over_the_limit_is_413_and_not_ingested(served: Served):
    response = post(served, b'{"report_id": "' + b"x" * 5000 + b'"}')
    assert response.status_code == 413
    assert "at most 4096" in response.json()["error"]
    assert served.ingest.calls == []


def test_a_body_that_is_not_json_is_400_naming_where(served: Served):
    response = post(served, b'{"report_id": "WR-1",\n "good": }')
    assert response.status_code == 400
    assert response.json()["error"] == "not JSON: Expecting value at line 2 column 10"
    assert served.ingest.calls == []


def test_a_duplicate_key_is_400_naming_its_path(served: Served):
    response = post(served, b'{"report_id": "WR-1", "good": 1, "good": 2}')
    assert response.status_code == 400
    assert "$.good: the key appears twice" in response.json()["error"]


def test_a_body_declared_as_something_else_is_415(served: Served):
    response = post(served, b'{"report_id": "WR-1"}', **{"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert served.ingest.calls == []


def test_an_array_is_one_document_per_item_with_its_own_bytes(served: Served):
    body = (MES / "feedback_batch.json").read_bytes()
    response = post(served, body)
    assert response.status_code == 202
    assert response.json()["message_ids"] == ["mes:raw:1:0", "mes:raw:1:1"]
    [items] = served.ingest.calls
    assert [json.loads(data) for data, _ in items] == json.loads(body)
    assert all(data in body for data, _ in items)
    assert [origin[-3:] for _, origin in items] == ["[0]", "[1]"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "$: an empty list holds no document"),
        (b'[{"report_id": "1"}, "x"]', "$[1]: expected a JSON object (one document)"),
        (b"[{}, {}, {}, {}]", "$: 4 documents in one request; at most 3"),
    ],
)
def test_an_array_that_is_not_a_list_of_documents_is_400(served: Served, body: bytes, reason: str):
    response = post(served, body)
    assert response.status_code == 400
    assert response.json()["error"] == reason
    assert served.ingest.calls == []


def test_a_json_document_that_is_not_valid_feedback_is_still_accepted(served: Served):
    # translate dead-letters it with each invalid field named: nothing is dropped
    for name in ("report_invalid.json", "order_released.json"):
        assert post(served, (MES / name).read_bytes()).status_code == 202
    assert post(served, b'{"what": "ever"}').status_code == 202
    assert len(served.ingest.calls) == 3


def test_a_broker_that_cannot_confirm_in_time_is_503_send_again(served: Served):
    served.ingest.error = TransientError("the broker did not confirm 1 message(s) within 120 s")
    response = post(served, b'{"report_id": "WR-1"}')
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "send again" in response.json()["error"]
    assert "within 120 s" in response.json()["error"]


def test_a_ledger_that_refuses_is_500_with_the_reason(served: Served):
    served.ingest.error = PermanentError("the ledger schema is version 3, this bridge needs 4")
    response = post(served, b'{"report_id": "WR-1"}')
    assert response.status_code == 500
    assert "schema is version 3" in response.json()["error"]


def test_only_post_is_served(served: Served):
    assert httpx.put(served.url, content=b"{}", timeout=10).status_code == 405


# -- credentials and the adapter's sources ----------------------------------------------------


def test_no_credentials_configured_is_a_config_error_naming_the_variables():
    with pytest.raises(ConfigError) as caught:
        credentials_from_env(FeedbackSettings(), {})
    message = str(caught.value)
    assert "MES_FEEDBACK_TOKEN (or MES_FEEDBACK_TOKEN_FILE)" in message
    assert "MES_FEEDBACK_USER and MES_FEEDBACK_PASSWORD" in message


def test_a_user_without_a_password_is_a_config_error():
    with pytest.raises(ConfigError, match="needs MES_FEEDBACK_PASSWORD"):
        credentials_from_env(FeedbackSettings(), {"MES_FEEDBACK_USER": "mes"})


def test_the_token_may_come_from_a_file_and_never_shows(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-file-7c1e\n", encoding="utf-8")
    [credentials] = credentials_from_env(FeedbackSettings(), {"MES_FEEDBACK_TOKEN_FILE": str(secret)})
    assert isinstance(credentials, TokenCredentials)
    assert credentials.token == "from-file-7c1e"
    assert "from-file" not in repr(credentials)
    with pytest.raises(ConfigError) as caught:
        credentials_from_env(
            FeedbackSettings(), {"MES_FEEDBACK_TOKEN": "in-env-99", "MES_FEEDBACK_TOKEN_FILE": str(secret)}
        )
    assert "not both" in str(caught.value)
    assert "in-env-99" not in str(caught.value)


def test_a_receiver_without_credentials_refuses_to_exist():
    with pytest.raises(ConfigError, match="no credentials"):
        FeedbackReceiver(FakeIngest(), [], FeedbackSettings())


def test_the_adapter_builds_the_receiver_from_its_settings_and_env():
    ingest = FakeIngest()
    settings = MesSourceSettings.model_validate({"feedback": {"token_env": "PLANT_TOKEN", "path": "/mes/in"}})
    context = SourceContext(system="mes", settings=settings, ingest=ingest, env={"PLANT_TOKEN": "p-3"})
    assert adapter.sources is sources
    [receiver] = sources(context)
    assert [(r.method, r.path) for r in receiver.routes] == [("POST", "/mes/in")]
    receiver.start()
    try:
        for url in serve(receiver):
            response = httpx.post(
                url + "/mes/in", content=b'{"report_id": "1"}', headers={"Authorization": "Bearer p-3"}, timeout=10
            )
            assert response.status_code == 202
    finally:
        receiver.stop()
    assert len(ingest.calls) == 1


def test_without_settings_the_defaults_apply_and_credentials_are_required():
    with pytest.raises(ConfigError, match="MES_FEEDBACK_TOKEN"):
        sources(SourceContext(system="mes", settings=None, ingest=FakeIngest(), env={}))
    [receiver] = sources(
        SourceContext(system="mes", settings=None, ingest=FakeIngest(), env={"MES_FEEDBACK_TOKEN": "t"})
    )
    assert receiver.routes[0].path == PATH


def test_a_disabled_receiver_is_not_built():
    settings = MesSourceSettings.model_validate({"feedback": {"enabled": False}})
    assert sources(SourceContext(system="mes", settings=settings, ingest=FakeIngest(), env={})) == []
