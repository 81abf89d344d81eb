"""The SAP reconciliation views against the SAP simulator: canonical reports posted through the
SAP sink read back as the same records the canonical views give for those reports (zero
discrepancies), and a known difference is found as exactly that discrepancy."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.adapter import adapter
from adapters.sap.query import SapQuery, make_sap_query
from adapters.sap.reconcile_views import SAP_VIEWS
from adapters.sap.simulator import SapSimulator
from adapters.sap.target import SapTargetSettings
from bridge.adapter.query import QueryContext
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile import (
    Amount,
    Conversion,
    FieldRule,
    Kind,
    Record,
    Rules,
    Side,
    UnitConverter,
    amount,
    reconcile,
)
from bridge.reconcile.canonical_views import report_records, reversed_ids
from bridge.reconcile.views import VIEW_KEYS, ViewRequest, project
from tests.contract.sink import delivery_of

from .test_sap_sink_contract import CATALOG, ENV, SEED, sap_sink

ORDER_A, ORDER_B = "208277437", "208277438"
TODAY = date.today()
KEYS = frozenset({ORDER_A, ORDER_B})
REQUEST = ViewRequest(keys=KEYS, since=TODAY, until=TODAY)
STOCK = ["R1CH01007:DM01:B-4711=100000", "R1FOIL0001:DM01:F-1=100000"]


def _units() -> UnitConverter:
    """What a job gives when its MES speaks UN/ECE codes: SAP's code = the canonical one
    (the sap_units lookup the reverse mapping inverted), and 1 KGM = 1000 GRM."""
    table = CATALOG.lookups["sap_units"].values
    same = [Conversion(sap_code, Decimal(1), str(code)) for sap_code, code in table.items() if sap_code != code]
    return UnitConverter([*same, Conversion("KGM", Decimal(1000), "GRM")])


UNITS = _units()
FIELDS = {"quantities": {"yield": FieldRule(), "scrap": FieldRule(absent_as_zero=True)}}


def qty(value: str, unit: str) -> dict[str, str]:
    return {"value": value, "unit": unit}


def line(material: str, lot: str | None, value: str, unit: str) -> dict[str, Any]:
    found: dict[str, Any] = {"material_id": material, "quantity": qty(value, unit), "site": "DM01"}
    if lot is not None:
        found["lot_id"] = lot
    return found


def report(report_id: str, order: str, operation: str, yield_: dict[str, str], *, scrap: dict[str, str] | None = None,
           produced: Iterable[dict[str, Any]] = (), consumed: Iterable[dict[str, Any]] = (),
           reversal_of: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "report_id": report_id, "order_id": order, "operation_id": operation, "work_center": "WC01",
        "yield_quantity": yield_, "final": False, "posting_date": TODAY.isoformat(),
        "produced": list(produced), "consumed": list(consumed),
    }
    if scrap is not None:
        payload["scrap_quantity"] = scrap
    if reversal_of is not None:
        payload["reversal_of"] = reversal_of
    return {
        "schema": "bridge.canonical/v1", "message_id": f"mes:LINE1:{report_id}:report", "entity": "report",
        "event": "reversed" if reversal_of else "created",
        "source": {"system": "mes", "instance": "LINE1", "document_type": "report", "document_id": report_id},
        "version": "1", "occurred_at": f"{TODAY.isoformat()}T10:00:00+08:00", "payload": payload,
    }


def reports() -> list[dict[str, Any]]:
    """Yield and scrap, lots consumed in different units (KGM and GRM of one lot, ST, a material
    without a lot), produced lots, two reports of one operation, and one report reversed."""
    return [
        report("RPT-1", ORDER_A, "0010", qty("3", "ST"), scrap=qty("0.5", "ST"),
               produced=[line("S1SP02677", "L-1", "3", "ST")],
               consumed=[line("R1CH01007", "B-4711", "10", "ST"), line("R1FOIL0001", "F-1", "1.25", "KGM")]),
        report("RPT-2", ORDER_A, "0010", qty("2", "C62"),
               consumed=[line("R1CH01007", "B-4711", "5", "ST"), line("GLUE", None, "0.3", "KGM")]),
        report("RPT-3", ORDER_A, "0020", qty("4", "ST"),
               produced=[line("S1SP02677", "L-3", "4", "ST")], consumed=[line("R1FOIL0001", "F-1", "500", "GRM")]),
        report("RPT-4", ORDER_B, "0010", qty("1", "ST"), scrap=qty("0.25", "ST"),
               produced=[line("S1SP02677", "L-4", "1", "ST")],
               consumed=[line("R1CH01007", "B-4711", "2", "ST"), line("R1FOIL0001", "F-1", "0.5", "KGM")]),
        report("RPT-5", ORDER_B, "0020", qty("7", "ST"),
               produced=[line("S1SP02677", "L-5", "7", "ST")], consumed=[line("R1CH01007", "B-4711", "3", "ST")]),
        report("RPT-6", ORDER_B, "0020", qty("7", "ST"), reversal_of="RPT-5"),
    ]


@dataclass
class World:
    sim: SapSimulator
    query: SapQuery
    envelopes: list[dict[str, Any]]


def post_all(tmp: Path, sim: SapSimulator, envelopes: list[dict[str, Any]], **settings: Any) -> None:
    ledger = Ledger.connect(f"sqlite:///{tmp / 'ledger.sqlite'}")
    stage = RemoteDeliverStage("sap", "q.sap", sap_sink(sim, **settings), ledger)
    try:
        for tag, envelope in enumerate(envelopes, 1):
            [outcome] = stage.process([delivery_of(envelope, tag)])
            assert outcome.kind is OutcomeKind.FORWARD, (envelope["payload"]["report_id"], outcome.error)
    finally:
        stage.close()
        ledger.close()


def start(tmp: Path) -> SapSimulator:
    second = tmp / "second.xml"
    second.write_bytes(SEED.read_bytes().replace(b"<AUFNR>208277437</AUFNR>", f"<AUFNR>{ORDER_B}</AUFNR>".encode()))
    return SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED, second], stock=STOCK).start()


def query_of(sim: SapSimulator) -> SapQuery:
    return make_sap_query(QueryContext("sap", SapTargetSettings(url=sim.url), ENV))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("sap-views")
    sim = start(tmp)
    try:
        envelopes = reports()
        post_all(tmp, sim, envelopes)
        query = query_of(sim)
        yield World(sim, query, envelopes)
        query.close()
    finally:
        sim.stop()


def compare(view: str, mes: Iterable[Record], erp: Iterable[Record],
            key_fields: tuple[str, ...] | None = None) -> list[tuple[Kind, tuple[str, ...], str | None, Decimal | None]]:
    """The discrepancies of MES (source) against SAP (target), as (kind, key, field, delta)."""
    keys = key_fields or VIEW_KEYS[view]
    rules = Rules(keys, fields=FIELDS.get(view, {}), units=UNITS)
    source = Side("mes", project(mes, view, keys), duplicates="sum")
    target = Side("erp", project(erp, view, keys), duplicates="sum")
    with reconcile(source, target, rules) as run:
        found = [(d.kind, d.key, d.field, d.delta) for d in run]
        assert run.finished
    return found


def mes_side(envelopes: list[dict[str, Any]], view: str) -> Iterator[Record]:
    return report_records(envelopes, view, reversed=reversed_ids(envelopes))


def sap_side(world: World, view: str, request: ViewRequest = REQUEST) -> list[Record]:
    return list(SAP_VIEWS[view](world.query, request))


# -- no false positives --------------------------------------------------------------------


@pytest.mark.parametrize("view", ["quantities", "consumption", "genealogy"])
def test_what_the_sink_posted_reads_back_as_the_canonical_records(world: World, view: str) -> None:
    erp = sap_side(world, view)
    assert erp, "SAP holds records of every view"
    assert compare(view, mes_side(world.envelopes, view), erp) == []


@pytest.mark.parametrize(("view", "key_fields"), [
    ("quantities", ("order_id",)), ("consumption", ("order_id", "material_id")), ("genealogy", ("lot_id", "order_id")),
])
def test_a_job_keyed_by_part_of_the_view_s_key_matches_too(world: World, view: str, key_fields: tuple[str, ...]) -> None:
    assert compare(view, mes_side(world.envelopes, view), sap_side(world, view), key_fields) == []


def test_the_sap_records_carry_sap_s_own_units_and_leave_the_reversed_report_out(world: World) -> None:
    quantities = sorted((r.key, r.values["yield"], r.values["scrap"], r.material) for r in sap_side(world, "quantities"))
    assert quantities == [
        ((ORDER_A, "0010"), amount("2", "ST"), amount("0", "ST"), "S1SP02677"),  # C62 went to SAP as ST
        ((ORDER_A, "0010"), amount("3", "ST"), amount("0.5", "ST"), "S1SP02677"),
        ((ORDER_A, "0020"), amount("4", "ST"), amount("0", "ST"), "S1SP02677"),
        ((ORDER_B, "0010"), amount("1", "ST"), amount("0.25", "ST"), "S1SP02677"),
    ]  # RPT-5 (0020 of B) was cancelled: neither it nor its cancellation counts
    consumption = {(r.key, r.values["quantity"]) for r in sap_side(world, "consumption")}
    assert consumption == {
        ((ORDER_A, "R1CH01007", "B-4711"), amount("15", "ST")),
        ((ORDER_A, "R1FOIL0001", "F-1"), amount("1.25", "KG")),
        ((ORDER_A, "R1FOIL0001", "F-1"), amount("500", "G")),
        ((ORDER_A, "GLUE", ""), amount("0.3", "KG")),
        ((ORDER_B, "R1CH01007", "B-4711"), amount("2", "ST")),  # 2 + 3 - 3: the reversal's 262 nets out
        ((ORDER_B, "R1FOIL0001", "F-1"), amount("0.5", "KG")),
    }
    assert all(type(a.value) is Decimal for r in sap_side(world, "consumption") for a in r.values.values())
    edges = sorted(r.key for r in sap_side(world, "genealogy"))
    assert edges == [
        (ORDER_A, "L-1", ""), (ORDER_A, "L-1", "B-4711"), (ORDER_A, "L-1", "F-1"),
        (ORDER_A, "L-3", ""), (ORDER_A, "L-3", "F-1"),
        (ORDER_B, "L-4", ""), (ORDER_B, "L-4", "B-4711"), (ORDER_B, "L-4", "F-1"),
    ]  # RPT-2 produced no lot: its B-4711 is no parent of L-1 (another report); L-5 was reversed


def test_a_window_alone_reads_material_documents_and_a_window_without_postings_reads_none(world: World) -> None:
    window_only = ViewRequest(since=TODAY)
    assert compare("consumption", mes_side(world.envelopes, "consumption"), sap_side(world, "consumption", window_only)) == []
    assert compare("genealogy", mes_side(world.envelopes, "genealogy"), sap_side(world, "genealogy", window_only)) == []
    yesterday = TODAY - timedelta(days=1)
    earlier = ViewRequest(keys=KEYS, since=yesterday, until=yesterday)
    assert [sap_side(world, view, earlier) for view in ("quantities", "consumption", "genealogy")] == [[], [], []]


# -- known differences are found, exactly -------------------------------------------------------


def changed(envelopes: list[dict[str, Any]], report_id: str, **payload: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(envelopes)
    for envelope in out:
        if envelope["payload"]["report_id"] == report_id:
            envelope["payload"].update(payload)
    return out


def without(envelopes: list[dict[str, Any]], report_id: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["payload"]["report_id"] != report_id]


def test_a_yield_the_mes_says_differently_is_one_quantity_mismatch(world: World) -> None:
    mes = changed(world.envelopes, "RPT-4", yield_quantity=qty("1.5", "ST"))
    erp = sap_side(world, "quantities")
    assert compare("quantities", mes_side(mes, "quantities"), erp) == [
        (Kind.QUANTITY_MISMATCH, (ORDER_B, "0010"), "yield", Decimal("-0.5"))]
    assert compare("quantities", mes_side(mes, "quantities"), erp, ("order_id",)) == [
        (Kind.QUANTITY_MISMATCH, (ORDER_B,), "yield", Decimal("-0.5"))]


def test_a_consumed_quantity_in_another_unit_is_compared_converted(world: World) -> None:
    mes = changed(world.envelopes, "RPT-3", consumed=[line("R1FOIL0001", "F-1", "0.4", "KGM")])
    found = compare("consumption", mes_side(mes, "consumption"), sap_side(world, "consumption"))
    # MES 1.25 + 0.4 KGM; SAP 1.25 KG + 500 G = 1.75 KGM: 0.1 KGM more, in the source's unit
    assert found == [(Kind.QUANTITY_MISMATCH, (ORDER_A, "R1FOIL0001", "F-1"), "quantity", Decimal("0.1"))]


def test_a_report_only_sap_holds_is_found_in_every_view(world: World) -> None:
    mes = without(world.envelopes, "RPT-2")  # posted to SAP, never seen by the MES side
    assert compare("quantities", mes_side(mes, "quantities"), sap_side(world, "quantities")) == [
        (Kind.QUANTITY_MISMATCH, (ORDER_A, "0010"), "yield", Decimal("2"))]
    assert compare("consumption", mes_side(mes, "consumption"), sap_side(world, "consumption")) == [
        (Kind.MISSING_IN_SOURCE, (ORDER_A, "GLUE", ""), None, None),
        (Kind.QUANTITY_MISMATCH, (ORDER_A, "R1CH01007", "B-4711"), "quantity", Decimal("5")),
    ]


def test_a_reversal_sap_got_and_the_mes_side_lacks_is_what_differs(world: World) -> None:
    mes = without(world.envelopes, "RPT-6")  # the MES side still counts RPT-5
    assert compare("quantities", mes_side(mes, "quantities"), sap_side(world, "quantities")) == [
        (Kind.MISSING_IN_TARGET, (ORDER_B, "0020"), None, None)]
    assert compare("consumption", mes_side(mes, "consumption"), sap_side(world, "consumption")) == [
        (Kind.QUANTITY_MISMATCH, (ORDER_B, "R1CH01007", "B-4711"), "quantity", Decimal("-3"))]
    assert compare("genealogy", mes_side(mes, "genealogy"), sap_side(world, "genealogy")) == [
        (Kind.MISSING_IN_TARGET, (ORDER_B, "L-5", ""), None, None),
        (Kind.MISSING_IN_TARGET, (ORDER_B, "L-5", "B-4711"), None, None),
    ]


def test_a_lot_only_the_mes_reported_is_missing_in_sap(world: World) -> None:
    extra = report("RPT-9", ORDER_A, "0030", qty("1", "ST"), produced=[line("S1SP02677", "L-9", "1", "ST")],
                   consumed=[line("R1CH01007", "B-4711", "1", "ST")])
    mes = [*world.envelopes, extra]  # never posted to SAP
    assert compare("genealogy", mes_side(mes, "genealogy"), sap_side(world, "genealogy")) == [
        (Kind.MISSING_IN_TARGET, (ORDER_A, "L-9", ""), None, None),
        (Kind.MISSING_IN_TARGET, (ORDER_A, "L-9", "B-4711"), None, None),
    ]


# -- orders ---------------------------------------------------------------------------------


def planned(order: str, value: str, unit: str = "EA") -> Record:
    return Record((order,), {"quantity": amount(value, unit)}, "S1SP02677", ref=f"mes order {order}")


def test_orders_are_the_seeded_orders_plan(world: World) -> None:
    erp = list(SAP_VIEWS["orders"](world.query, ViewRequest(keys=KEYS | {"999999"})))
    assert sorted((r.key, r.values["quantity"], r.material, r.ref) for r in erp) == [
        ((ORDER_A,), Amount(Decimal("200.000"), "EA"), "S1SP02677", ORDER_A),
        ((ORDER_B,), Amount(Decimal("200.000"), "EA"), "S1SP02677", ORDER_B),
    ]
    assert compare("orders", [planned(ORDER_A, "200"), planned(ORDER_B, "200")], erp) == []
    assert compare("orders", [planned(ORDER_A, "200"), planned(ORDER_B, "210"), planned("999999", "5")], erp) == [
        (Kind.QUANTITY_MISMATCH, (ORDER_B,), "quantity", Decimal("-10")),
        (Kind.MISSING_IN_TARGET, ("999999",), None, None),
    ]


# -- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(("view", "request_", "named"), [
    ("orders", ViewRequest(since=TODAY), "order numbers"),
    ("quantities", ViewRequest(since=TODAY, until=TODAY), "give the job keys"),
    ("consumption", ViewRequest(keys=KEYS), "give since"),
    ("genealogy", ViewRequest(keys=KEYS, until=TODAY), "give since"),
])
def test_what_sap_cannot_select_by_is_a_config_error_naming_what_is_missing(
    world: World, view: str, request_: ViewRequest, named: str
) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        SAP_VIEWS[view](world.query, request_)  # refused at once, before any record is asked for
    assert f"view {view}" in str(raised.value)


def test_the_adapter_offers_every_view() -> None:
    assert adapter.views is SAP_VIEWS
    assert set(SAP_VIEWS) == set(VIEW_KEYS)


# -- confirmation mode: documents without a mark ------------------------------------------------


def test_documents_posted_with_the_confirmation_group_per_order(tmp_path: Path) -> None:
    envelopes = [
        report("RPT-C1", ORDER_A, "0010", qty("3", "ST"), scrap=qty("0", "ST"),
               produced=[line("S1SP02677", "L-C1", "3", "ST")], consumed=[line("R1CH01007", "B-4711", "4", "ST")]),
        report("RPT-C2", ORDER_A, "0020", qty("2", "ST"),
               produced=[line("S1SP02677", "L-C2", "2", "ST")], consumed=[line("R1FOIL0001", "F-1", "1", "KGM")]),
        report("RPT-C3", ORDER_A, "0020", qty("2", "ST"), reversal_of="RPT-C2"),
    ]
    sim = start(tmp_path)
    try:
        post_all(tmp_path, sim, envelopes, goods_movements="confirmation")
        assert {d.header_text for d in sim.state.material_documents()} == {""}
        query = query_of(sim)
        for view in ("quantities", "consumption", "genealogy"):
            erp = list(SAP_VIEWS[view](query, REQUEST))
            assert erp, view
            assert compare(view, mes_side(envelopes, view), erp) == [], view
        mes = without(envelopes, "RPT-C3")  # the MES side missed the reversal SAP got
        found = compare("genealogy", mes_side(mes, "genealogy"), list(SAP_VIEWS["genealogy"](query, REQUEST)))
        query.close()
    finally:
        sim.stop()
    assert found == [(Kind.MISSING_IN_TARGET, (ORDER_A, "L-C2", ""), None, None),
                     (Kind.MISSING_IN_TARGET, (ORDER_A, "L-C2", "F-1"), None, None)]
