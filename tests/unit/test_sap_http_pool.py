"""The SAP client's HTTP: TLS verified by default, a CA bundle and a client certificate from the
settings, failures as the error table knows them, and a site's own WSDL (fields not optional)."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.http_pool import HttpPool, HttpStatusError, NeverConnected, PooledTransport
from adapters.sap.simulator import SapSimulator
from adapters.sap.soap_client import WSDL_DIR, SapSoapClient
from adapters.sap.target import SapTargetSettings
from bridge.errors import ConfigError, NotSentError, TransientError
from tests.polling import free_port

SEED = Path(__file__).resolve().parents[2] / "mappings" / "sap" / "cases" / "LOIPRO05_DMC_nonSAP_ERP.xml"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Plant test CA",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr"))
        (d / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                 "-CAcreateserial", "-days", "2", "-extfile", str(d / f"{name}.ext"), "-out", str(d / f"{name}.pem"))
    return {p.stem + p.suffix.replace(".", "_"): p for p in d.iterdir()}


class _Echo(http.server.BaseHTTPRequestHandler):
    status = 200

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/slow":
            time.sleep(1.0)
        status = 401 if self.path == "/401" else 200
        reply = b"<ok>" + (self.headers.get("Authorization") or "").encode() + b"|" + body + b"</ok>"
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def https(pki: dict[str, Path]) -> Iterator[Any]:
    def serve(require_client_cert: bool = False) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki["server_pem"], pki["server_key"])
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(pki["ca_pem"])
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}"

    servers: list[Any] = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_by_default_and_an_unknown_ca_is_a_configuration_error(https: Any) -> None:
    url = https()
    pool = HttpPool(SapTargetSettings(url=url), "BRIDGE", "pw")
    with pytest.raises(ConfigError, match="certificate does not verify.*ca_bundle"):
        pool.post(f"{url}/x", b"<a/>", {})


def test_the_ca_bundle_from_the_settings_verifies_sap_s_certificate(https: Any, pki: dict[str, Path]) -> None:
    url = https()
    reply = HttpPool(SapTargetSettings(url=url, ca_bundle=pki["ca_pem"]), "BRIDGE", "pw").post(f"{url}/x", b"<a/>", {})
    assert reply.status_code == 200
    assert reply.content == b"<ok>Basic QlJJREdFOnB3|<a/></ok>"  # BRIDGE:pw


def test_verify_false_is_possible_for_a_lab(https: Any) -> None:
    url = https()
    assert HttpPool(SapTargetSettings(url=url, verify=False), "U", "P").post(f"{url}/x", b"", {}).status_code == 200


def test_a_client_certificate_from_the_settings_is_presented(https: Any, pki: dict[str, Path]) -> None:
    url = https(require_client_cert=True)
    without = HttpPool(SapTargetSettings(url=url, ca_bundle=pki["ca_pem"]), "U", "P")
    with pytest.raises((ConnectionError, ConfigError)):
        without.post(f"{url}/x", b"", {})
    with_cert = HttpPool(SapTargetSettings(url=url, ca_bundle=pki["ca_pem"], client_cert=pki["client_pem"],
                                           client_key=pki["client_key"]), "U", "P")
    assert with_cert.post(f"{url}/x", b"", {}).status_code == 200


def test_an_unreadable_client_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "bridge.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="client certificate .*bridge.pem"):
        HttpPool(SapTargetSettings(url="https://sap", client_cert=bad), "U", "P")


def test_failures_come_out_as_the_error_table_knows_them() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pool = HttpPool(SapTargetSettings(url=url, timeout_s=0.3), "U", "P")
        with pytest.raises(NeverConnected, match="cannot connect"):
            pool.post(f"http://127.0.0.1:{free_port()}/x", b"", {})
        with pytest.raises(TimeoutError, match="did not answer within 0.3 s"):
            pool.post(f"{url}/slow", b"", {})
        transport = PooledTransport(pool, operation_timeout=5)
        with pytest.raises(HttpStatusError) as refused:
            transport.post(f"{url}/401", b"", {})
        assert refused.value.status == 401
    finally:
        server.shutdown()
        server.server_close()


def test_sap_that_cannot_be_reached_is_not_sent_and_an_unanswered_call_is_in_doubt() -> None:
    never = SapSoapClient(SapTargetSettings(url=f"http://127.0.0.1:{free_port()}"), "U", "P")
    with pytest.raises(NotSentError):
        never.call("BAPI_PRODORD_GET_LIST", {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = SapTargetSettings(url=f"http://127.0.0.1:{server.server_address[1]}", timeout_s=0.2,
                                     services={"BAPI_PRODORD_GET_LIST": {"path": "/slow"}})
        slow = SapSoapClient(settings, "U", "P")
        with pytest.raises(TransientError) as unanswered:
            slow.call("BAPI_PRODORD_GET_LIST", {})
        assert not isinstance(unanswered.value, NotSentError)
    finally:
        server.shutdown()
        server.server_close()


def test_a_site_wsdl_whose_fields_are_not_optional_still_leaves_absent_fields_out(tmp_path: Path) -> None:
    source = (WSDL_DIR / "BAPI_PRODORDCONF_CREATE_TT.wsdl").read_text(encoding="utf-8")
    site = tmp_path / "ZWS_CONF.wsdl"
    # the WSDL SOAMANAGER generates leaves minOccurs out of structure fields
    site.write_text(source.replace(' minOccurs="0"/>', "/>"), encoding="utf-8")
    today = time.strftime("%Y-%m-%d")
    with SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED]) as sim:
        settings = SapTargetSettings(url=sim.url, services={"BAPI_PRODORDCONF_CREATE_TT": {"wsdl": str(site)}})
        client = SapSoapClient(settings, "BRIDGE", "s3cret")
        assert client._service("BAPI_PRODORDCONF_CREATE_TT")[1] == frozenset()  # every absent field a SkipValue
        reply = client.call("BAPI_PRODORDCONF_CREATE_TT", {"TIMETICKETS": [
            {"ORDERID": "000208277437", "OPERATION": "0010", "YIELD": "1", "POSTG_DATE": today, "EX_IDENT": "SITE-1"}]})
    assert any(str(r.get("CONF_NO") or "").strip("0") for r in reply["DETAIL_RETURN"])


def test_a_configured_proxy_carries_the_call() -> None:
    seen: list[str] = []

    class Proxy(_Echo):
        def do_POST(self) -> None:
            seen.append(self.path)  # a proxy is asked for the absolute URL
            super().do_POST()

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        settings = SapTargetSettings(url="http://sap.plant.example:8000", proxy=f"http://127.0.0.1:{proxy.server_address[1]}")
        reply = HttpPool(settings, "BRIDGE", "pw").post("http://sap.plant.example:8000/sap/bc/srt/x?sap-client=100", b"<a/>", {})
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert reply.status_code == 200
    assert seen == ["http://sap.plant.example:8000/sap/bc/srt/x?sap-client=100"]
