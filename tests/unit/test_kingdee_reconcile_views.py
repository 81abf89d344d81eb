"""The K/3 Cloud reconciliation views read back what the Kingdee sink posted from canonical
reports as the same records the canonical views make of those reports: zero discrepancies for
what was posted (reversal included), exactly the difference a user's edit in the ERP makes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.kingdee.adapter import adapter
from adapters.kingdee.reconcile_views import KINGDEE_VIEWS
from adapters.kingdee.simulator import KingdeeSimulator
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile import (
    Conversion,
    Discrepancy,
    FieldRule,
    Kind,
    Record,
    Rules,
    Side,
    Summary,
    UnitConverter,
    amount,
    reconcile,
)
from bridge.reconcile.canonical_views import report_records, reversed_ids
from bridge.reconcile.views import VIEW_KEYS, ViewRequest, project
from tests.contract.sink import delivery_of

from .kingdee_support import kingdee_sink, report, simulator
from .test_kingdee_query import query_of

ORDER_1, ORDER_2 = "MO001001-1", "MO001001-2"
KEYS = ViewRequest(keys=frozenset({ORDER_1, ORDER_2}))
QUANTITY_RULES = Rules(("order_id",), {"yield": FieldRule(), "scrap": FieldRule(absent_as_zero=True)})


def _lot(lot: str, quantity: str, material: str = "FG-100", unit: str = "Pcs") -> dict[str, Any]:
    line = {"material_id": material, "quantity": {"value": quantity, "unit": unit}, "site": "100",
            "storage_location": "FG01" if material == "FG-100" else "RM01"}
    return {**line, "lot_id": lot} if lot else line


def _reports() -> list[dict[str, Any]]:
    """Two operations of one order (yield + scrap, produced and consumed lots, a lot-less
    component), a report without scrap or consumption, one without a produced lot, and a report
    taken back by its reversal."""
    return [
        report("R-1", operation_id="0010"),
        report("R-2", operation_id="0020", yield_quantity={"value": "0.1", "unit": "Pcs"},
               scrap_quantity={"value": "0.2", "unit": "Pcs"}, produced=[_lot("L-R-2", "0.1")],
               consumed=[_lot("B-4711", "0.1", "RM-200", "kg"), _lot("", "2.5", "RM-200", "kg")]),
        report("R-3", order=ORDER_2, scrap_quantity=None, yield_quantity={"value": "12", "unit": "Pcs"},
               produced=[_lot("L-R-3", "12")], consumed=[]),
        report("R-4", yield_quantity={"value": "7", "unit": "Pcs"}, produced=[_lot("L-R-4", "7")]),
        report("R-5", order=ORDER_2, yield_quantity={"value": "3", "unit": "Pcs"}, produced=[],
               consumed=[_lot("B-4711", "5", "RM-200", "kg")]),
        report("R-4-X", event="reversed", reversal_of="R-4"),
    ]


@dataclass
class Posted:
    sim: KingdeeSimulator
    envelopes: list[dict[str, Any]]
    query: Any

    def erp(self, view: str, request: ViewRequest = KEYS) -> list[Record]:
        return list(KINGDEE_VIEWS[view](self.query, request))

    def mes(self, view: str, envelopes: list[dict[str, Any]] | None = None) -> Iterator[Record]:
        found = self.envelopes if envelopes is None else envelopes
        return report_records(found, view, reversed=reversed_ids(found))

    def bill_of(self, form: str, report_id: str) -> dict[str, Any]:
        [bill] = [b for b in self.sim.bills(form) if b.get("FDescription") == f"MES:{report_id}"]
        return bill

    def change_row(self, form: str, report_id: str, **fields: Any) -> None:
        """A user's edit of the first entry row of the bill the sink made of ``report_id``."""
        bill = self.bill_of(form, report_id)
        row = {"FEntryID": bill["FEntity"][0]["FEntryID"], **fields}
        self.sim.change_bill(form, bill["FBillNo"], {"FEntity": [row]})


def _post(sim: KingdeeSimulator, envelopes: Iterable[dict[str, Any]], ledger_path: Path) -> None:
    ledger = Ledger.connect(f"sqlite:///{ledger_path}")
    stage = RemoteDeliverStage("kingdee", "q.kingdee", kingdee_sink(sim), ledger)
    try:
        for tag, envelope in enumerate(envelopes, 1):
            [outcome] = stage.process([delivery_of(envelope, tag)])
            assert outcome.note["decision"] == "applied", (envelope["payload"]["report_id"], outcome)
    finally:
        stage.close()
        ledger.close()


@contextmanager
def _posted(ledger_path: Path) -> Iterator[Posted]:
    with simulator() as sim:
        envelopes = _reports()
        _post(sim, envelopes, ledger_path)
        query = query_of(sim)
        try:
            yield Posted(sim, envelopes, query)
        finally:
            query.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Posted]:
    """The reports posted once, for the tests that only read."""
    with _posted(tmp_path_factory.mktemp("kingdee-views") / "ledger.sqlite") as found:
        yield found


@pytest.fixture
def posted(tmp_path: Path) -> Iterator[Posted]:
    """The reports posted to a simulator of the test's own, for the tests that edit bills."""
    with _posted(tmp_path / "ledger.sqlite") as found:
        yield found


def run(mes: Iterable[Record], erp: Iterable[Record], rules: Rules) -> tuple[list[Discrepancy], Summary]:
    with reconcile(Side("mes", mes, duplicates="sum"), Side("erp", erp, duplicates="sum"), rules) as comparison:
        found = list(comparison)
    return found, comparison.summary


def quantities(mes: Iterable[Record], erp: Iterable[Record]) -> tuple[list[Discrepancy], Summary]:
    """The quantities job keyed by order alone: both sides projected, duplicates summed."""
    return run(project(mes, "quantities", ("order_id",)), project(erp, "quantities", ("order_id",)),
               QUANTITY_RULES)


# -- what the sink posted reads back as the canonical reports say -----------------------------------


def test_the_adapter_offers_every_view() -> None:
    assert adapter.views is KINGDEE_VIEWS
    assert set(KINGDEE_VIEWS) == set(VIEW_KEYS)


def test_quantities_per_order_match_the_reports_less_the_reversed_one(shared: Posted) -> None:
    erp = shared.erp("quantities")
    assert {r.key for r in erp} == {(ORDER_1, ""), (ORDER_2, "")}  # K/3 Cloud posts per order row
    assert len(erp) == 4  # R-4 was un-audited and deleted
    assert {r.ref.split("/")[0] for r in erp} == {"PRD_MORPT"}
    assert {r.values["yield"].unit for r in erp} == {"Pcs"}  # the unit the sink sent, untranslated
    found, summary = quantities(shared.mes("quantities"), erp)
    assert found == []
    assert (summary.pairs, summary.matched) == (2, 2)


def test_yield_and_scrap_are_exact_and_a_report_without_scrap_reads_zero(shared: Posted) -> None:
    erp = shared.erp("quantities")
    yields = sorted(str(r.values["yield"]) for r in erp)
    assert yields == ["0.1 Pcs", "12 Pcs", "3 Pcs", "30 Pcs"]
    [no_scrap] = [r for r in erp if r.values["yield"].value == Decimal("12")]
    assert no_scrap.values["scrap"].value == 0
    assert {str(r.values["scrap"]) for r in erp if r.key[0] == ORDER_1} == {"0.5 Pcs", "0.2 Pcs"}
    assert {r.material for r in erp} == {"FG-100"}  # R-5 named none: the sink took the order's


def test_a_reversal_the_mes_side_ignored_shows_as_the_reversed_reports_yield(shared: Posted) -> None:
    mes = report_records(shared.envelopes, "quantities")  # R-4 not taken back on this side
    found, _ = quantities(mes, shared.erp("quantities"))
    assert [(d.kind, d.key, d.field, d.delta) for d in found] == [
        (Kind.QUANTITY_MISMATCH, (ORDER_1,), "yield", Decimal("-7")),
        (Kind.QUANTITY_MISMATCH, (ORDER_1,), "scrap", Decimal("-0.5")),
    ]


def test_consumption_per_order_material_and_lot_matches(shared: Posted) -> None:
    erp = shared.erp("consumption")
    assert sorted((r.key, str(r.values["quantity"])) for r in erp) == [
        ((ORDER_1, "RM-200", ""), "2.5 kg"),
        ((ORDER_1, "RM-200", "B-4711"), "0.1 kg"),
        ((ORDER_1, "RM-200", "B-4711"), "75.25 kg"),
        ((ORDER_2, "RM-200", "B-4711"), "5 kg"),
    ]
    found, summary = run(shared.mes("consumption"), erp, Rules(VIEW_KEYS["consumption"]))
    assert found == []
    assert (summary.pairs, summary.matched) == (3, 3)


def test_genealogy_pairs_the_lots_of_each_report(shared: Posted) -> None:
    erp = shared.erp("genealogy")
    assert sorted(r.key for r in erp) == [
        (ORDER_1, "L-R-1", ""), (ORDER_1, "L-R-1", "B-4711"),
        (ORDER_1, "L-R-2", ""), (ORDER_1, "L-R-2", "B-4711"),  # R-2's lot-less line gives no edge
        (ORDER_2, "L-R-3", ""),  # R-3 consumed nothing, R-5 produced no lot: no edge between them
    ]
    found, summary = run(shared.mes("genealogy"), erp, Rules(VIEW_KEYS["genealogy"]))
    assert found == []
    assert summary.pairs == 5


def test_genealogy_pairs_rows_without_a_mark_per_order(posted: Posted) -> None:
    for form in ("PRD_INSTOCK", "PRD_PickMtrl"):  # the remark cleared by hand on both bills of R-1
        bill = posted.bill_of(form, "R-1")
        posted.sim.change_bill(form, bill["FBillNo"], {"FDescription": ""})
    keys = sorted(r.key for r in posted.erp("genealogy"))
    assert (ORDER_1, "L-R-1", "B-4711") in keys
    assert (ORDER_1, "L-R-2", "B-4711") in keys


def test_orders_read_the_planned_quantity_by_keys_and_by_window(shared: Posted) -> None:
    planned = [Record((ORDER_1,), {"quantity": amount("100", "Pcs")}, "FG-100", ref="plan"),
               Record((ORDER_2,), {"quantity": amount("40", "Pcs")}, "FG-100", ref="plan")]
    by_keys = shared.erp("orders")
    assert sorted(r.ref for r in by_keys) == ["PRD_MO/MO001001/1", "PRD_MO/MO001001/2"]
    found, summary = run(planned, by_keys, Rules(("order_id",)))
    assert found == []
    assert summary.matched == 2
    window = shared.erp("orders", ViewRequest(since=date(2026, 12, 1), until=date(2026, 12, 1)))
    assert sorted(r.key for r in window) == [(ORDER_1,), (ORDER_2,)]
    assert shared.erp("orders", ViewRequest(since=date(2026, 12, 2))) == []


def test_a_window_on_the_bills_date_reads_the_same_quantities(shared: Posted) -> None:
    day = date(2026, 12, 3)  # the reports' posting date, the bills' FDate
    windowed = shared.erp("quantities", ViewRequest(since=day, until=day))
    assert sorted(r.ref for r in windowed) == sorted(r.ref for r in shared.erp("quantities"))
    assert shared.erp("consumption", ViewRequest(keys={ORDER_2}, since=day, until=day))[0].key[0] == ORDER_2
    assert shared.erp("genealogy", ViewRequest(since=date(2026, 12, 4))) == []


# -- one known difference is exactly that discrepancy ------------------------------------------------


def test_a_reports_yield_changed_in_the_erp_is_one_yield_mismatch(posted: Posted) -> None:
    posted.change_row("PRD_MORPT", "R-1", FQuaQty=29)
    found, summary = quantities(posted.mes("quantities"), posted.erp("quantities"))
    assert [(d.kind, d.key, d.field, d.delta, d.unit) for d in found] == [
        (Kind.QUANTITY_MISMATCH, (ORDER_1,), "yield", Decimal("-1"), "Pcs")]
    assert summary.matched == 1


def test_a_picked_quantity_changed_in_the_erp_is_one_consumption_mismatch(posted: Posted) -> None:
    posted.change_row("PRD_PickMtrl", "R-5", FActualQty=4.5)
    found, _ = run(posted.mes("consumption"), posted.erp("consumption"), Rules(VIEW_KEYS["consumption"]))
    assert [(d.kind, d.key, d.delta) for d in found] == [
        (Kind.QUANTITY_MISMATCH, (ORDER_2, "RM-200", "B-4711"), Decimal("-0.5"))]


def test_a_unit_changed_in_the_erp_converts_by_the_jobs_conversion(posted: Posted) -> None:
    posted.change_row("PRD_PickMtrl", "R-5", FActualQty=5000, FUnitID={"FNumber": "g"})
    [changed] = [r for r in posted.erp("consumption") if r.key[0] == ORDER_2]
    assert str(changed.values["quantity"]) == "5000 g"  # the ERP's unit, as it is
    found, _ = run(posted.mes("consumption"), posted.erp("consumption"), Rules(VIEW_KEYS["consumption"]))
    assert [(d.kind, d.key) for d in found] == [(Kind.UNIT_MISMATCH, (ORDER_2, "RM-200", "B-4711"))]
    converted = Rules(VIEW_KEYS["consumption"], units=UnitConverter([Conversion("kg", Decimal(1000), "g")]))
    found, _ = run(posted.mes("consumption"), posted.erp("consumption"), converted)
    assert found == []


def test_a_report_the_sink_never_posted_is_missing_in_the_erp(shared: Posted) -> None:
    unposted = report("R-9", order=ORDER_2, produced=[_lot("L-R-9", "1")],
                      consumed=[_lot("B-4712", "1", "RM-200", "kg")])
    envelopes = [*shared.envelopes, unposted]
    found, _ = run(shared.mes("genealogy", envelopes), shared.erp("genealogy"), Rules(VIEW_KEYS["genealogy"]))
    assert [(d.kind, d.key) for d in found] == [
        (Kind.MISSING_IN_TARGET, (ORDER_2, "L-R-9", "")),
        (Kind.MISSING_IN_TARGET, (ORDER_2, "L-R-9", "B-4712")),
    ]
    found, _ = quantities(shared.mes("quantities", envelopes), shared.erp("quantities"))
    assert [(d.kind, d.key, d.field, d.delta) for d in found] == [
        (Kind.QUANTITY_MISMATCH, (ORDER_2,), "yield", Decimal("-30")),
        (Kind.QUANTITY_MISMATCH, (ORDER_2,), "scrap", Decimal("-0.5")),
    ]


def test_an_order_quantity_changed_in_the_erp_is_one_order_mismatch(posted: Posted) -> None:
    [mo] = [b for b in posted.sim.bills("PRD_MO") if b["FBillNo"] == "MO001001"]
    row = mo["FTreeEntity"][1]
    posted.sim.change_bill("PRD_MO", "MO001001", {"FTreeEntity": [{"FEntryID": row["FEntryID"], "FQty": 45}]})
    planned = [Record((ORDER_1,), {"quantity": amount("100", "Pcs")}), Record((ORDER_2,), {"quantity": amount("40", "Pcs")})]
    found, _ = run(planned, posted.erp("orders"), Rules(("order_id",)))
    assert [(d.kind, d.key, d.delta) for d in found] == [(Kind.QUANTITY_MISMATCH, (ORDER_2,), Decimal("5"))]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("view", sorted(KINGDEE_VIEWS))
def test_a_request_with_neither_keys_nor_a_window_is_refused_by_name(shared: Posted, view: str) -> None:
    with pytest.raises(ConfigError, match=r"no order ids \(keys\) and no window \(since/until\)"):
        shared.erp(view, ViewRequest())


def test_bad_requests_are_config_errors_naming_the_problem(shared: Posted) -> None:
    with pytest.raises(ConfigError, match="<FBillNo>-<FSeq>"):
        shared.erp("quantities", ViewRequest(keys={"1000042"}))
    with pytest.raises(ConfigError, match="not the text 'MO001001-1'"):
        shared.erp("orders", ViewRequest(keys="MO001001-1"))
    with pytest.raises(ConfigError, match="since 2026-12-04 is after its until 2026-12-03"):
        shared.erp("consumption", ViewRequest(since=date(2026, 12, 4), until=date(2026, 12, 3)))
    with pytest.raises(ConfigError, match="must be a ViewRequest, got dict"):
        KINGDEE_VIEWS["genealogy"](shared.query, {"keys": [ORDER_1]})
