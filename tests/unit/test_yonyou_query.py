"""The Yonyou query lists what YonBIP holds through its list APIs, against the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.yonyou.query import make_yonyou_query
from adapters.yonyou.sink import resubmit_check_key
from adapters.yonyou.target import YonyouTargetSettings
from bridge.adapter.query import QueryContext
from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.pipeline.remote_deliver import RemoteDeliverStage
from tests.contract.query import QueryContract
from tests.contract.sink import delivery_of

from .yonyou_support import ENV, ORDER, TENANT, report, simulator, yonyou_sink

DOCUMENTS = {"report": "finishedreport", "receipt": "storeprorecord", "issue": "materialout"}


def query_of(sim: Any, **settings: Any) -> Any:
    target = YonyouTargetSettings(url=sim.url, tenant_id=TENANT, warehouse="WH-FG")
    query = make_yonyou_query(QueryContext("yonyou", target, ENV))
    for name, value in settings.items():
        setattr(query, name, value)
    return query


class TestYonyouQueryContract(QueryContract):
    key_kinds = ("order", "report", "receipt", "issue")
    window_kinds = ("report", "receipt", "issue")

    @pytest.fixture(autouse=True)
    def _simulator(self) -> Any:
        self.sim = simulator().start()
        self.sink = yonyou_sink(self.sim)
        yield
        self.sink.close()
        self.sim.stop()

    def make_query(self) -> Any:
        return query_of(self.sim)

    def keys(self) -> tuple[str, str]:
        return (f"{ORDER}-10", f"{ORDER}-20")

    def post(self, kind: str, key: str, mark: str) -> None:
        """One document of ``kind`` saved through the sink's own save (its links), ``mark`` as its key."""
        if kind == "order":
            return  # orders are the seed's
        document = DOCUMENTS[kind]
        envelope = report(mark, order=key, posting_date=date.today().isoformat())
        data = self.sink.mappings[document].render(envelope)
        self.sink._save({"document": document, "data": data, "order_id": key, "key": mark,
                         "check": resubmit_check_key(mark, document)})


@pytest.fixture
def sim() -> Any:
    with simulator() as simulated:
        yield simulated


def test_two_reports_on_one_order_read_back_with_their_marks_and_exact_quantities(sim: Any, tmp_path: Path) -> None:
    today = date.today().isoformat()
    order_id = f"{ORDER}-10"
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    stage = RemoteDeliverStage("yonyou", "q.yonyou", yonyou_sink(sim), ledger)
    try:
        first = report("R-1", posting_date=today)
        second = report("R-2", posting_date=today, yield_quantity={"value": "0.1", "unit": "PCE"},
                        scrap_quantity={"value": "0.2", "unit": "PCE"},
                        produced=[{"material_id": "FG-100", "lot_id": "L-R-2", "quantity": {"value": "0.1", "unit": "PCE"},
                                   "site": "PLANT1", "storage_location": "WH-FG"}])
        assert stage.process([delivery_of(first)])[0].note["decision"] == "applied"
        assert stage.process([delivery_of(second, 2)])[0].note["decision"] == "applied"
    finally:
        stage.close()
        ledger.close()
    query = query_of(sim, page_size=1)  # every page read, one row a page
    try:
        reports = query.records("report", keys=[order_id])
        receipts = query.records("receipt", keys=[order_id])
        issues = query.records("issue", since=date.today(), until=date.today())
        [order] = query.records("order", keys=[order_id])
        assert query.records("report", keys=[f"{ORDER}-20"]) == []
        with pytest.raises(ConfigError, match="give keys or since"):
            query.records("report")
        with pytest.raises(ConfigError, match="<code>-<lineNo>"):
            query.records("order", keys=["1000042"])
    finally:
        query.close()
    by_mark = {r.mark: r for r in reports}
    assert set(by_mark) == {"MES:R-1", "MES:R-2"}
    assert {r.key for r in reports} == {order_id}
    assert by_mark["MES:R-1"].facts["quantity"] == "30.5"  # completed: yield + scrap
    assert by_mark["MES:R-1"].facts["qualified"] == "30"
    assert by_mark["MES:R-2"].facts["quantity"] == "0.3"  # 0.1 + 0.2, exactly
    assert by_mark["MES:R-2"].facts["qualified"] == "0.1"
    assert by_mark["MES:R-2"].facts["scrap"] == "0.2"
    assert by_mark["MES:R-1"].facts["status"] == "1"  # audited
    assert by_mark["MES:R-1"].number.startswith("WGBG")
    assert sorted((r.mark, r.key, r.facts["lot"], r.facts["quantity"]) for r in receipts) == [
        ("MES:R-1", order_id, "L-R-1", "30"), ("MES:R-2", order_id, "L-R-2", "0.1")]
    assert {(r.mark, r.key, r.facts["material"], r.facts["quantity"]) for r in issues} == {
        ("MES:R-1", order_id, "RM-200", "75.25"), ("MES:R-2", order_id, "RM-200", "75.25")}
    assert order.number == order.key == order_id
    assert Decimal(order.facts["completed"]) == Decimal("30.8")
    assert Decimal(order.facts["stocked_in"]) == Decimal("30.1")
    assert order.facts["material"] == "FG-100"
