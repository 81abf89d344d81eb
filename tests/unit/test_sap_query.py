"""The SAP query lists what SAP holds through its read BAPIs, against the simulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from adapters.sap.query import make_sap_query
from adapters.sap.simulator import SapSimulator
from adapters.sap.soap_client import SapSoapClient
from adapters.sap.target import SapTargetSettings
from bridge.adapter.query import QueryContext
from bridge.errors import ConfigError
from tests.contract.query import QueryContract

from .test_sap_sink_contract import SEED

ENV = {"SAP_USER": "BRIDGE", "SAP_PASSWORD": "s3cret"}


class TestSapQueryContract(QueryContract):
    key_kinds = ("confirmation", "order")  # material documents need a window too (see below)
    window_kinds = ("material_document",)

    @pytest.fixture(autouse=True)
    def _simulator(self, tmp_path: Path) -> Any:
        second = tmp_path / "second.xml"
        second.write_bytes(SEED.read_bytes().replace(b"<AUFNR>208277437</AUFNR>", b"<AUFNR>208277438</AUFNR>"))
        self.sim = SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED, second],
                                stock=["R1CH01007:DM01:B-4711=1000"]).start()
        self.sap = SapSoapClient(SapTargetSettings(url=self.sim.url), "BRIDGE", "s3cret")
        yield
        self.sim.stop()

    def make_query(self) -> Any:
        return make_sap_query(QueryContext("sap", SapTargetSettings(url=self.sim.url), ENV))

    def keys(self) -> tuple[str, str]:
        return ("208277437", "208277438")

    def post(self, kind: str, key: str, mark: str) -> None:
        today = time.strftime("%Y-%m-%d")
        order = key.zfill(12)
        if kind == "confirmation":
            self.sap.call("BAPI_PRODORDCONF_CREATE_TT", {"TIMETICKETS": [
                {"ORDERID": order, "OPERATION": "0010", "YIELD": "1", "POSTG_DATE": today, "EX_IDENT": mark}]})
        elif kind == "material_document":
            self.sap.call("BAPI_GOODSMVT_CREATE", {
                "GOODSMVT_HEADER": {"PSTNG_DATE": today, "HEADER_TXT": mark[:25]},
                "GOODSMVT_CODE": {"GM_CODE": "03"},
                "GOODSMVT_ITEM": [{"MATERIAL": "R1CH01007", "PLANT": "DM01", "BATCH": "B-4711", "MOVE_TYPE": "261",
                                   "ENTRY_QNT": "1", "ENTRY_UOM": "ST", "ORDERID": order}]})
        # orders are the seeds: nothing to post


def test_confirmations_carry_sap_s_quantities_and_the_bridge_s_mark() -> None:
    with SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED]) as sim:
        sap = SapSoapClient(SapTargetSettings(url=sim.url), "BRIDGE", "s3cret")
        sap.call("BAPI_PRODORDCONF_CREATE_TT", {"TIMETICKETS": [
            {"ORDERID": "000208277437", "OPERATION": "0010", "YIELD": "3", "SCRAP": "0.5",
             "POSTG_DATE": time.strftime("%Y-%m-%d"), "EX_IDENT": "RPT-Q-1"}]})
        query = make_sap_query(QueryContext("sap", SapTargetSettings(url=sim.url), ENV))
        [record] = query.records("confirmation", keys=["208277437"])
        with pytest.raises(ConfigError, match="give keys"):
            query.records("confirmation")
        with pytest.raises(ConfigError, match="posting-date window"):
            query.records("material_document", keys=["208277437"])
    assert record.mark == "RPT-Q-1"
    assert record.key == "208277437"
    assert str(record.facts["YIELD"]).startswith("3")
    assert str(record.facts["SCRAP"]).startswith("0.5")


def test_material_documents_of_a_window_narrowed_to_orders() -> None:
    today = time.strftime("%Y-%m-%d")
    with SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED], stock=["R1CH01007:DM01:B-4711=10"]) as sim:
        sap = SapSoapClient(SapTargetSettings(url=sim.url), "BRIDGE", "s3cret")
        for order, text in (("000208277437", "RPT-M-1/I"), ("000208277999", "OTHER/I")):
            sap.call("BAPI_GOODSMVT_CREATE", {
                "GOODSMVT_HEADER": {"PSTNG_DATE": today, "HEADER_TXT": text}, "GOODSMVT_CODE": {"GM_CODE": "03"},
                "GOODSMVT_ITEM": [{"MATERIAL": "R1CH01007", "PLANT": "DM01", "BATCH": "B-4711", "MOVE_TYPE": "261",
                                   "ENTRY_QNT": "1", "ENTRY_UOM": "ST", "ORDERID": order}]})
        query = make_sap_query(QueryContext("sap", SapTargetSettings(url=sim.url), ENV))
        from datetime import date

        mine = query.records("material_document", keys=["208277437"], since=date.today())
        every = query.records("material_document", since=date.today())
    assert [(r.key, r.mark) for r in mine] == [("208277437", "RPT-M-1/I")]
    assert sorted(r.mark for r in every) == ["OTHER/I", "RPT-M-1/I"]
    assert mine[0].facts["items"][0]["BATCH"] == "B-4711"


class _CountingClient:
    """The query's client, counting the BAPIs it calls."""

    def __init__(self, client: Any) -> None:
        self.client, self.called = client, []

    def call(self, bapi: str, params: Any) -> Any:
        self.called.append(bapi)
        return self.client.call(bapi, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_confirmation_s_detail_is_asked_once_and_a_later_cancellation_still_counts() -> None:
    from adapters.sap.detail_cache import DetailCache

    with SapSimulator(user="BRIDGE", password="s3cret", seeds=[SEED]) as sim:
        sap = SapSoapClient(SapTargetSettings(url=sim.url), "BRIDGE", "s3cret")
        sap.call("BAPI_PRODORDCONF_CREATE_TT", {"TIMETICKETS": [
            {"ORDERID": "000208277437", "OPERATION": "0010", "YIELD": "3", "POSTG_DATE": time.strftime("%Y-%m-%d"),
             "EX_IDENT": "RPT-C-1"}]})
        query = make_sap_query(QueryContext("sap", SapTargetSettings(url=sim.url), ENV))
        query.details = DetailCache()  # this test's own, not the process's
        counting = _CountingClient(query.client)
        query.client = counting
        [first] = query.records("confirmation", keys=["208277437"])
        [again] = query.records("confirmation", keys=["208277437"])
        assert counting.called.count("BAPI_PRODORDCONF_GETDETAIL") == 1
        assert again.facts == first.facts
        conf_no, counter = first.number.split("/")
        sap.call("BAPI_PRODORDCONF_CANCEL", {"CONFIRMATION": conf_no, "CONFIRMATIONCOUNTER": counter})
        after = {r.number: r.facts for r in query.records("confirmation", keys=["208277437"])}
        query.close()
    assert after[first.number]["REVERSED"] == "X"  # the list says so, not the kept detail
    [cancellation] = [facts for number, facts in after.items() if number != first.number]
    assert cancellation["REV_CONF_CNT"] == counter
