"""``bridge ingest`` rides through a broker that is not there yet and fails only after its deadline.

The runtime is replaced by one on the in-memory stub broker, whose channel can be down; the
command line, its output and its one-line error are the real ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import bridge.runtime
from bridge.broker.stub import StubBroker
from bridge.cli import main
from bridge.codecs import codec_for
from bridge.errors import TransientError
from bridge.ledger import Ledger
from bridge.pipeline import Ingestor
from bridge.runtime import names_for, topology_for

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
FILES = ("LOIPRO05_S4HANA_Original.xml", "BATMAS03_example.xml", "MATMAS05_DMC_R1CH01007_raw.xml")


class DownChannel:
    """A stub channel that is not connected until ``up_at`` (monotonic seconds)."""

    def __init__(self, channel: Any, up_at: float) -> None:
        self.channel = channel
        self.up_at = up_at

    def wait_ready(self, timeout: float) -> bool:
        time.sleep(max(0.0, min(timeout, self.up_at - time.monotonic())))
        return time.monotonic() >= self.up_at

    def publish(self, messages: Sequence[Any], timeout: float = 30.0) -> None:
        self.channel.publish(messages, timeout)


class StubRuntime:
    """``bridge.runtime.Runtime`` on a stub broker: fails to start ``start_failures`` times."""

    start_failures: ClassVar[int] = 0
    broker_down_for: ClassVar[float] = 0.0
    ledger_path: ClassVar[Path]
    last: ClassVar[StubRuntime | None] = None

    def __init__(self, settings: Any, roles: Sequence[str]) -> None:
        assert tuple(roles) == ("ingest",)
        self.settings = settings
        self.broker = StubBroker()
        self.broker.declare(topology_for(settings))
        self.ledger: Ledger | None = None
        StubRuntime.last = self

    def start(self, *, serve_http: bool, connect_wait: float) -> None:
        assert not serve_http
        if StubRuntime.start_failures:
            StubRuntime.start_failures -= 1
            raise TransientError("cannot connect to RabbitMQ: [Errno 111] Connection refused")
        self.ledger = Ledger.connect(f"sqlite:///{self.ledger_path}")

    def ingestor(self, *, deadline: float, deadline_setting: str) -> Ingestor:
        channel = DownChannel(self.broker.channel(name="ingest"), time.monotonic() + self.broker_down_for)
        return Ingestor(
            names_for(self.settings),
            channel,
            self.ledger,
            codec_for=codec_for,
            deadline=deadline,
            deadline_setting=deadline_setting,
        )

    def stop(self) -> None:
        if self.ledger is not None:
            self.ledger.close()


@pytest.fixture
def stub_runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[type[StubRuntime]]:
    monkeypatch.setattr(bridge.runtime, "Runtime", StubRuntime)
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    StubRuntime.ledger_path = tmp_path / "ledger.sqlite"
    StubRuntime.start_failures = 0
    StubRuntime.broker_down_for = 0.0
    root = logging.getLogger()
    level = root.level
    yield StubRuntime
    for handler in [h for h in root.handlers if getattr(h, "bridge_handler", False)]:
        root.removeHandler(handler)  # bridge ingest configured logging onto CliRunner's stderr
    root.setLevel(level)


def ingest(*options: str) -> tuple[int, str, str]:
    files = [str(CASES / name) for name in FILES]
    result = CliRunner().invoke(main, ["ingest", "--source-system", "sap", *options, *files], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_prints_each_confirmed_document_and_a_summary(stub_runtime: type[StubRuntime]) -> None:
    code, out, err = ingest()
    assert code == 0, err
    assert [line.split("\t")[2] for line in out.splitlines()] == list(FILES)
    assert err.splitlines()[-1].startswith("3 document(s) ingested and confirmed by the broker in ")
    assert stub_runtime.last is not None
    assert stub_runtime.last.broker.depth("bridge.translate") == 3


def test_ingest_waits_for_a_broker_that_is_not_reachable_at_start_up(stub_runtime: type[StubRuntime]) -> None:
    stub_runtime.start_failures = 2
    code, out, err = ingest("--deadline", "30s")
    assert code == 0, err
    assert len(out.splitlines()) == 3
    assert "waiting for the broker and the ledger to start ingest: cannot connect to RabbitMQ" in err


def test_ingest_rides_through_a_broker_that_comes_back_within_the_deadline(stub_runtime: type[StubRuntime]) -> None:
    stub_runtime.broker_down_for = 1.5
    code, out, err = ingest("--deadline", "30s")
    assert code == 0, err
    assert len(out.splitlines()) == 3
    assert "; rode through 1 broker outage(s) (" in err.splitlines()[-1]
    assert "failed attempt(s), 0 message(s) published again), waiting " in err.splitlines()[-1]


def test_ingest_gives_up_after_the_deadline_with_one_line_naming_the_wait(stub_runtime: type[StubRuntime]) -> None:
    stub_runtime.broker_down_for = 3600
    code, out, err = ingest("--deadline", "1s")
    assert code == 1
    assert out == ""
    [error] = [line for line in err.splitlines() if line.startswith("bridge: error:")]
    assert error.startswith("bridge: error: gave up after 1.")
    assert error.endswith(
        "s waiting for the broker to confirm 3 message(s) (--deadline = 1 s): not connected to the broker"
    )


def test_a_deadline_that_is_not_a_duration_is_a_usage_error(stub_runtime: type[StubRuntime]) -> None:
    code, _out, err = ingest("--deadline", "soon")
    assert code == 2
    assert err.strip() == (
        "bridge: error: --deadline: invalid duration 'soon': expected e.g. '500ms', '5s', '5m', '1h', '7d' or seconds"
    )
