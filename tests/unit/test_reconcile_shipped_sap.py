"""The reconciliation jobs shipped in examples/sap-loop.yaml, run as shipped against the SAP
simulator: the MES's reports archived as the bridge received them, most posted through the SAP
sink (the example's own route settings), one discrepancy of every kind the SAP jobs can see
seeded; each job finds exactly those (no false positives on the matching rest: SAP's unit codes
meet the MES's through the sap_units aliases, KGM and GRM convert), and a later run after a gap
is closed reports it resolved."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.simulator import SapSimulator
from adapters.sap.sink import make_sap_sink
from bridge.adapter.sink import SinkContext
from bridge.config import adapter_route_settings, load_settings
from bridge.ledger import Ledger, RawRecord
from bridge.mapping.catalog import MappingCatalog
from bridge.pipeline.deliver import order_facts
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile.runner import JobRun, run_job
from bridge.translate import Translator
from tests.contract.sink import delivery_of

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml"  # order 208277437, plant DM01, ops 0009/0010/0020
POSTED_ON = "2026-12-03"  # the reports' posting date: SAP's POSTG_DATE and PSTNG_DATE
TODAY = date(2026, 12, 5)  # window 2026-11-05 .. 2026-12-05 (the jobs' 30d)
OPEN_PERIODS = ["2026/12", "2026/11"]  # SAP posts into December whatever day the test runs
ORDER_A, ORDER_B, ORDER_X = "208277437", "208277438", "208277499"
STOCK = [f"{m}:DM01:{b}=100000" for m, b in
         (("R1CH01007", "B-4711"), ("R1CH01007", "B-4712"), ("R1FOIL0001", "F-1"), ("R1FOIL0001", "F-2"))]
USER, PASSWORD = "BRIDGE", "sap-secret"


def qty(value: str, unit: str) -> dict[str, str]:
    return {"value": value, "unit": unit}


def line(material: str, lot: str | None, value: str, unit: str) -> dict[str, Any]:
    found: dict[str, Any] = {"material_id": material, "quantity": qty(value, unit), "site": "DM01"}
    return {**found, "lot_id": lot} if lot else found


def report(report_id: str, order: str, operation: str, yield_: dict[str, str], *, scrap: dict[str, str] | None = None,
           produced: Iterable[dict[str, Any]] = (), consumed: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "report_id": report_id, "order_id": order, "operation_id": operation, "work_center": "WC01",
        "yield_quantity": yield_, "final": False, "posting_date": POSTED_ON,
        "produced": list(produced), "consumed": list(consumed),
    }
    if scrap is not None:
        payload["scrap_quantity"] = scrap
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:LINE1:{report_id}:report", "entity": "report",
        "event": "created",
        "source": {"system": "mes", "instance": "LINE1", "document_type": "report", "document_id": report_id},
        "correlation_id": f"mes:LINE1:{report_id}", "version": "1", "occurred_at": f"{POSTED_ON}T10:00:00+08:00", "payload": payload,
    }


def _reports() -> list[dict[str, Any]]:
    """What the MES reported (all archived; RPT-3 never posted)."""
    return [
        report("RPT-1", ORDER_A, "0010", qty("3", "ST"), scrap=qty("0.5", "ST"),   # matches
               produced=[line("S1SP02677", "L-1", "3", "ST")],
               consumed=[line("R1CH01007", "B-4711", "10", "ST"), line("R1FOIL0001", "F-1", "1.25", "KGM")]),
        report("RPT-2", ORDER_A, "0010", qty("2", "C62"),                           # C62 goes to SAP as ST: an alias
               consumed=[line("R1CH01007", "B-4711", "5", "C62"), line("R1FOIL0001", "F-1", "500", "GRM"),
                         line("GLUE", None, "0.3", "KGM")]),                        # GRM as G: 1.25 KGM + 500 GRM
        report("RPT-3", ORDER_A, "0020", qty("4", "ST"),                            # the bridge never posts it
               produced=[line("S1SP02677", "L-3", "4", "ST")], consumed=[line("R1FOIL0001", "F-2", "0.2", "KGM")]),
        report("RPT-4", ORDER_B, "0010", qty("1", "ST"), scrap=qty("0.25", "ST"),   # SAP got a yield of 1.5
               produced=[line("S1SP02677", "L-4", "1", "ST")], consumed=[line("R1CH01007", "B-4711", "2", "ST")]),
        report("RPT-5", ORDER_B, "0020", qty("7", "ST"),                            # SAP got its foil in ST
               produced=[line("S1SP02677", "L-5", "7", "ST")], consumed=[line("R1FOIL0001", "F-1", "0.5", "KGM")]),
    ]


def _posted(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What reached SAP: RPT-3 did not; RPT-4 and RPT-5 as SAP holds them now; RPT-7 a
    confirmation (with its goods movements) no MES report stands behind."""
    by_id = {r["payload"]["report_id"]: copy.deepcopy(r) for r in reports}
    by_id["RPT-4"]["payload"]["yield_quantity"] = qty("1.5", "ST")
    by_id["RPT-5"]["payload"]["consumed"] = [line("R1FOIL0001", "F-1", "0.5", "ST")]
    extra = report("RPT-7", ORDER_B, "0009", qty("2", "ST"),
                   produced=[line("S1SP02677", "L-7", "2", "ST")], consumed=[line("R1CH01007", "B-4712", "1", "ST")])
    return [by_id[i] for i in ("RPT-1", "RPT-2", "RPT-4", "RPT-5")] + [extra]


def _env(sim: SapSimulator) -> dict[str, str]:
    return {"SAP_URL": sim.url, "SAP_USER": USER, "SAP_PASSWORD": PASSWORD, "SAP_INBOUND_USER": "SAPPORT",
            "SAP_INBOUND_PASSWORD": "port-secret", "MES_FEEDBACK_TOKEN": "t", "SAP_FILE_PORT_DIR": "file-port"}


@dataclass
class World:
    sim: SapSimulator
    settings: Any
    ledger: Ledger
    reports: list[dict[str, Any]]

    def run(self, job: str) -> JobRun:
        run = run_job(job, self.settings, self.ledger, env=_env(self.sim), today=TODAY)
        assert run.notes == [], run.notes  # every archived report translated
        return run

    def post(self, envelopes: list[dict[str, Any]], first_tag: int = 1) -> None:
        """Through the SAP sink of the example's sap route, as its deliver stage posts."""
        [route] = [r for r in self.settings.routes if r.name == "sap"]
        catalog = MappingCatalog.load(self.settings.mappings_dir)
        sink = make_sap_sink(SinkContext("sap", adapter_route_settings(route), catalog=catalog,
                                         extra={"env": _env(self.sim)}))
        stage = RemoteDeliverStage("sap", "q.sap", sink, self.ledger)
        try:
            for tag, envelope in enumerate(envelopes, first_tag):
                [outcome] = stage.process([delivery_of(envelope, tag)])
                assert outcome.kind is OutcomeKind.FORWARD, (envelope["payload"]["report_id"], outcome.error)
        finally:
            stage.close()

    def report(self, report_id: str) -> dict[str, Any]:
        [found] = [r for r in self.reports if r["payload"]["report_id"] == report_id]
        return found


def _archive(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    """What the MES sent the bridge: its reports in the raw archive, as they came."""
    ledger.archive_raw([RawRecord(message_id=f"mes:{e['payload']['report_id']}", source_system="mes",
                                  document_type="report", document_key=e["payload"]["report_id"],
                                  payload=json.dumps(e).encode(), content_type="application/json") for e in envelopes])


def _seed_b(folder: Path) -> Path:
    second = folder / "second.xml"
    second.write_bytes(SEED.read_bytes().replace(b"<AUFNR>208277437</AUFNR>", f"<AUFNR>{ORDER_B}</AUFNR>".encode()))
    return second


def _deliver_orders(world: World, seeds: list[Path]) -> None:
    """The orders the bridge delivered to the MES, as the deliver stage remembers them (the
    seeds' IDocs translated with the shipped mappings): order A as SAP plans it, order B with
    an older plan (210 where SAP now has 200), and an order SAP does not know."""
    translator = Translator.create(mappings_dir=world.settings.mappings_dir, source_system="sap")
    delivered: dict[str, tuple[str, dict[str, Any]]] = {}
    for seed in seeds:
        for document in translator.decode(seed.read_bytes(), seed.name):
            for envelope in translator.map_document(document):
                if envelope["entity"] == "order":
                    payload = envelope["payload"]
                    delivered[payload["order_id"]] = (envelope["message_id"], {**order_facts(payload), "version": "1"})
    assert set(delivered) == {ORDER_A, ORDER_B}
    assert delivered[ORDER_A][1]["quantity"] == {"value": "200", "unit": "EA"}
    delivered[ORDER_B][1]["quantity"] = {"value": "210", "unit": "EA"}
    delivered[ORDER_X] = ("m-x", {"quantity": {"value": "5", "unit": "EA"}, "material_id": "S1SP02677", "version": "1"})
    world.ledger.remote.remember_orders(delivered)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("sap-reconcile")
    seeds = [SEED, _seed_b(folder)]
    with SapSimulator(user=USER, password=PASSWORD, seeds=seeds, stock=STOCK, open_periods=OPEN_PERIODS) as sim:
        env = {**_env(sim), "BRIDGE_DATABASE_URL": f"sqlite:///{folder / 'ledger.sqlite'}"}
        settings = load_settings(ROOT / "examples/sap-loop.yaml", env=env)
        settings = settings.model_copy(update={"mappings_dir": ROOT / "mappings"})
        ledger = Ledger.connect(settings.database_url)
        try:
            reports = _reports()
            _archive(ledger, reports)
            world = World(sim, settings, ledger, reports)
            world.post(_posted(reports))
            assert {c.posting_date for c in sim.state.confirmations()} == {POSTED_ON}
            assert {d.posting_date for d in sim.state.material_documents()} == {POSTED_ON}
            _deliver_orders(world, seeds)
            yield world
        finally:
            ledger.close()


def _found(run: JobRun) -> set[tuple[Any, ...]]:
    return {(d.kind, tuple(d.key.values()), d.field, d.delta) for d in run.open}


def test_the_jobs_are_shipped_with_their_schedules(world: World) -> None:
    jobs = world.settings.reconcile.jobs
    assert list(jobs) == ["orders", "quantities", "consumption", "genealogy"]
    assert all(job.schedule for job in jobs.values())
    assert jobs["orders"].stale is None  # SAP's read BAPIs give no change time or version
    assert (jobs["orders"].source.orders, jobs["quantities"].target.orders) == ("other_side", "other_side")


def test_orders_finds_the_changed_plan_and_the_order_sap_does_not_know(world: World) -> None:
    run = world.run("orders")
    assert _found(run) == {("quantity_mismatch", (ORDER_B,), "quantity", "10"),   # SAP 200, the MES got 210
                           ("missing_in_source", (ORDER_X,), None, None)}
    assert run.summary.matched == 1
    actions = {d.key["order_id"]: d.action or "" for d in run.open}
    assert actions[ORDER_B].startswith("sap pushes its orders to the bridge, which cannot ask for one")
    assert "transaction POIT" in actions[ORDER_B]
    assert actions[ORDER_X].startswith(f"sap (route sap) does not hold order {ORDER_X} in the window")


def test_quantities_finds_the_unposted_the_changed_and_the_sap_only_confirmation(world: World) -> None:
    run = world.run("quantities")
    assert _found(run) == {("missing_in_target", (ORDER_A, "0020"), None, None),           # RPT-3
                           ("quantity_mismatch", (ORDER_B, "0010"), "yield", "0.5"),       # RPT-4: 1 -> 1.5
                           ("missing_in_source", (ORDER_B, "0009"), None, None)}           # RPT-7
    assert run.summary.matched == 2  # A/0010 (ST + C62, scrap 0.5 + none) and B/0020


def test_consumption_meets_sap_units_and_finds_the_missing_and_the_unconvertible(world: World) -> None:
    run = world.run("consumption")
    assert _found(run) == {("missing_in_target", (ORDER_A, "R1FOIL0001", "F-2"), None, None),          # RPT-3
                           ("unit_mismatch", (ORDER_B, "R1FOIL0001", "F-1"), "quantity", None),        # RPT-5
                           ("missing_in_source", (ORDER_B, "R1CH01007", "B-4712"), None, None)}        # RPT-7
    [unit] = [d for d in run.open if d.kind == "unit_mismatch"]
    assert (unit.source_value, unit.source_unit, unit.target_value, unit.target_unit) == ("0.5", "KGM", "0.5", "ST")
    assert unit.action == ("the sides give it in units the job cannot convert (KGM vs ST): add a conversion to "
                           "the job (units:) or correct the material's units")
    [missing] = [d for d in run.open if d.kind == "missing_in_target"]
    assert missing.action == "report RPT-3: never delivered; --repair sends RPT-3 again"
    assert run.summary.matched == 4  # B-4711 15 ST (10 ST + 5 C62), F-1 1.25 KG + 500 G, GLUE 0.3 KG, B's B-4711


def test_genealogy_finds_the_lots_and_edges_one_side_lacks(world: World) -> None:
    run = world.run("genealogy")
    assert _found(run) == {("missing_in_target", (ORDER_A, "L-3", ""), None, None),
                           ("missing_in_target", (ORDER_A, "L-3", "F-2"), None, None),
                           ("missing_in_source", (ORDER_B, "L-7", ""), None, None),
                           ("missing_in_source", (ORDER_B, "L-7", "B-4712"), None, None)}


def test_a_later_run_resolves_what_was_put_right(world: World) -> None:
    jobs = ("quantities", "consumption", "genealogy")
    before = {job: _found(world.run(job)) for job in jobs}
    world.post([world.report("RPT-3")], first_tag=10)  # the unposted report reaches SAP
    for job in jobs:
        run = world.run(job)
        gone = {f for f in before[job] if f[0] == "missing_in_target"}
        assert gone, job
        assert _found(run) == before[job] - gone, job
        assert run.result.resolved == len(gone), job
        assert {(d.kind, tuple(d.key.values()), d.field, d.delta) for d in run.resolved} == gone, job
        assert all(d.resolved_by == "reconcile run" for d in run.resolved)
