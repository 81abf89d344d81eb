"""The reconciliation jobs shipped in examples/kingdee-loop.yaml, run as shipped against the K/3
Cloud simulator: seeded with one discrepancy of every kind, each job finds exactly those (no
false positives on the matching rest, units converted), and a later run after the gaps are
closed reports them resolved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.kingdee.reconcile_views import KINGDEE_VIEWS
from adapters.kingdee.simulator import KingdeeSimulator
from bridge.config import load_settings
from bridge.ledger import Ledger, RawRecord
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile.runner import JobRun, run_job
from bridge.reconcile.views import ViewRequest
from tests.contract.sink import delivery_of

from .kingdee_support import ACCT, APP_ID, APP_SECRET, USER, kingdee_sink, report, simulator
from .test_kingdee_query import query_of

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 5)
ORDER_1, ORDER_2 = "MO001001-1", "MO001001-2"


def _lot(lot: str, quantity: str, material: str = "FG-100", unit: str = "Pcs") -> dict[str, Any]:
    line = {"material_id": material, "quantity": {"value": quantity, "unit": unit}, "site": "100",
            "storage_location": "FG01" if material == "FG-100" else "RM01"}
    return {**line, "lot_id": lot} if lot else line


def _reports() -> list[dict[str, Any]]:
    return [
        report("R-1"),                                                  # matches (consumed 75.25 kg)
        report("R-2", order=ORDER_2, yield_quantity={"value": "10", "unit": "Pcs"}, scrap_quantity=None,
               produced=[_lot("L-R-2", "10")], consumed=[_lot("B-4712", "2500", "RM-200", "g")]),  # g vs kg: converted
        report("R-3", yield_quantity={"value": "5", "unit": "Pcs"}, produced=[_lot("L-R-3", "5")],
               consumed=[_lot("B-4713", "1", "RM-200", "kg")]),         # the bridge never posts it
        report("R-4", order=ORDER_2, yield_quantity={"value": "4", "unit": "Pcs"}, produced=[_lot("L-R-4", "4")],
               consumed=[_lot("B-4714", "3", "RM-200", "kg")]),         # K/3 users edit it afterwards
    ]


@dataclass
class World:
    sim: KingdeeSimulator
    settings: Any
    ledger: Ledger
    reports: list[dict[str, Any]]

    def run(self, job: str) -> JobRun:
        return run_job(job, self.settings, self.ledger, env=_env(self.sim), today=TODAY)

    def post(self, envelopes: list[dict[str, Any]], first_tag: int = 1) -> None:
        stage = RemoteDeliverStage("kingdee", "q.kingdee", kingdee_sink(self.sim), self.ledger)
        try:
            for tag, envelope in enumerate(envelopes, first_tag):
                [outcome] = stage.process([delivery_of(envelope, tag)])
                assert outcome.note["decision"] == "applied", outcome
        finally:
            stage.close()

    def change_row(self, form: str, report_id: str, **fields: Any) -> None:
        [bill] = [b for b in self.sim.bills(form) if b.get("FDescription") == f"MES:{report_id}"]
        self.sim.change_bill(form, bill["FBillNo"], {"FEntity": [{"FEntryID": bill["FEntity"][0]["FEntryID"], **fields}]})


def _env(sim: KingdeeSimulator) -> dict[str, str]:
    return {"KINGDEE_URL": sim.url, "KINGDEE_ACCT_ID": ACCT, "KINGDEE_USER": USER, "KINGDEE_APP_ID": APP_ID,
            "KINGDEE_APP_SECRET": APP_SECRET, "MES_FEEDBACK_TOKEN": "t"}


def _archive(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    """What the MES sent the bridge: its reports in the raw archive, as they came."""
    ledger.archive_raw([RawRecord(message_id=f"mes:{e['payload']['report_id']}", source_system="mes",
                                  document_type="report", document_key=e["payload"]["report_id"],
                                  payload=json.dumps(e).encode(), content_type="application/json") for e in envelopes])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("kingdee-reconcile")
    with simulator() as sim:
        env = {**_env(sim), "BRIDGE_DATABASE_URL": f"sqlite:///{folder / 'ledger.sqlite'}"}
        settings = load_settings(ROOT / "examples/kingdee-loop.yaml", env=env)
        settings = settings.model_copy(update={"mappings_dir": ROOT / "mappings"})
        ledger = Ledger.connect(settings.database_url)
        reports = _reports()
        _archive(ledger, reports)
        world = World(sim, settings, ledger, reports)
        world.post([r for r in reports if r["payload"]["report_id"] != "R-3"])
        world.change_row("PRD_MORPT", "R-4", FQuaQty=3.5)            # quantity mismatch: yield -0.5
        world.change_row("PRD_PickMtrl", "R-4", FActualQty=3, FUnitID={"FNumber": "Pcs"})  # kg vs Pcs: no conversion
        _deliver_orders(world)
        try:
            yield world
        finally:
            ledger.close()


def _deliver_orders(world: World) -> None:
    """The orders the bridge delivered to the MES: order 1 as K/3 holds it now, order 2 an older
    version of it (stale), and an order K/3 does not hold (missing in the ERP)."""
    query = query_of(world.sim)
    try:
        [one] = KINGDEE_VIEWS["orders"](query, ViewRequest(keys={ORDER_1}))
        [two] = KINGDEE_VIEWS["orders"](query, ViewRequest(keys={ORDER_2}))
    finally:
        query.close()
    assert one.version
    assert two.version
    quantity = {"value": str(one.values["quantity"].value), "unit": one.values["quantity"].unit}
    older = str(int(two.version) - 1).zfill(len(two.version))
    world.ledger.remote.remember_orders({
        ORDER_1: ("m-1", {"quantity": quantity, "material_id": "FG-100", "version": one.version}),
        ORDER_2: ("m-2", {"quantity": {"value": "40", "unit": "Pcs"}, "material_id": "FG-100", "version": older}),
        "MO009999-1": ("m-3", {"quantity": {"value": "1", "unit": "Pcs"}, "version": "1"}),
    })


def _found(run: JobRun) -> set[tuple[Any, ...]]:
    return {(d.kind, tuple(d.key.values()), d.field, d.delta) for d in run.open}


def test_orders_finds_the_stale_order_and_the_one_only_the_bridge_delivered(world: World) -> None:
    run = world.run("orders")
    assert _found(run) == {("stale", (ORDER_2,), None, None), ("missing_in_source", ("MO009999-1",), None, None)}
    assert run.summary.matched == 1


def test_quantities_finds_the_unposted_report_and_the_edited_one_per_order(world: World) -> None:
    run = world.run("quantities")
    # R-3 (5 yield, 0.5 scrap) never posted: K/3 has less on order 1; R-4 edited 4 -> 3.5 on order 2
    assert _found(run) == {("quantity_mismatch", (ORDER_1,), "yield", "-5"),
                           ("quantity_mismatch", (ORDER_1,), "scrap", "-0.5"),
                           ("quantity_mismatch", (ORDER_2,), "yield", "-0.5")}


def test_consumption_converts_grams_and_finds_the_missing_and_the_unconvertible(world: World) -> None:
    run = world.run("consumption")
    assert _found(run) == {("missing_in_target", (ORDER_1, "RM-200", "B-4713"), None, None),
                           ("unit_mismatch", (ORDER_2, "RM-200", "B-4714"), "quantity", None)}
    [unit] = [d for d in run.open if d.kind == "unit_mismatch"]
    assert (unit.source_value, unit.source_unit, unit.target_value, unit.target_unit) == ("3", "kg", "3", "Pcs")


def test_genealogy_finds_the_lot_and_the_edge_the_erp_lacks(world: World) -> None:
    run = world.run("genealogy")
    assert _found(run) == {("missing_in_target", (ORDER_1, "L-R-3", ""), None, None),
                           ("missing_in_target", (ORDER_1, "L-R-3", "B-4713"), None, None)}


def test_a_later_run_resolves_what_was_put_right(world: World) -> None:
    world.post([r for r in world.reports if r["payload"]["report_id"] == "R-3"], first_tag=10)
    run = world.run("genealogy")
    assert run.open == []
    assert run.result.resolved == 2
    assert {tuple(d.key.values()) for d in run.resolved} == {(ORDER_1, "L-R-3", ""), (ORDER_1, "L-R-3", "B-4713")}
    assert all(d.resolved_by == "reconcile run" for d in run.resolved)
