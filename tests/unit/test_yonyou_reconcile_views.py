"""The Yonyou reconciliation views read back what the sink posted to the YonBIP simulator as the
records the canonical views give for the same reports: no discrepancy when nothing differs, and
exactly the known one when a document is changed in YonBIP or a report is on one side only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.yonyou.adapter import adapter
from adapters.yonyou.query import make_yonyou_query
from adapters.yonyou.reconcile_views import (
    YONYOU_VIEWS,
    read_consumption,
    read_genealogy,
    read_orders,
    read_quantities,
)
from adapters.yonyou.sink import LINES
from adapters.yonyou.target import YonyouTargetSettings
from bridge.adapter.query import QueryContext, TargetRecord
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.pipeline.outcome import OutcomeKind
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from bridge.reconcile import (
    Amount,
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

from .yonyou_support import ENV, ORDER, TENANT, report, simulator, yonyou_sink

LINE_10, LINE_20 = f"{ORDER}-10", f"{ORDER}-20"
REQUEST = ViewRequest(keys=frozenset({LINE_10, LINE_20}))
#: YonBIP lists the material's main unit by name; the MES reports unit codes
ALIASES = UnitConverter([Conversion("件", Decimal(1), "PCE"), Conversion("千克", Decimal(1), "KGM")])
QUANTITY_FIELDS = {"yield": FieldRule(), "scrap": FieldRule(absent_as_zero=True)}


def _produced(lot: str, quantity: str) -> list[dict[str, Any]]:
    return [{"material_id": "FG-100", "lot_id": lot, "quantity": {"value": quantity, "unit": "PCE"},
             "site": "PLANT1", "storage_location": "WH-FG"}]


def _consumed(*lots: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"material_id": "RM-200", "lot_id": lot, "quantity": {"value": quantity, "unit": "KGM"},
             "site": "PLANT1", "storage_location": "WH-RM"} for lot, quantity in lots]


def _pcs(value: str) -> dict[str, str]:
    return {"value": value, "unit": "PCE"}


def reports() -> list[dict[str, Any]]:
    """Two operations' reports on line 10 (one without scrap), two on line 20 (neither with scrap,
    one consuming nothing)."""
    return [
        report("R-1", operation_id="0010"),  # yield 30, scrap 0.5, L-R-1 from B-4711 75.25
        report("R-2", operation_id="0020", yield_quantity=_pcs("0.1"), scrap_quantity=None,
               produced=_produced("L-R-2", "0.1"), consumed=_consumed(("B-4711", "1.5"), ("B-4712", "2.25"))),
        report("R-3", order=LINE_20, yield_quantity=_pcs("12.25"), scrap_quantity=None,
               produced=_produced("L-R-3", "12.25"), consumed=_consumed(("B-4712", "10"))),
        report("R-4", order=LINE_20, yield_quantity=_pcs("3"), scrap_quantity=None,
               produced=_produced("L-R-4", "3"), consumed=[]),
    ]


class Tenant:
    """The simulator, the reports the sink posted to it, and a query on it."""

    def __init__(self, sim: Any, tmp_path: Path) -> None:
        self.sim, self.envelopes = sim, reports()
        self.ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        self.stage = RemoteDeliverStage("yonyou", "q.yonyou", yonyou_sink(sim), self.ledger)
        self.sent = 0
        for envelope in self.envelopes:
            assert self.post(envelope).note.get("decision") == "applied"
        target = YonyouTargetSettings(url=sim.url, tenant_id=TENANT, warehouse="WH-FG")
        self.query = make_yonyou_query(QueryContext("yonyou", target, ENV))

    def post(self, envelope: dict[str, Any]) -> Any:
        self.sent += 1
        [outcome] = self.stage.process([delivery_of(envelope, self.sent)])
        return outcome

    def read(self, view: str, request: ViewRequest = REQUEST) -> list[Record]:
        return list(YONYOU_VIEWS[view](self.query, request))

    def edit_line(self, document: str, report_id: str, **changes: Any) -> None:
        """A user's edit of the first line of the document the sink posted for ``report_id``."""
        with self.sim.state.lock:
            [doc] = [d for d in self.sim.state.store.all(document) if d.get("out_sys_id") == f"MES:{report_id}"]
            doc[LINES[document]][0].update(changes)
            self.sim.state.store.put(document, doc)

    def close(self) -> None:
        self.query.close()
        self.stage.close()
        self.ledger.close()


def _tenant(path: Path) -> Iterator[Tenant]:
    with simulator() as sim:
        sim.seed_batch({"product": "RM-200", "batchno": "B-4712", "producedate": "2026-11-25"})
        posted = Tenant(sim, path)
        try:
            yield posted
        finally:
            posted.close()


@pytest.fixture(scope="module")
def posted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    """The tenant of the tests that only read it (a simulator takes half a second to stop)."""
    yield from _tenant(tmp_path_factory.mktemp("yonyou"))


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Tenant]:
    """A tenant of its own, for a test that changes it."""
    yield from _tenant(tmp_path)


def compare(
    view: str,
    mes: Iterable[Record],
    erp: Iterable[Record],
    key_fields: tuple[str, ...] | None = None,
    *,
    fields: Mapping[str, FieldRule] | None = None,
    units: UnitConverter = ALIASES,
) -> tuple[list[Discrepancy], Summary]:
    keys = key_fields or VIEW_KEYS[view]
    sides = (Side("mes", project(mes, view, keys), duplicates="sum"),
             Side("erp", project(erp, view, keys), duplicates="sum"))
    with reconcile(*sides, Rules(keys, fields or {}, units)) as run:
        found = list(run)
    assert run.finished
    return found, run.summary


def against_reports(tenant: Tenant, view: str, envelopes: list[dict[str, Any]] | None = None,
                    **options: Any) -> tuple[list[Discrepancy], Summary]:
    envelopes = tenant.envelopes if envelopes is None else envelopes
    mes = report_records(envelopes, view, reversed=reversed_ids(envelopes))
    keys = ("order_id",) if view == "quantities" else None
    if view == "quantities":
        options.setdefault("fields", QUANTITY_FIELDS)
    return compare(view, mes, tenant.read(view), keys, **options)


def shown(found: list[Discrepancy]) -> list[tuple[str, tuple[str, ...], str | None, Decimal | None]]:
    return [(d.kind.value, d.key, d.field, d.delta) for d in found]


# -- what each view reads ----------------------------------------------------------------------
def test_quantities_are_per_order_line_in_yonbips_unit_exactly(posted: Tenant) -> None:
    records = sorted(posted.read("quantities"), key=lambda r: r.ref)
    assert [(r.key, dict(r.values), r.material) for r in records] == [
        ((LINE_10, ""), {"yield": amount("30", "件"), "scrap": amount("0.5", "件")}, "FG-100"),
        ((LINE_10, ""), {"yield": amount("0.1", "件"), "scrap": amount("0", "件")}, "FG-100"),
        ((LINE_20, ""), {"yield": amount("12.25", "件"), "scrap": amount("0", "件")}, "FG-100"),
        ((LINE_20, ""), {"yield": amount("3", "件"), "scrap": amount("0", "件")}, "FG-100"),
    ]
    assert all(r.ref.startswith("finishedreport/WGBG") for r in records)
    assert all(isinstance(v.value, Decimal) for r in records for v in r.values.values())


def test_consumption_and_genealogy_records(posted: Tenant) -> None:
    consumption = sorted((r.key, r.values["quantity"]) for r in posted.read("consumption"))
    assert consumption == [
        ((LINE_10, "RM-200", "B-4711"), Amount(Decimal("1.5"), "千克")),
        ((LINE_10, "RM-200", "B-4711"), Amount(Decimal("75.25"), "千克")),
        ((LINE_10, "RM-200", "B-4712"), Amount(Decimal("2.25"), "千克")),
        ((LINE_20, "RM-200", "B-4712"), Amount(Decimal("10"), "千克")),
    ]
    assert sorted(r.key for r in posted.read("genealogy")) == [
        (LINE_10, "L-R-1", ""), (LINE_10, "L-R-1", "B-4711"),
        (LINE_10, "L-R-2", ""), (LINE_10, "L-R-2", "B-4711"), (LINE_10, "L-R-2", "B-4712"),
        (LINE_20, "L-R-3", ""), (LINE_20, "L-R-3", "B-4712"), (LINE_20, "L-R-4", ""),
    ]


def test_a_window_on_the_voucher_date_reads_what_the_keys_read(posted: Tenant) -> None:
    window = ViewRequest(since=date(2026, 12, 3), until=date(2026, 12, 3))
    for view in ("quantities", "consumption", "genealogy"):
        assert sorted(r.ref for r in posted.read(view, window)) == sorted(r.ref for r in posted.read(view))
    assert posted.read("quantities", ViewRequest(since=date(2026, 12, 4))) == []


def test_the_adapter_offers_every_view() -> None:
    assert adapter.views is YONYOU_VIEWS
    assert set(YONYOU_VIEWS) == set(VIEW_KEYS)


# -- no false positives --------------------------------------------------------------------------
@pytest.mark.parametrize(("view", "pairs"), [("quantities", 2), ("consumption", 3), ("genealogy", 8)])
def test_what_the_sink_posted_reconciles_with_the_reports(posted: Tenant, view: str, pairs: int) -> None:
    found, summary = against_reports(posted, view)
    assert shown(found) == []
    assert (summary.pairs, summary.matched) == (pairs, pairs)


def test_orders_match_the_plan_the_mes_received(tenant: Tenant) -> None:
    plan = [Record((LINE_10,), {"quantity": amount("100", "PCE")}, "FG-100"),
            Record((LINE_20,), {"quantity": amount("40", "PCE")}, "FG-100")]
    found, summary = compare("orders", plan, tenant.read("orders"))
    assert (shown(found), summary.matched) == ([], 2)
    assert {r.ref for r in tenant.read("orders")} == {f"productionorder/{LINE_10}", f"productionorder/{LINE_20}"}

    [order] = [o for o in tenant.sim.documents("productionorder") if o["code"] == ORDER]
    tenant.sim.change_order(order["id"], {"orderProduct": [{"lineNo": 20, "quantity": 45}]})
    found, _ = compare("orders", plan, tenant.read("orders"))
    assert shown(found) == [("quantity_mismatch", (LINE_20,), "quantity", Decimal("5"))]
    assert found[0].unit == "PCE"


def test_units_are_yonbips_as_is_a_job_declares_the_aliases(posted: Tenant) -> None:
    found, _ = against_reports(posted, "consumption", units=UnitConverter())
    assert {d.kind for d in found} == {Kind.UNIT_MISMATCH}
    assert {(d.source_value.unit, d.target_value.unit) for d in found if d.source_value and d.target_value} == {
        ("KGM", "千克")}


def test_yonbip_keeps_no_operation_so_the_quantities_job_keys_by_order(posted: Tenant) -> None:
    mes = report_records(posted.envelopes, "quantities")
    found, _ = compare("quantities", mes, posted.read("quantities"), fields=QUANTITY_FIELDS)
    assert sorted((d.kind.value, d.key) for d in found) == [
        ("missing_in_source", (LINE_10, "")), ("missing_in_target", (LINE_10, "0010")),
        ("missing_in_target", (LINE_10, "0020"))]


def test_scrap_the_mes_left_out_is_zero_in_yonbip(posted: Tenant) -> None:
    found, _ = against_reports(posted, "quantities", fields={"yield": FieldRule(), "scrap": FieldRule()})
    assert [(d.kind, d.key, d.field, d.target_value) for d in found] == [
        (Kind.QUANTITY_MISMATCH, (LINE_20,), "scrap", amount("0", "件"))]


# -- the known differences -----------------------------------------------------------------------
def test_a_completion_report_changed_in_yonbip_is_a_yield_mismatch(tenant: Tenant) -> None:
    tenant.edit_line("finishedreport", "R-3", qualifiedQuantity=12, quantity=12)
    found, _ = against_reports(tenant, "quantities")
    assert shown(found) == [("quantity_mismatch", (LINE_20,), "yield", Decimal("-0.25"))]
    assert found[0].unit == "PCE"


def test_an_issue_changed_in_yonbip_is_a_consumption_mismatch(tenant: Tenant) -> None:
    tenant.edit_line("materialout", "R-3", qty=10.125)
    found, _ = against_reports(tenant, "consumption")
    assert shown(found) == [("quantity_mismatch", (LINE_20, "RM-200", "B-4712"), "quantity", Decimal("0.125"))]


def test_a_report_the_sink_never_posted_is_missing_in_yonbip(posted: Tenant) -> None:
    unposted = report("R-5", order=LINE_20, yield_quantity=_pcs("2"), scrap_quantity=None,
                      produced=_produced("L-R-5", "2"), consumed=_consumed(("B-4711", "4")))
    envelopes = [*posted.envelopes, unposted]
    found, _ = against_reports(posted, "consumption", envelopes)
    assert shown(found) == [("missing_in_target", (LINE_20, "RM-200", "B-4711"), None, None)]
    found, _ = against_reports(posted, "genealogy", envelopes)
    assert sorted(shown(found)) == [("missing_in_target", (LINE_20, "L-R-5", ""), None, None),
                                    ("missing_in_target", (LINE_20, "L-R-5", "B-4711"), None, None)]
    found, _ = against_reports(posted, "quantities", envelopes)
    assert shown(found) == [("quantity_mismatch", (LINE_20,), "yield", Decimal("-2"))]


def test_a_reversal_the_sink_refused_leaves_the_report_in_yonbip(tenant: Tenant) -> None:
    extra = report("R-6", order=LINE_20, yield_quantity=_pcs("1"), scrap_quantity=None,
                   produced=_produced("L-R-6", "1"), consumed=_consumed(("B-4712", "2.5")))
    reversal = report("R-7", order=LINE_20, event="reversed", reversal_of="R-6")
    assert tenant.post(extra).note.get("decision") == "applied"
    refused = tenant.post(reversal)
    assert refused.kind is OutcomeKind.DEAD_LETTER
    assert "no delete" in str(refused.error)
    envelopes = [*tenant.envelopes, extra, reversal]
    found, _ = against_reports(tenant, "quantities", envelopes)
    assert shown(found) == [("quantity_mismatch", (LINE_20,), "yield", Decimal("1"))]
    found, _ = against_reports(tenant, "consumption", envelopes)
    assert shown(found) == [("quantity_mismatch", (LINE_20, "RM-200", "B-4712"), "quantity", Decimal("2.5"))]
    found, _ = against_reports(tenant, "genealogy", envelopes)
    assert sorted(shown(found)) == [("missing_in_source", (LINE_20, "L-R-6", ""), None, None),
                                    ("missing_in_source", (LINE_20, "L-R-6", "B-4712"), None, None)]


# -- bad input -----------------------------------------------------------------------------------
class StubQuery:
    """A query that lists the given records of every kind."""

    kinds = ("order", "report", "receipt", "issue")

    def __init__(self, *records: TargetRecord) -> None:
        self.found = list(records)

    def records(self, kind: str, **_: Any) -> list[TargetRecord]:
        return [r for r in self.found if r.kind == kind]


def test_a_request_without_keys_or_window_is_refused(posted: Tenant) -> None:
    for view, reader in YONYOU_VIEWS.items():
        with pytest.raises(ConfigError, match=rf"view {view}: .*no keys.*give keys or since"):
            list(reader(posted.query, ViewRequest()))
    with pytest.raises(ConfigError, match="<code>-<lineNo>"):
        list(read_orders(posted.query, ViewRequest(keys=["1000042"])))


@pytest.mark.parametrize(("facts", "message"), [
    ({"qualified": "1", "scrap": "0"}, r"finishedreport/WGBG1/10: qualified has no unit"),
    ({"unit": "件", "scrap": "0"}, r"finishedreport/WGBG1/10: the query gives no 'qualified' quantity"),
    ({"unit": "件", "qualified": "1,5", "scrap": "0"}, r"finishedreport/WGBG1/10 qualified: '1,5' is not a number"),
    ({"unit": "件", "qualified": 1.5, "scrap": "0"}, r"qualified: 1.5 is a float"),
])
def test_a_line_without_what_a_view_needs_is_refused_by_name(facts: dict[str, Any], message: str) -> None:
    query = StubQuery(TargetRecord("report", "WGBG1/10", LINE_10, "MES:R-1", facts))
    with pytest.raises(ConfigError, match=message):
        list(read_quantities(query, REQUEST))  # type: ignore[arg-type]


def test_lines_without_a_mark_are_grouped_per_order_line_lines_without_a_lot_give_no_edge() -> None:
    def line(kind: str, number: str, lot: str, mark: str = "", order: str = LINE_10) -> TargetRecord:
        return TargetRecord(kind, number, order, mark, {"material": "M", "lot": lot, "unit": "件", "quantity": "1"})

    query = StubQuery(line("receipt", "CPRK1/1", "P1"), line("issue", "CLCK1/1", "C1"),
                      line("receipt", "CPRK2/1", "P2", "MES:R-9"), line("issue", "CLCK2/1", "C2", "MES:R-9"),
                      line("issue", "CLCK3/1", "C3", order=LINE_20), line("issue", "CLCK4/1", ""),
                      line("receipt", "CPRK3/1", ""))
    assert sorted(r.key for r in read_genealogy(query, REQUEST)) == [  # type: ignore[arg-type]
        (LINE_10, "P1", ""), (LINE_10, "P1", "C1"), (LINE_10, "P2", ""), (LINE_10, "P2", "C2")]
    assert [r.key for r in read_consumption(query, REQUEST)][-1] == (LINE_10, "M", "")  # type: ignore[arg-type]
