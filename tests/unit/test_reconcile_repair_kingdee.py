"""``bridge reconcile run --repair`` against the K/3 Cloud simulator, on the shipped jobs of
examples/kingdee-loop.yaml: a report the bridge never posted is re-sent from the raw archive, a
dead-lettered one is replayed from its dead-letter queue, both pass the route's deliver stage
once however often the repair runs, and a later run reports them resolved; a report K/3
acknowledged and users changed there, and an order only the MES holds, stay open with the
reason; an order the MES holds an older version of has the poller's watermark set back, and
the poller then reads it again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.kingdee.poller import KingdeeFeed
from adapters.kingdee.settings import KingdeeConnection
from bridge.adapter.polling import Poller, Watermark
from bridge.broker.messages import Headers, OutMessage
from bridge.broker.names import Names
from bridge.broker.stub import StubBroker
from bridge.broker.stub_channel import StubDeadLetterStore
from bridge.config import load_settings
from bridge.ledger import Ledger
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile.runner import JobRun, run_job
from bridge.runtime import names_for, topology_for

from .kingdee_support import ACCT, APP_ID, USER, kingdee_sink, report, simulator
from .test_reconcile_shipped_kingdee import TODAY, World, _archive, _deliver_orders, _env, _lot, _reports

ROOT = Path(__file__).resolve().parents[2]
DEAD = report("R-5", yield_quantity={"value": "2", "unit": "Pcs"}, scrap_quantity=None, produced=[_lot("L-R-5", "2")],
              consumed=[_lot("B-4715", "1", "RM-200", "kg")])


@dataclass
class Repairs:
    world: World
    broker: StubBroker
    names: Names

    def run(self, job: str, *, repair: bool = False) -> JobRun:
        store = StubDeadLetterStore(self.broker)
        return run_job(job, self.world.settings, self.world.ledger, env=_env(self.world.sim), today=TODAY,
                       repair=repair, store=lambda: store, by="tester")

    def deliver_queued(self) -> list[str]:
        """The kingdee route's deliver stage over what waits in its queue; the decisions."""
        queue = self.names.deliver_queue("kingdee")
        channel = self.broker.channel(name="deliver")
        channel.consume(queue)
        batch = channel.get_batch(self.broker.depth(queue), 0.0)
        stage = RemoteDeliverStage("kingdee", queue, kingdee_sink(self.world.sim), self.world.ledger)
        try:
            decisions = [str(o.note.get("decision")) for o in stage.process(batch)]
        finally:
            stage.close()
        for delivery in batch:
            channel._ack_one(delivery.delivery_tag)
        channel.close()
        return decisions

    def bills_of(self, report_id: str) -> list[dict[str, Any]]:
        return [b for b in self.world.sim.bills("PRD_MORPT") if b.get("FDescription") == f"MES:{report_id}"]


@pytest.fixture
def repairs(tmp_path: Path) -> Iterator[Repairs]:
    with simulator() as sim:
        env = {**_env(sim), "BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
        settings = load_settings(ROOT / "examples/kingdee-loop.yaml", env=env)
        settings = settings.model_copy(update={"mappings_dir": ROOT / "mappings"})
        ledger = Ledger.connect(settings.database_url)
        reports = [*_reports(), DEAD]
        _archive(ledger, reports)
        world = World(sim, settings, ledger, reports)
        world.post([r for r in reports if r["payload"]["report_id"] not in ("R-3", "R-5")])
        world.change_row("PRD_MORPT", "R-4", FQuaQty=3.5)
        _deliver_orders(world)
        broker = StubBroker()
        broker.declare(topology_for(settings))
        names = names_for(settings)
        _dead_letter(ledger, broker, names, DEAD)
        try:
            yield Repairs(world, broker, names)
        finally:
            ledger.close()


def _dead_letter(ledger: Ledger, broker: StubBroker, names: Names, envelope: dict[str, Any]) -> None:
    """R-5 as the pipeline leaves a report K/3 refused: its first call refused in the call
    ledger, its event in the route's dead-letter queue."""
    queue = names.deliver_queue("kingdee")
    call = f"{envelope['message_id']}:save:PRD_MORPT"
    ledger.remote.start("kingdee", call, message_id=envelope["message_id"], operation="save")
    ledger.remote.refused("kingdee", call, "Kingdee Save of PRD_MORPT for MES:R-5: 物料不存在 (MsgCode 11)")
    channel = broker.channel(name="seed")
    channel.publish([OutMessage(
        exchange="", routing_key=Names.dead_letter_queue(queue), body=json.dumps(envelope).encode(),
        message_id=envelope["message_id"], type="report.created", content_type="application/json",
        headers={Headers.ORIGINAL_EXCHANGE: names.canonical_exchange, Headers.ORIGINAL_ROUTING_KEY: "report.created",
                 Headers.STAGE: "deliver", Headers.ERROR_CLASS: "PermanentError", Headers.ENTITY: "report",
                 Headers.EVENT: "created", Headers.VERSION: envelope["version"], Headers.BUSINESS_KEY: "R-5"},
    )])
    channel.close()


def _actions(run: JobRun) -> dict[tuple[str, ...], str]:
    return {(*d.key.values(), d.field or ""): d.action or "" for d in run.open}


def test_a_run_without_repair_says_what_it_would_do_and_changes_nothing(repairs: Repairs) -> None:
    run = repairs.run("quantities")
    actions = _actions(run)
    assert actions[("MO001001-1", "yield")] == ("report R-3: never delivered; report R-5: refused by the ERP "
                                                "(Kingdee Save of PRD_MORPT for MES:R-5: 物料不存在 (MsgCode 11)), "
                                                "dead-lettered; --repair sends R-3, R-5 again")
    r4 = actions[("MO001001-2", "yield")]
    assert r4.startswith("kingdee (route kingdee) acknowledged every MES report of it (report R-2 as PRD_MORPT ")
    assert "; report R-4 as PRD_MORPT " in r4
    assert r4.endswith("changed or removed in the ERP since; correct it there or resolve with a reason")
    assert run.repaired == 0
    assert repairs.broker.depth(repairs.names.deliver_queue("kingdee")) == 0
    assert repairs.broker.depth(Names.dead_letter_queue(repairs.names.deliver_queue("kingdee"))) == 1
    stored = {d.id: d.action for d in repairs.world.ledger.discrepancies.list(job="quantities")}
    assert stored == {d.id: d.action for d in run.open}


def test_repair_re_sends_and_replays_once_and_the_next_run_resolves_them(repairs: Repairs) -> None:
    deliver_queue = repairs.names.deliver_queue("kingdee")
    first = repairs.run("quantities", repair=True)
    text = _actions(first)[("MO001001-1", "yield")]
    assert text == ("report R-3: re-sent it from the raw archive to kingdee; report R-5: replayed its dead letter "
                    "to kingdee; the next run checks it")
    assert first.repaired >= 1
    assert repairs.broker.depth(Names.dead_letter_queue(deliver_queue)) == 0
    # the consumption and genealogy jobs find the same two reports missing and send them again:
    # the deliver stage takes each once
    repairs.run("consumption", repair=True)
    r3 = next(r for r in repairs.world.reports if r["payload"]["report_id"] == "R-3")
    queued = repairs.broker.messages(deliver_queue)
    assert sorted(d.message_id or "" for d in queued) == sorted([r3["message_id"], DEAD["message_id"]] * 2)
    assert sorted(repairs.deliver_queued()) == ["applied", "applied", "duplicate", "duplicate"]
    assert len(repairs.bills_of("R-3")) == 1
    assert len(repairs.bills_of("R-5")) == 1
    again = repairs.run("quantities", repair=True)
    assert _actions(again).keys() == {("MO001001-2", "yield")}  # R-4, changed in K/3, stays
    assert {tuple(d.key.values()) for d in again.resolved} == {("MO001001-1",)}
    assert repairs.broker.depth(deliver_queue) == 0  # nothing left to send
    assert len(repairs.bills_of("R-3")) == 1


def test_orders_repair_sets_the_poller_back_and_leaves_the_order_only_the_mes_has(repairs: Repairs) -> None:
    ledger, sim = repairs.world.ledger, repairs.world.sim
    ledger.positions.set("kingdee:PRD_MO", Watermark(datetime(2030, 1, 1)).to_text(), by="poller")
    client = KingdeeConnection(url=sim.url, acct_id=ACCT, user=USER, app_id=APP_ID).client("test", _env(sim))
    taken: list[Any] = []

    class Context:
        positions = ledger.positions
        system = "kingdee"

        @staticmethod
        def ingest(items: Any) -> list[Any]:
            taken.extend(items)
            return []

    poller = Poller("kingdee", Context(), [KingdeeFeed(client, "PRD_MO", page_size=10)], poll_s=1, overlap_s=1)
    try:
        assert poller.poll_once() == 0  # the watermark is past the order's change
        told = _actions(repairs.run("orders"))
        assert "--repair sets the kingdee poller's PRD_MO watermark back to" in told[("MO001001-2", "")]
        assert "does not hold order MO009999-1" in told[("MO009999-1", "")]
        run = repairs.run("orders", repair=True)
        actions = _actions(run)
        assert "set the kingdee poller's PRD_MO watermark back from 2030-01-01 00:00:00" in actions[("MO001001-2", "")]
        assert "does not hold order MO009999-1" in actions[("MO009999-1", "")]
        saved = ledger.positions.get("kingdee:PRD_MO")
        assert saved is not None
        assert saved.updated_by == "reconcile orders (tester)"
        assert Watermark.from_text(saved.position, "position").modified < datetime(2030, 1, 1)
        assert poller.poll_once() == 1  # the order's bill, read again
        assert run.repaired == 1
    finally:
        client.close()
