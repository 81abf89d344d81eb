"""The reconciliation jobs shipped in examples/yonyou-loop.yaml, run as shipped against the YonBIP
simulator: seeded with one discrepancy of every kind, each job finds exactly those (no false
positives on the matching rest, YonBIP's unit names met by the job's aliases), and a later run
after the gaps are closed reports them resolved.

The orders the bridge delivered to the MES are made as the pipeline makes them: the order's
detail translated by the Yonyou codec and mapping (its version the order's ``pubts``), its facts
kept as the deliver stage keeps them. The stale order is one the MES holds as it was before the
completion reports moved YonBIP's order (YonBIP gives the order a new ``pubts`` then)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.yonyou.codec import YonyouCodec
from adapters.yonyou.reconcile_views import YONYOU_VIEWS, order_version
from adapters.yonyou.simulator import YonyouSimulator
from adapters.yonyou.sink import LINES
from bridge.adapter.polling import Watermark
from bridge.config import load_settings
from bridge.ledger import Ledger, RawRecord
from bridge.pipeline.deliver import order_facts
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile.runner import JobRun, run_job
from bridge.reconcile.views import ViewRequest
from bridge.source_options import codec_options
from bridge.translate import Translator
from tests.contract.sink import delivery_of

from .test_yonyou_query import query_of
from .yonyou_support import APP_KEY, APP_SECRET, ORDER, TENANT, report, simulator, yonyou_sink

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 5)  # the reports' posting date (2026-12-03) and the orders' (12-01) in the 30-day window
LINE_10, LINE_20 = f"{ORDER}-10", f"{ORDER}-20"
UNKNOWN = "SCDD20261130000099-10"  # delivered to the MES, not in YonBIP


def _lot(lot: str, quantity: str, material: str = "FG-100", unit: str = "PCE") -> dict[str, Any]:
    return {"material_id": material, "lot_id": lot, "quantity": {"value": quantity, "unit": unit}, "site": "PLANT1",
            "storage_location": "WH-FG" if material == "FG-100" else "WH-RM"}


def _pcs(value: str) -> dict[str, str]:
    return {"value": value, "unit": "PCE"}


def _reports() -> list[dict[str, Any]]:
    return [
        report("R-1"),                                                  # matches (30 + 0.5 scrap, 75.25 KGM of B-4711)
        report("R-2", order=LINE_20, yield_quantity=_pcs("10"), scrap_quantity=None,
               produced=[_lot("L-R-2", "10")], consumed=[_lot("B-4712", "2.5", "RM-200", "KGM")]),  # YonBIP users edit it
        report("R-3", yield_quantity=_pcs("5"), produced=[_lot("L-R-3", "5")],
               consumed=[_lot("B-4713", "1", "RM-200", "KGM")]),        # the bridge never posts it
        report("R-4", order=LINE_20, yield_quantity=_pcs("4"), scrap_quantity=None, produced=[_lot("L-R-4", "4")],
               consumed=[_lot("B-4714", "2500", "RM-200", "G")]),       # grams: YonBIP books 2500 千克
    ]


@dataclass
class World:
    sim: YonyouSimulator
    settings: Any
    ledger: Ledger
    reports: list[dict[str, Any]]
    before: dict[str, dict[str, Any]]  # the order lines as the MES got them before any report

    def run(self, job: str) -> JobRun:
        return run_job(job, self.settings, self.ledger, env=_env(self.sim), today=TODAY)

    def post(self, envelopes: list[dict[str, Any]], first_tag: int = 1) -> None:
        stage = RemoteDeliverStage("yonyou", "q.yonyou", yonyou_sink(self.sim), self.ledger)
        try:
            for tag, envelope in enumerate(envelopes, first_tag):
                [outcome] = stage.process([delivery_of(envelope, tag)])
                assert outcome.note["decision"] == "applied", outcome
        finally:
            stage.close()

    def edit_line(self, document: str, report_id: str, **changes: Any) -> None:
        """A user's edit of the first line of the document the sink posted for ``report_id``."""
        with self.sim.state.lock:
            [doc] = [d for d in self.sim.state.store.all(document) if d.get("out_sys_id") == f"MES:{report_id}"]
            doc[LINES[document]][0].update(changes)
            self.sim.state.store.put(document, doc)

    def orders_now(self) -> dict[str, dict[str, Any]]:
        """The order lines as the poller delivers them now: YonBIP's detail, translated."""
        return _delivered_orders(self.sim, self.settings)

    def deliver(self, orders: dict[str, dict[str, Any]]) -> None:
        """What the deliver stage keeps of the order envelopes it delivered to the MES."""
        self.ledger.remote.remember_orders({
            order_id: (f"m-{order_id}-{e['version']}", {**order_facts(e["payload"]), "version": str(e["version"])})
            for order_id, e in orders.items()})


def _env(sim: YonyouSimulator) -> dict[str, str]:
    return {"YONYOU_URL": sim.url, "YONYOU_TENANT_ID": TENANT, "YONYOU_APP_KEY": APP_KEY,
            "YONYOU_APP_SECRET": APP_SECRET, "MES_FEEDBACK_TOKEN": "t"}


def _delivered_orders(sim: YonyouSimulator, settings: Any) -> dict[str, dict[str, Any]]:
    translator = Translator.create(mappings_dir=settings.mappings_dir, source_system="yonyou",
                                   codec_options=codec_options(settings).get("yonyou", {}))
    found = {}
    for order in sim.documents("productionorder"):
        detail = json.dumps({"code": "200", "message": "操作成功", "data": order}, ensure_ascii=False).encode()
        for document in translator.decode(detail, f"productionorder/detail {order['code']}"):
            for envelope in translator.map_document(document):
                found[envelope["payload"]["order_id"]] = envelope
    return found


def _archive(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    """What the MES sent the bridge: its reports in the raw archive, as they came."""
    ledger.archive_raw([RawRecord(message_id=f"mes:{e['payload']['report_id']}", source_system="mes",
                                  document_type="report", document_key=e["payload"]["report_id"],
                                  payload=json.dumps(e).encode(), content_type="application/json") for e in envelopes])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("yonyou-reconcile")
    with simulator() as sim:
        for lot in ("B-4712", "B-4713", "B-4714"):
            sim.seed_batch({"product": "RM-200", "batchno": lot, "producedate": "2026-11-25"})
        env = {**_env(sim), "BRIDGE_DATABASE_URL": f"sqlite:///{folder / 'ledger.sqlite'}"}
        settings = load_settings(ROOT / "examples/yonyou-loop.yaml", env=env)
        settings = settings.model_copy(update={"mappings_dir": ROOT / "mappings"})
        ledger = Ledger.connect(settings.database_url)
        reports = _reports()
        _archive(ledger, reports)
        world = World(sim, settings, ledger, reports, _delivered_orders(sim, settings))
        world.post([r for r in reports if r["payload"]["report_id"] != "R-3"])
        world.edit_line("finishedreport", "R-2", qualifiedQuantity=9.5, quantity=9.5)  # yield -0.5 on line 20
        now = world.orders_now()
        unknown = {**now[LINE_10], "version": "20261130080000000",
                   "payload": {**now[LINE_10]["payload"], "order_id": UNKNOWN}}
        world.deliver({LINE_10: now[LINE_10], LINE_20: world.before[LINE_20], UNKNOWN: unknown})
        try:
            yield world
        finally:
            ledger.close()


def _found(run: JobRun) -> set[tuple[Any, ...]]:
    return {(d.kind, tuple(d.key.values()), d.field, d.delta) for d in run.open}


def test_the_orders_view_versions_an_order_as_the_codec_versions_its_detail(world: World) -> None:
    now = world.orders_now()
    query = query_of(world.sim)
    try:
        records = {r.key[0]: r for r in YONYOU_VIEWS["orders"](query, ViewRequest(keys={LINE_10, LINE_20}))}
        [row] = query.records("order", keys={LINE_10})
    finally:
        query.close()
    assert {key: r.version for key, r in records.items()} == {LINE_10: now[LINE_10]["version"],
                                                              LINE_20: now[LINE_20]["version"]}
    assert row.facts["pubts"]  # the header's pubts, as listed
    assert world.before[LINE_20]["version"] < now[LINE_20]["version"]  # the reports moved the order
    assert len(now[LINE_10]["version"]) == 17


@pytest.mark.parametrize("pubts", ["2026-12-03 10:15:07", "2026-12-03 10:15:07.250", 1796271307250, "1796271307250"])
def test_order_version_gives_the_codec_digits_for_text_and_epoch_milliseconds(pubts: Any) -> None:
    detail = {"code": "200", "data": {"id": 1, "code": "SCDD1", "pubts": pubts,
                                      "orderProduct": [{"id": 2, "lineNo": 10}]}}
    [document] = YonyouCodec().decode(json.dumps(detail).encode(), origin="detail.json")
    assert document.version
    assert order_version(pubts) == document.version


@pytest.mark.parametrize("pubts", [None, "", "yesterday"])
def test_an_order_without_a_readable_pubts_has_no_version(pubts: Any) -> None:
    assert order_version(pubts) is None


def test_orders_finds_the_stale_order_and_the_one_only_the_bridge_delivered(world: World) -> None:
    run = world.run("orders")
    assert _found(run) == {("stale", (LINE_20,), None, None), ("missing_in_source", (UNKNOWN,), None, None)}
    assert run.summary.matched == 1
    actions = {d.key["order_id"]: d.action or "" for d in run.open}
    assert actions[LINE_20] == "the yonyou poller has not polled productionorder yet: it reads the order on its first poll"
    assert actions[UNKNOWN].startswith(f"yonyou (route yonyou) does not hold order {UNKNOWN} in the window")


def test_quantities_finds_the_unposted_report_and_the_edited_one_per_order_line(world: World) -> None:
    run = world.run("quantities")
    # R-3 (5 yield, 0.5 scrap) never posted: YonBIP has less on line 10; R-2 edited 10 -> 9.5 on line 20
    assert _found(run) == {("quantity_mismatch", (LINE_10,), "yield", "-5"),
                           ("quantity_mismatch", (LINE_10,), "scrap", "-0.5"),
                           ("quantity_mismatch", (LINE_20,), "yield", "-0.5")}
    assert {d.unit for d in run.open} == {"PCE"}  # the MES's unit: YonBIP's 件 met by the alias


def test_consumption_meets_yonbips_unit_names_and_finds_the_missing_and_the_unconvertible(world: World) -> None:
    run = world.run("consumption")
    assert _found(run) == {("missing_in_target", (LINE_10, "RM-200", "B-4713"), None, None),
                           ("unit_mismatch", (LINE_20, "RM-200", "B-4714"), "quantity", None)}
    [unit] = [d for d in run.open if d.kind == "unit_mismatch"]
    assert (unit.source_value, unit.source_unit, unit.target_value, unit.target_unit) == ("2500", "G", "2500", "千克")
    assert (run.summary.pairs, run.summary.matched) == (3, 2)  # B-4711 and B-4712: 千克 = KGM


def test_genealogy_finds_the_lot_and_the_edge_yonbip_lacks(world: World) -> None:
    run = world.run("genealogy")
    assert _found(run) == {("missing_in_target", (LINE_10, "L-R-3", ""), None, None),
                           ("missing_in_target", (LINE_10, "L-R-3", "B-4713"), None, None)}


def test_orders_repair_sets_the_poller_back_to_the_stale_orders_change(world: World) -> None:
    name = "yonyou:productionorder"
    world.ledger.positions.set(name, Watermark(datetime(2030, 1, 1)).to_text(), by="poller")
    try:
        run = run_job("orders", world.settings, world.ledger, env=_env(world.sim), today=TODAY, repair=True, by="tester")
        saved = world.ledger.positions.get(name)
        assert saved is not None
        assert saved.updated_by == "reconcile orders (tester)"
        moment = Watermark.from_text(saved.position, name).modified
        [stale] = [d for d in run.open if d.kind == "stale"]
        versions = (world.orders_now()[LINE_20]["version"], world.before[LINE_20]["version"])  # pubts digits
        earliest = min(datetime.strptime(str(v)[:14], "%Y%m%d%H%M%S") for v in versions)
        assert moment == earliest - timedelta(seconds=1)
        assert stale.action is not None
        assert stale.action.startswith("set the yonyou poller's productionorder watermark back from 2030-01-01 00:00:00")
        assert run.repaired == 1
    finally:
        world.ledger.positions.set(name, Watermark(datetime(2026, 1, 1)).to_text(), by="poller")


def test_a_later_run_resolves_what_was_put_right(world: World) -> None:
    world.deliver({LINE_20: world.orders_now()[LINE_20]})  # the poller delivers the order's change
    orders = world.run("orders")
    assert _found(orders) == {("missing_in_source", (UNKNOWN,), None, None)}
    assert [(d.kind, tuple(d.key.values())) for d in orders.resolved] == [("stale", (LINE_20,))]

    world.post([r for r in world.reports if r["payload"]["report_id"] == "R-3"], first_tag=10)
    run = world.run("genealogy")
    assert run.open == []
    assert run.result.resolved == 2
    assert {tuple(d.key.values()) for d in run.resolved} == {(LINE_10, "L-R-3", ""), (LINE_10, "L-R-3", "B-4713")}
    assert all(d.resolved_by == "reconcile run" for d in run.resolved)
    quantities = world.run("quantities")
    assert _found(quantities) == {("quantity_mismatch", (LINE_20,), "yield", "-0.5")}
    assert {(d.field, tuple(d.key.values())) for d in quantities.resolved} == {("yield", (LINE_10,)),
                                                                               ("scrap", (LINE_10,))}
