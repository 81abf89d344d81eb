"""POST /api/v1/sap/idoc on the bridge's HTTP port: basic auth, the body limit, IDoc-XML (one or
several IDocs), SOAP-wrapped and flat IDocs, 200 only after ingest, 400 (still ingested) for
what does not decode, 503 when ingest could not take it, and the adapter's sources."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from lxml import etree
from pydantic import ValidationError

from adapters.sap.adapter import adapter
from adapters.sap.codec import SapCodec
from adapters.sap.receiver import IDocReceiver, credentials_from_env
from adapters.sap.settings import IDocReceiverSettings, SapSourceSettings
from adapters.sap.soap_envelope import SOAP11
from adapters.sap.source import sources
from bridge.adapter.source import SourceContext
from bridge.broker.connector import StubConnector
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.observability.http import HealthServer
from bridge.receivers import BasicCredentials
from bridge.runtime import Runtime, names_for
from tests.polling import free_port

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
LOIPRO = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
MATMAS_FLAT = (CASES / "MATMAS05_3PL_material_master.idoc").read_bytes()
PATH = "/api/v1/sap/idoc"
USER, PASSWORD = "SAPIDOC", "pw-3c9e01"
CODEC = SapCodec()


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
        return [Raw(f"sap:raw:{len(self.calls)}:{index}") for index, _ in enumerate(items)]

    @property
    def bodies(self) -> list[bytes]:
        return [data for call in self.calls for data, _ in call]


@dataclass
class Served:
    url: str
    ingest: FakeIngest


def serve(receiver: IDocReceiver) -> Iterator[str]:
    with HealthServer("127.0.0.1", 0, {}, routes=receiver.routes) as server:
        yield f"http://127.0.0.1:{server.port}"


def receiver_for(ingest: FakeIngest, **settings: object) -> IDocReceiver:
    sap = SapSourceSettings.model_validate(
        {"receiver": {"enabled": True, "max_body_bytes": 200_000}, **settings}
    )
    context = SourceContext(system="sap", settings=sap, ingest=ingest, codec=CODEC)
    return IDocReceiver(context, BasicCredentials(USER, PASSWORD), sap)


@pytest.fixture
def served() -> Iterator[Served]:
    ingest = FakeIngest()
    for url in serve(receiver_for(ingest)):
        yield Served(url + PATH, ingest)


def post(url: str, body: bytes, *, auth: object = (USER, PASSWORD), **headers: str) -> httpx.Response:
    headers.setdefault("Content-Type", "application/xml")
    return httpx.post(url, content=body, headers=headers, auth=auth, timeout=10)  # type: ignore[arg-type]


def soap_wrapped(document: bytes) -> bytes:
    inner = document.split(b"?>", 1)[1] if document.startswith(b"<?xml") else document
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<soapenv:Envelope xmlns:soapenv="' + SOAP11.encode() + b'" xmlns:unused="urn:x">'
        b"<soapenv:Header/><soapenv:Body>" + inner + b"</soapenv:Body></soapenv:Envelope>"
    )


def two_idocs() -> bytes:
    start, end = LOIPRO.index(b"<IDOC "), LOIPRO.index(b"</IDOC>") + len(b"</IDOC>")
    second = LOIPRO[start:end].replace(b"0000000000430094", b"0000000000430095")
    return LOIPRO[:end] + second + LOIPRO[end:]


# -- accepted --------------------------------------------------------------------------------


def test_an_idoc_xml_document_is_accepted_after_ingest_returned(served: Served):
    response = post(served.url, LOIPRO)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted", "message_ids": ["sap:raw:1:0"]}
    [[(data, origin)]] = served.ingest.calls
    assert data == LOIPRO
    assert origin.startswith(f"POST {PATH} from 127.0.0.1")


@pytest.mark.parametrize(
    "media", ["application/x-sap.idoc", "text/xml; charset=utf-8", "application/octet-stream"]
)
def test_the_media_types_sap_senders_declare_are_taken(served: Served, media: str):
    assert post(served.url, LOIPRO, **{"Content-Type": media}).status_code == 200
    assert served.ingest.bodies == [LOIPRO]


def test_several_idocs_in_one_document_are_one_raw_message_holding_both(served: Served):
    body = two_idocs()
    assert post(served.url, body).status_code == 200
    assert served.ingest.bodies == [body]
    assert [d.document_id for d in CODEC.decode(body)] == ["0000000000430094", "0000000000430095"]


def test_a_soap_wrapped_idoc_is_unwrapped_and_answered_with_an_envelope(served: Served):
    response = post(served.url, soap_wrapped(LOIPRO), **{"Content-Type": "text/xml; charset=utf-8"})
    assert response.status_code == 200, response.text
    reply = etree.fromstring(response.content)
    assert reply.tag == f"{{{SOAP11}}}Envelope"
    assert reply.find(f"{{{SOAP11}}}Body") is not None
    assert len(reply.find(f"{{{SOAP11}}}Body")) == 0
    [data] = served.ingest.bodies
    root = etree.fromstring(data)
    assert root.tag == "{urn:sap-com:document:sap:idoc:soap:messages}LOIPRO05"
    assert b"Envelope" not in data
    assert b"urn:x" not in data  # the envelope's declarations are not carried along
    [document] = CODEC.decode(data)
    assert document.document_id == "0000000000430094"
    assert document.tree == CODEC.decode(LOIPRO)[0].tree


def test_the_same_soap_envelope_sent_twice_gives_the_same_bytes(served: Served):
    post(served.url, soap_wrapped(LOIPRO))
    post(served.url, soap_wrapped(LOIPRO))
    first, second = served.ingest.bodies
    assert first == second


def test_a_flat_idoc_as_text_plain_is_accepted(served: Served):
    response = post(served.url, MATMAS_FLAT, **{"Content-Type": "text/plain; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert served.ingest.bodies == [MATMAS_FLAT]


# -- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, ("SAPIDOC", "guess"), ("other", PASSWORD)])
def test_missing_or_wrong_credentials_are_401_with_a_basic_challenge(served: Served, auth):
    response = post(served.url, LOIPRO, auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="erp-mes-bridge"'
    assert served.ingest.calls == []


def test_a_bearer_token_is_not_basic_auth(served: Served):
    response = post(served.url, LOIPRO, auth=None, Authorization=f"Bearer {PASSWORD}")
    assert response.status_code == 401


def test_a_body_over_the_limit_is_413_and_not_ingested(served: Served):
    response = post(served.url, LOIPRO + b" " * 200_000)
    assert response.status_code == 413
    assert "at most 200000" in response.json()["error"]
    assert served.ingest.calls == []


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(served: Served):
    # only the headers go out: a server that tried to read the body would never answer
    host, port = served.url.split("//", 1)[1].split("/", 1)[0].split(":")
    credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {credentials}\r\n"
            "Content-Type: application/xml\r\nContent-Length: 1000000000\r\n\r\n".encode()
        )
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1] == b"413"
    assert served.ingest.calls == []


def test_another_media_type_is_415(served: Served):
    response = post(served.url, LOIPRO, **{"Content-Type": "application/json"})
    assert response.status_code == 415
    assert served.ingest.calls == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<ORDERS05><IDOC BEGIN='1'><EDI_DC40", "not well-formed XML"),
        (b"hello, SAP", "neither IDoc-XML nor a flat IDoc"),
        (b"<LOIPRO05/>", ""),
    ],
)
def test_a_document_that_does_not_decode_is_ingested_and_answered_400(
    served: Served, body: bytes, reason: str
):
    response = post(served.url, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("not a readable IDoc document (kept by the bridge): ")
    assert reason in error
    assert served.ingest.bodies == [body]  # translate dead-letters it: nothing is lost


def test_a_broken_soap_envelope_is_ingested_as_sent_and_answered_with_a_fault(served: Served):
    body = soap_wrapped(LOIPRO).replace(b"</soapenv:Body>", b"")
    response = post(served.url, body, **{"Content-Type": "text/xml"})
    assert response.status_code == 400
    fault = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault.findtext("faultcode") == "soap-env:Client"
    assert "not well-formed XML" in fault.findtext("faultstring")
    assert served.ingest.bodies == [body]


@pytest.mark.parametrize("inner", [LOIPRO.split(b"?>", 1)[1] * 2, b"<Hello/><World/>"])
def test_a_soap_body_with_two_documents_is_400_and_ingested_as_sent(served: Served, inner: bytes):
    # SAP allows one IDoc per envelope (EA728); the codec would read only the first document
    body = soap_wrapped(inner)
    response = post(served.url, body)
    assert response.status_code == 400
    assert b"the SOAP Body holds 2 elements; expected one IDoc document" in response.content
    assert served.ingest.bodies == [body]


def test_a_document_that_only_looks_like_an_envelope_is_taken_as_idoc_xml(served: Served):
    body = LOIPRO.replace(b"<LOIPRO05 ", b"<!-- <Envelope> --><LOIPRO05 ", 1).split(b"?>", 1)[1]
    response = post(served.url, body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    assert served.ingest.bodies == [body]


def test_a_broker_that_cannot_confirm_in_time_is_503_send_again(served: Served):
    served.ingest.error = TransientError("the broker did not confirm 1 message(s) within 120 s")
    response = post(served.url, LOIPRO)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "send again" in response.json()["error"]
    assert served.ingest.calls == []  # nothing was taken: SAP keeps it and sends it again
    served.ingest.error = None
    assert post(served.url, LOIPRO).status_code == 200
    assert served.ingest.bodies == [LOIPRO]


def test_the_soap_form_hears_a_503_as_a_server_fault(served: Served):
    served.ingest.error = TransientError("the ledger is locked")
    response = post(served.url, soap_wrapped(LOIPRO))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    fault = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault.findtext("faultcode") == "soap-env:Server"


def test_a_ledger_that_refuses_is_500_with_the_reason(served: Served):
    served.ingest.error = PermanentError("the ledger schema is version 3, this bridge needs 4")
    response = post(served.url, LOIPRO)
    assert response.status_code == 500
    assert "schema is version 3" in response.json()["error"]


def test_only_post_is_served(served: Served):
    assert httpx.put(served.url, content=b"<x/>", timeout=10).status_code == 405


# -- client and logical system ---------------------------------------------------------------


def test_an_idoc_from_the_configured_system_is_accepted():
    ingest = FakeIngest()
    for url in serve(receiver_for(ingest, client="100", logical_system="S4HCLNT100")):
        assert post(url + PATH, LOIPRO).status_code == 200
    assert ingest.bodies == [LOIPRO]


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"logical_system": "ERPCLNT200"}, "sent by logical system S4HCLNT100, this source is ERPCLNT200"),
        ({"client": "200"}, "comes from client 100, this source is client 200"),
    ],
)
def test_an_idoc_from_another_system_is_400_and_not_ingested(settings, reason):
    ingest = FakeIngest()
    for url in serve(receiver_for(ingest, **settings)):
        response = post(url + PATH, LOIPRO)
        assert response.status_code == 400
        assert reason in response.json()["error"]
        assert "IDoc 0000000000430094" in response.json()["error"]
    assert ingest.calls == []


# -- credentials and the adapter's sources ---------------------------------------------------


def test_credentials_missing_are_a_config_error_naming_both_variables():
    for env in ({}, {"SAP_INBOUND_USER": "u"}, {"SAP_INBOUND_PASSWORD": "p"}):
        with pytest.raises(ConfigError) as caught:
            credentials_from_env(IDocReceiverSettings(enabled=True), env)
        assert "SAP_INBOUND_USER and SAP_INBOUND_PASSWORD" in str(caught.value)


def test_the_password_may_come_from_a_file_and_never_shows(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from-file-91ab\n", encoding="utf-8")
    env = {"SAP_INBOUND_USER": "SAPIDOC", "SAP_INBOUND_PASSWORD_FILE": str(secret)}
    credentials = credentials_from_env(IDocReceiverSettings(), env)
    assert credentials.password == "from-file-91ab"
    assert "from-file" not in repr(credentials)


def test_the_adapter_builds_the_receiver_from_its_settings_and_env():
    ingest = FakeIngest()
    settings = SapSourceSettings.model_validate(
        {"receiver": {"enabled": True, "path": "/sap/in", "user_env": "U", "password_env": "P"}}
    )
    context = SourceContext(
        system="sap", settings=settings, ingest=ingest, codec=CODEC, env={"U": "u", "P": "p"}
    )
    assert adapter.sources is sources
    [receiver] = sources(context)
    assert [(r.method, r.path) for r in receiver.routes] == [("POST", "/sap/in")]
    for url in serve(receiver):
        assert post(url + "/sap/in", LOIPRO, auth=("u", "p")).status_code == 200
    assert ingest.bodies == [LOIPRO]


def test_an_enabled_receiver_without_credentials_refuses_to_start():
    settings = SapSourceSettings.model_validate({"receiver": {"enabled": True}})
    with pytest.raises(ConfigError, match="SAP_INBOUND_USER and SAP_INBOUND_PASSWORD"):
        sources(SourceContext(system="sap", settings=settings, ingest=FakeIngest(), env={}))


def test_without_settings_there_is_no_source():
    assert sources(SourceContext(system="sap", settings=None, ingest=FakeIngest(), env={})) == []


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"receiver": {"enabled": True, "token_env": "X"}}, "receiver.token_env"),
        ({"client": "1000"}, "client"),
        ({"logical_system": "s4h client"}, "logical_system"),
        ({"file_port": {"poll_s": 5}}, "file_port.directory"),
        ({"file_port": {"directory": "/x", "pattern": "in/*.xml"}}, "file_port.pattern"),
        ({"receiver": {"password_env": "SAP PASSWORD"}}, "receiver.password_env"),
    ],
)
def test_wrong_settings_are_refused_naming_the_key(section, key):
    with pytest.raises(ValidationError) as caught:
        SapSourceSettings.model_validate(section)
    [error] = caught.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == key


def test_a_client_written_as_a_number_is_read_as_text():
    assert SapSourceSettings.model_validate({"client": 100}).client == "100"


# -- through the runtime as `bridge run` builds it -------------------------------------------



def test_an_idoc_posted_to_the_running_bridge_becomes_an_order_event(tmp_path, monkeypatch):
    monkeypatch.setenv("SAP_INBOUND_USER", USER)
    monkeypatch.setenv("SAP_INBOUND_PASSWORD", PASSWORD)
    port = free_port()
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        f"http_host: 127.0.0.1\nhttp_port: {port}\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        "sources:\n  sap:\n    timezone: UTC\n    logical_system: S4HCLNT100\n    receiver: {enabled: true}\n"
    )
    settings = load_settings(config, env={})
    broker = StubBroker()
    runtime = Runtime(settings, broker=StubConnector(broker))
    runtime.start()
    try:
        names = names_for(settings)
        broker.bind("mes-side", names.mes_exchange)  # the MES's own queue
        url = f"http://127.0.0.1:{port}{PATH}"
        assert post(url, LOIPRO, auth=(USER, "wrong")).status_code == 401
        response = post(url, soap_wrapped(LOIPRO))
        assert response.status_code == 200, response.text
        [raw] = broker.published(names.inbound_exchange)  # confirmed before the answer
        assert raw.message_id.startswith("sap:S4HCLNT100:0000000000430094:")
        assert runtime.ledger.raw_payload(raw.message_id) is not None

        deadline = time.monotonic() + 10
        while not broker.messages("mes-side") and time.monotonic() < deadline:
            time.sleep(0.02)
        [event] = broker.messages("mes-side")
        assert event.routing_key == "order.released"
        assert event.message_id == "sap:S4HCLNT100:0000000000430094:order"
        assert json.loads(event.body)["payload"]["order_id"] == "1895938"
        assert post(url, b"<LOIPRO05/>").status_code == 400  # kept as a dead letter
        assert len(broker.published(names.inbound_exchange)) == 2
    finally:
        runtime.stop()


def test_the_bridge_refuses_to_start_an_enabled_receiver_without_credentials(tmp_path, monkeypatch):
    for name in ("SAP_INBOUND_USER", "SAP_INBOUND_PASSWORD", "SAP_INBOUND_USER_FILE", "SAP_INBOUND_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\nbroker: {prefix: t}\n"
        "sources:\n  sap:\n    receiver: {enabled: true}\n"
    )
    runtime = Runtime(load_settings(config, env={}), broker=StubConnector(StubBroker()))
    with pytest.raises(ConfigError, match="set SAP_INBOUND_USER and SAP_INBOUND_PASSWORD") as caught:
        runtime.start(serve_http=False)
    from bridge.redaction import redact

    assert "set SAP_INBOUND_USER" in redact(str(caught.value))  # what the CLI prints, after masking
