"""The Kingdee and Yonyou pollers against their simulators: every record taken in once across
pages of one row, a change taken in again, the watermark saved, a deleted record skipped, and
what is ingested is the ERP's own reply, which the codec reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.kingdee.codec import KingdeeCodec
from adapters.kingdee.poller import KingdeeFeed
from adapters.kingdee.settings import KingdeeConnection
from adapters.yonyou.client import YonyouClient
from adapters.yonyou.codec import YonyouCodec
from adapters.yonyou.poller import YonyouFeed
from adapters.yonyou.settings import YonyouClientSettings
from bridge.adapter.polling import Poller
from bridge.ledger import Ledger

from . import kingdee_support, yonyou_support


@dataclass
class Context:
    positions: Any
    system: str
    taken: list[tuple[bytes, str]] = field(default_factory=list)

    def ingest(self, items: Any) -> list[Any]:
        self.taken.extend(items)
        return []


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    ledger = Ledger.connect("sqlite://")
    yield ledger
    ledger.close()


def test_the_kingdee_poller_pages_views_and_takes_a_change_again(ledger: Ledger) -> None:
    with kingdee_support.simulator() as sim:
        client = KingdeeConnection(url=sim.url, acct_id=kingdee_support.ACCT, user=kingdee_support.USER,
                                   app_id=kingdee_support.APP_ID).client("test", kingdee_support.ENV)
        context = Context(ledger.positions, "kingdee")
        feeds = [KingdeeFeed(client, form, page_size=1) for form in ("PRD_MO", "BD_MATERIAL", "BD_BatchMainFile")]
        poller = Poller("kingdee", context, feeds, poll_s=1, overlap_s=60)
        assert poller.poll_once() == 1 + 2 + 1  # one order bill, two materials, one lot
        documents = [d for data, origin in context.taken for d in KingdeeCodec().decode(data, origin=origin)]
        assert sorted(d.document_type for d in documents) == ["BD_BatchMainFile", "BD_MATERIAL", "BD_MATERIAL", "PRD_MO"]
        assert poller.poll_once() == 0  # inside the overlap, nothing new
        [mo] = [b for b in sim.bills("PRD_MO") if b["FBillNo"] == "MO001001"]
        sim.change_bill("PRD_MO", "MO001001", {"FTreeEntity": [{"FEntryID": mo["FTreeEntity"][0]["FEntryID"], "FQty": 120}]})
        assert poller.poll_once() == 1
        assert ledger.positions.get("kingdee:PRD_MO") is not None
        client.close()


def test_the_yonyou_poller_pages_reads_the_detail_and_takes_a_change_again(ledger: Ledger) -> None:
    with yonyou_support.simulator() as sim:
        client = YonyouClient(YonyouClientSettings(url=sim.url, tenant_id=yonyou_support.TENANT), env=yonyou_support.ENV)
        context = Context(ledger.positions, "yonyou")
        feeds = [YonyouFeed(client, name, page_size=1) for name in ("productionorder", "product", "batchno")]
        poller = Poller("yonyou", context, feeds, poll_s=1, overlap_s=60)
        assert poller.poll_once() == 1 + 2 + 1  # one order (two lines), two materials, one batch
        documents = [d for data, origin in context.taken for d in YonyouCodec().decode(data, origin=origin)]
        assert sorted(d.document_type for d in documents) == ["batchno", "product", "product", "productionorder"]
        assert poller.poll_once() == 0
        [order] = sim.documents("productionorder")
        sim.change_order(order["id"], {"orderProduct": [{"id": order["orderProduct"][0]["id"], "quantity": 90}]})
        assert poller.poll_once() == 1
        client.close()
