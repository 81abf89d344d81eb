"""The Kingdee query lists what K/3 Cloud holds through ExecuteBillQuery, against the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.kingdee.query import make_kingdee_query
from adapters.kingdee.target import KingdeeTargetSettings
from bridge.adapter.query import QueryContext
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from tests.contract.query import QueryContract
from tests.contract.sink import delivery_of

from .kingdee_support import ACCT, APP_ID, ENV, USER, kingdee_sink, report, simulator

FORMS = {"report": "PRD_MORPT", "receipt": "PRD_INSTOCK", "issue": "PRD_PickMtrl"}


def query_of(sim: Any) -> Any:
    settings = KingdeeTargetSettings(url=sim.url, acct_id=ACCT, user=USER, app_id=APP_ID)
    return make_kingdee_query(QueryContext("kingdee", settings, ENV))


class TestKingdeeQueryContract(QueryContract):
    key_kinds = ("order", "report", "receipt", "issue")
    window_kinds = ("report", "receipt", "issue")

    @pytest.fixture(autouse=True)
    def _simulator(self) -> Any:
        self.sim = simulator().start()
        self.sink = kingdee_sink(self.sim)
        yield
        self.sink.close()
        self.sim.stop()

    def make_query(self) -> Any:
        return query_of(self.sim)

    def keys(self) -> tuple[str, str]:
        return ("MO001001-1", "MO001001-2")

    def post(self, kind: str, key: str, mark: str) -> None:
        """One bill of ``kind`` saved through the sink's own save (its links), ``mark`` as its key."""
        if kind == "order":
            return  # orders are the seed's
        form = FORMS[kind]
        envelope = report(mark, order=key, posting_date=date.today().isoformat())
        model = self.sink.mappings[form].render(envelope)
        self.sink._save({"form": form, "model": model, "order_id": key, "key": mark})


@pytest.fixture
def sim() -> Any:
    with simulator() as simulated:
        yield simulated


def test_two_reports_on_one_order_read_back_with_their_marks_and_exact_quantities(sim: Any, tmp_path: Path) -> None:
    today = date.today().isoformat()
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    stage = RemoteDeliverStage("kingdee", "q.kingdee", kingdee_sink(sim), ledger)
    try:
        first = report("R-1", posting_date=today)
        second = report("R-2", posting_date=today, yield_quantity={"value": "0.1", "unit": "Pcs"},
                        scrap_quantity={"value": "0.2", "unit": "Pcs"},
                        produced=[{"material_id": "FG-100", "lot_id": "L-R-2", "quantity": {"value": "0.1", "unit": "Pcs"},
                                   "site": "100", "storage_location": "FG01"}])
        assert stage.process([delivery_of(first)])[0].note["decision"] == "applied"
        assert stage.process([delivery_of(second, 2)])[0].note["decision"] == "applied"
    finally:
        stage.close()
        ledger.close()
    query = query_of(sim)
    try:
        reports = query.records("report", keys=["MO001001-1"])
        receipts = query.records("receipt", keys=["MO001001-1"])
        issues = query.records("issue", since=date.today(), until=date.today())
        [order] = query.records("order", keys=["MO001001-1"])
        with pytest.raises(ConfigError, match="give keys or since"):
            query.records("report")
        with pytest.raises(ConfigError, match="<FBillNo>-<FSeq>"):
            query.records("order", keys=["1000042"])
    finally:
        query.close()
    by_mark = {r.mark: r for r in reports}
    assert set(by_mark) == {"MES:R-1", "MES:R-2"}
    assert {r.key for r in reports} == {"MO001001-1"}
    assert by_mark["MES:R-1"].facts["quantity"] == "30"
    assert by_mark["MES:R-2"].facts["quantity"] == "0.1"
    assert by_mark["MES:R-2"].facts["finished"] == "0.3"  # 0.1 + 0.2, exactly
    assert by_mark["MES:R-2"].facts["scrap"] == "0.2"
    assert by_mark["MES:R-1"].facts["status"] == "C"
    assert by_mark["MES:R-1"].number.startswith("SCHB")
    assert by_mark["MES:R-1"].number.endswith("/1")
    assert sorted((r.mark, r.facts["lot"], r.facts["quantity"]) for r in receipts) == [
        ("MES:R-1", "L-R-1", "30"), ("MES:R-2", "L-R-2", "0.1")]
    assert {(r.mark, r.facts["material"], r.facts["quantity"], r.facts["unit"]) for r in issues} == {
        ("MES:R-1", "RM-200", "75.25", "kg"), ("MES:R-2", "RM-200", "75.25", "kg")}
    assert order.number == order.key == "MO001001-1"
    assert Decimal(order.facts["reported"]) == Decimal("30.1")
    assert Decimal(order.facts["stocked_in"]) == Decimal("30.1")
    assert order.facts["material"] == "FG-100"
    assert order.facts["unit"] == "Pcs"


def test_pages_are_read_to_the_end(sim: Any) -> None:
    query = query_of(sim)
    query.page_size = 1
    try:
        orders = query.records("order", since=date(2026, 1, 1), until=date(2027, 12, 31))
        assert len({r.number for r in orders}) == len(orders) >= 2
        assert query.records("order", since=date(2020, 1, 1), until=date(2020, 1, 2)) == []
    finally:
        query.close()
