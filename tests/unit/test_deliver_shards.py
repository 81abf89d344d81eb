"""A SAP route delivered by two shard processes: each order in one of them and in sequence, every
report posted once, a killed shard's events retried and its calls in doubt looked up first."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.simulator import SapSimulator
from adapters.sap.simulator.seeds import order_variants
from adapters.sap.sink import make_sap_sink
from adapters.sap.target import SapTargetSettings
from bridge.adapter.sink import SinkContext
from bridge.config import Settings
from bridge.errors import ConfigError, TransientError
from bridge.ledger import Ledger
from bridge.mapping.catalog import MappingCatalog
from bridge.pipeline.deliver_shards import ShardedDeliverStage, shard_of
from bridge.pipeline.outcome import OutcomeKind
from tests.contract.sink import delivery_of

ROOT = Path(__file__).resolve().parents[2]
CATALOG = MappingCatalog.load(ROOT / "mappings")
SEED = ROOT / "mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml"
BASE = 810000000
ORDERS = 6


def report(report_id: str, order: int) -> dict[str, Any]:
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:L1:{report_id}:report", "entity": "report",
        "event": "created", "version": "1", "occurred_at": "2026-12-03T10:00:00+08:00",
        "source": {"system": "mes", "instance": "L1", "document_type": "report", "document_id": report_id},
        "payload": {
            "report_id": report_id, "order_id": str(BASE + order), "operation_id": "10", "work_center": "WC01",
            "yield_quantity": {"value": "1", "unit": "ST"}, "final": False, "posting_date": "2026-12-03",
        },
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    seeds = order_variants(SEED, tmp_path_factory.mktemp("seeds"), ORDERS, BASE)
    with SapSimulator(user="BRIDGE", password="s3cret", seeds=seeds) as simulator:
        yield simulator


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    # the shard processes read the route's credentials from the environment they inherit
    monkeypatch.setenv("SHARD_SAP_USER", "BRIDGE")
    monkeypatch.setenv("SHARD_SAP_PASSWORD", "s3cret")


def settings_for(sim: SapSimulator, ledger_path: Path, **route: Any) -> Settings:
    return Settings.model_validate({
        "database_url": f"sqlite:///{ledger_path}", "mappings_dir": str(ROOT / "mappings"), "log_level": "WARNING",
        "routes": [{"name": "sap", "sink": "sap", "events": ["report.*"], "url": sim.url, "processes": 2,
                    "user_env": "SHARD_SAP_USER", "password_env": "SHARD_SAP_PASSWORD", "goods_movements": "separate",
                    "timeout_s": 2, **route}],
    })


def staged(settings: Settings, ledger: Ledger) -> ShardedDeliverStage:
    route = settings.routes[0]
    sink = make_sap_sink(SinkContext("sap", SapTargetSettings.model_validate(route.options), catalog=CATALOG))
    return ShardedDeliverStage("sap", "q.sap", sink, ledger, settings=settings, processes=route.processes)


def confirmations_of(sim: SapSimulator, prefix: str) -> list[Any]:
    return [c for c in sim.state.confirmations() if c.ex_ident.startswith(prefix)]


def test_the_shard_of_an_order_is_the_same_in_every_process_and_run() -> None:
    import zlib

    assert shard_of("order:42", 3) == zlib.crc32(b"order:42") % 3  # not hash(): salted per process
    assert {shard_of(f"order:{n}", 4) for n in range(40)} == {0, 1, 2, 3}


@pytest.mark.usefixtures("env")
def test_two_shards_post_every_report_once_each_order_in_sequence(tmp_path: Path, sim: SapSimulator) -> None:
    ledger_path = tmp_path / "ledger.sqlite"
    ledger = Ledger.connect(f"sqlite:///{ledger_path}")
    settings = settings_for(sim, ledger_path)
    stage = staged(settings, ledger)
    try:
        batch = [delivery_of(report(f"SQ{n:03d}", n % ORDERS + 1), n + 1) for n in range(24)]
        assert len({stage.shard_for(d) for d in batch}) == 2  # both shards have orders
        outcomes = stage.process(batch)
        assert [o.note.get("decision") for o in outcomes] == ["applied"] * 24
        again = stage.process(batch)  # redelivered: nothing posted twice
        assert [o.note.get("decision") for o in again] == ["duplicate"] * 24
    finally:
        stage.close()
        ledger.close()
    confirmations = confirmations_of(sim, "SQ")
    assert sorted(c.ex_ident for c in confirmations) == [f"SQ{n:03d}" for n in range(24)]
    for order in range(1, ORDERS + 1):
        mine = sorted((c for c in confirmations if c.order.lstrip("0") == str(BASE + order)), key=lambda c: c.key)
        idents = [c.ex_ident for c in mine]
        assert idents == sorted(idents), f"order {BASE + order} posted out of sequence: {idents}"


@pytest.mark.usefixtures("env")
def test_a_killed_shard_s_events_are_retried_and_posted_once(tmp_path: Path, sim: SapSimulator) -> None:
    ledger_path = tmp_path / "ledger.sqlite"
    ledger = Ledger.connect(f"sqlite:///{ledger_path}")
    stage = staged(settings_for(sim, ledger_path), ledger)
    batch = [delivery_of(report(f"KS{n:03d}", n % ORDERS + 1), n + 1) for n in range(24)]
    victim = stage._shards[0]
    assert victim is not None
    sim.faults.latency_ms = 300  # an order's four reports take over a second: killed midway
    try:
        threading.Timer(0.5, lambda: os.kill(victim.process.pid, signal.SIGKILL)).start()
        first = stage.process(batch)
        sim.faults.latency_ms = 0
        kinds = {stage.shard_for(d): set() for d in batch}
        for delivery, outcome in zip(batch, first, strict=True):
            kinds[stage.shard_for(delivery)].add(outcome.kind)
        assert OutcomeKind.RETRY in kinds[0]  # what it had not finished when it was killed
        assert all(isinstance(o.error, TransientError) for o in first if o.kind is OutcomeKind.RETRY)
        assert kinds[1] == {OutcomeKind.FORWARD}
        deadline = time.monotonic() + 30
        while True:  # the killed shard's calls stay in flight until their lease (timeout + 5 s) ends
            outcomes = stage.process(batch)
            if all(o.kind is OutcomeKind.FORWARD for o in outcomes) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert all(o.kind is OutcomeKind.FORWARD for o in outcomes)
        assert stage._shards[0] is not victim  # started again
    finally:
        sim.faults.latency_ms = 0
        stage.close()
        ledger.close()
    confirmations = confirmations_of(sim, "KS")
    assert sorted(c.ex_ident for c in confirmations) == [f"KS{n:03d}" for n in range(24)]  # each exactly once


@pytest.mark.usefixtures("env")
def test_a_shard_that_cannot_start_fails_the_start_and_says_why(tmp_path: Path, sim: SapSimulator) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    settings = settings_for(sim, tmp_path / "no" / "such" / "dir" / "ledger.sqlite")
    try:
        with pytest.raises((ConfigError, TransientError), match="ledger|database|sqlite"):
            staged(settings, ledger)
    finally:
        ledger.close()


def test_processes_is_refused_for_a_route_that_delivers_in_the_translate_process(tmp_path: Path) -> None:
    from bridge.broker.connector import StubConnector
    from bridge.broker.stub import StubBroker
    from bridge.runtime import Runtime

    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}", "mappings_dir": str(ROOT / "mappings"),
        "routes": [{"name": "mes", "sink": "mes", "events": ["#"], "processes": 2}],
    })
    runtime = Runtime(settings, roles=("deliver",), broker=StubConnector(StubBroker()))
    with pytest.raises(ConfigError, match="processes: 2 is for an ERP's route"):
        runtime.start(serve_http=False, connect_wait=1)
