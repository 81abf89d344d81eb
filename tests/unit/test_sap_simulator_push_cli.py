"""SAP simulator: --push-to against a tiny receiver, the `bridge simulate sap` command, and the
shared fault settings."""

from __future__ import annotations

import base64
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from adapters.sap.simulator import SapSimulator
from bridge.simulation.faults import FaultSettings, fault_options
from tests.unit.sap_sim_support import write_seeds

FLAT_MATMAS = Path(__file__).parents[2] / "mappings" / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc"


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, refuse_first: int) -> None:
        self.refusals_left = refuse_first
        self.received: list[tuple[str, str, bytes]] = []  # (content type, authorization, body)
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            refuse = self.server.refusals_left > 0
            self.server.refusals_left -= 1
            if not refuse:
                self.server.received.append((self.headers["Content-Type"], self.headers["Authorization"], body))
        self.send_response(503 if refuse else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(refuse_first=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_push_to_posts_every_seed_as_idoc_xml_with_basic_auth_retrying_until_2xx(
        tmp_path: Path, receiver: _Receiver) -> None:
    seeds = [*write_seeds(tmp_path), FLAT_MATMAS]
    url = f"http://127.0.0.1:{receiver.server_address[1]}/api/v1/sap/idoc"
    with SapSimulator(seeds=seeds, push_to=url, push_user="SAPPUSH", push_password="pw") as simulator:
        assert simulator.pusher is not None
        assert simulator.pusher.done.wait(timeout=30)
        results = simulator.pusher.results
    assert [r.status for r in results] == [200] * 4
    assert results[0].attempts == 2  # the first answer was 503
    expected_auth = "Basic " + base64.b64encode(b"SAPPUSH:pw").decode()
    assert {(ctype, auth) for ctype, auth, _ in receiver.received} == {("application/xml", expected_auth)}
    bodies = [body for _, _, body in receiver.received]
    assert bodies[:3] == [p.read_bytes() for p in seeds[:3]]  # XML seeds as they are
    flat_as_xml = etree.fromstring(bodies[3])
    assert flat_as_xml.tag == "MATMAS05"  # the flat seed rendered to IDoc-XML
    assert flat_as_xml.find("IDOC/EDI_DC40") is not None


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_bridge_simulate_sap_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path)
    env = {**os.environ, "SAP_SIM_PASSWORD": "from-env"}
    args = [sys.executable, "-m", "bridge.cli", "simulate", "sap", "--port", "0", "--user", "CLIUSER",
            *(a for seed in seeds for a in ("--seed", str(seed)))]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        first = lines.get(timeout=60)
        assert first.startswith("SAP simulator: index http://127.0.0.1:")
        index_url = first.split()[3]
        assert requests.get(index_url, timeout=10).status_code == 401
        index = requests.get(index_url, auth=("CLIUSER", "from-env"), timeout=10).json()
        assert "BAPI_PRODORDCONF_CREATE_TT" in index["services"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert lines.get(timeout=10).strip() == "SAP simulator stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_the_simulate_group_lists_the_sap_simulator() -> None:
    from bridge.cli import main

    result = CliRunner().invoke(main, ["simulate", "--help"])
    assert result.exit_code == 0
    assert "sap" in result.output


def test_fault_options_build_fault_settings_and_refuse_bad_rates() -> None:
    seen: list[FaultSettings] = []

    @click.command()
    @click.option("--name", default="x")
    @fault_options
    def command(name: str, faults: FaultSettings) -> None:
        seen.append(faults)

    result = CliRunner().invoke(command, ["--fail-rate", "0.3", "--latency-ms", "50", "--lock-rate", "1",
                                          "--lose-reply-rate", "0", "--random-seed", "7"])
    assert result.exit_code == 0, result.output
    assert (seen[0].fail_rate, seen[0].latency_ms, seen[0].lock_rate, seen[0].seed) == (0.3, 50, 1.0, 7)
    assert CliRunner().invoke(command, ["--fail-rate", "1.5"]).exit_code == 2
    with pytest.raises(ValueError, match="lock_rate"):
        FaultSettings(lock_rate=-0.1)


def test_fault_draws_follow_the_rate_and_repeat_with_the_seed() -> None:
    always, never = FaultSettings(fail_rate=1.0), FaultSettings(fail_rate=0.0)
    assert all(always.should_fail() for _ in range(50))
    assert not any(never.should_fail() for _ in range(50))
    a, b = FaultSettings(lock_rate=0.5, seed=3), FaultSettings(lock_rate=0.5, seed=3)
    draws_a, draws_b = [a.should_lock() for _ in range(200)], [b.should_lock() for _ in range(200)]
    assert draws_a == draws_b
    assert 40 < sum(draws_a) < 160
