"""SAP simulator, driven with zeep: BAPI_GOODSMVT_CREATE / _GETITEMS / _CANCEL, the order list
and the IDoc endpoint's MBGMCR posting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sap.simulator import SapSimulator
from tests.unit.sap_sim_support import (
    ORDER,
    TODAY,
    UNRELEASED,
    Sap,
    items,
    movement,
    running,
    session,
)

CREATE = "BAPI_GOODSMVT_CREATE"


def _post(sap: Sap, code: str, *rows: dict, date: str = TODAY, text: str = "rep-1/101") -> object:
    return sap.call(CREATE, GOODSMVT_HEADER={"PSTNG_DATE": date, "HEADER_TXT": text},
                    GOODSMVT_CODE={"GM_CODE": code}, GOODSMVT_ITEM=list(rows))


def _errors(reply: object) -> list[tuple[str, str, str]]:
    return [(r["ID"], r["NUMBER"], r["MESSAGE"]) for r in items(reply["RETURN"]) if r["TYPE"] in ("E", "A")]


def test_a_receipt_posts_one_document_creates_its_batch_and_reads_back_by_header_text(
        sim: SapSimulator, sap: Sap) -> None:
    reply = _post(sap, "02", movement(MATERIAL="FG-100", BATCH="FB-1", MOVE_TYPE="101", MVT_IND="F",
                                      ENTRY_QNT="7.000", STGE_LOC="0002"))
    assert _errors(reply) == []
    number, year = reply["MATERIALDOCUMENT"], reply["MATDOCUMENTYEAR"]
    assert number.startswith("49000000")
    assert year == TODAY[:4]
    assert (reply["GOODSMVT_HEADRET"]["MAT_DOC"], reply["GOODSMVT_HEADRET"]["DOC_YEAR"]) == (number, year)
    assert sim.state.stock_of("FG-100", "DM01", "FB-1") == Decimal("7")
    found = sap.call("BAPI_GOODSMVT_GETITEMS", MATERIAL_RA=[{"SIGN": "I", "OPTION": "EQ", "LOW": "FG-100"}],
                     MOVE_TYPE_RA=[{"SIGN": "I", "OPTION": "EQ", "LOW": "101"}],
                     PSTNG_DATE_RA=[{"SIGN": "I", "OPTION": "EQ", "LOW": TODAY}])
    header = items(found["GOODSMVT_HEADER"])
    assert [(h["MAT_DOC"], h["HEADER_TXT"]) for h in header] == [(number, "rep-1/101")]
    assert [(i["BATCH"], i["ENTRY_QNT"]) for i in items(found["GOODSMVT_ITEMS"])] == [("FB-1", Decimal("7"))]


def test_getitems_without_a_match_lists_nothing(sap: Sap) -> None:
    _post(sap, "03", movement())
    found = sap.call("BAPI_GOODSMVT_GETITEMS", BATCH_RA=[{"SIGN": "I", "OPTION": "EQ", "LOW": "NOPE"}])
    assert items(found["GOODSMVT_HEADER"]) == []
    assert items(found["GOODSMVT_ITEMS"]) == []


def test_a_closed_posting_period_is_m7_053(sim: SapSimulator, sap: Sap) -> None:
    reply = _post(sap, "03", movement(), date="2020-05-04")
    ((msg_id, number, text),) = _errors(reply)
    first, second = sim.settings.open_periods
    assert (msg_id, number) == ("M7", "053")
    assert text == f"Posting only possible in periods {first} and {second} in company code 1000"
    assert sim.state.material_documents() == []


def test_open_periods_are_configurable(tmp_path: Path) -> None:
    with running(tmp_path, open_periods=["2020/05", "2020/04"]) as simulator:
        assert _errors(_post(Sap(simulator), "03", movement(), date="2020-05-04")) == []


def test_an_issue_beyond_the_batch_stock_is_m7_021_and_changes_nothing(sim: SapSimulator, sap: Sap) -> None:
    reply = _post(sap, "03", movement(MATERIAL="RM-2", BATCH="RB-2", ENTRY_QNT="5.500"))
    ((msg_id, number, text),) = _errors(reply)
    assert (msg_id, number, text) == ("M7", "021", "Deficit of BA Unrestricted-use 0.5 EA : RM-2 DM01 RB-2")
    assert sim.state.stock_of("RM-2", "DM01", "RB-2") == Decimal("5")
    assert sim.state.material_documents() == []


@pytest.mark.parametrize(("code", "move_type"), [("03", "999"), ("02", "261"), ("03", "101")])
def test_a_movement_type_not_allowed_is_m7_096(sim: SapSimulator, sap: Sap, code: str, move_type: str) -> None:
    ((msg_id, number, text),) = _errors(_post(sap, code, movement(MOVE_TYPE=move_type)))
    assert (msg_id, number, text) == ("M7", "096", f"Goods movement not possible with mvmt type {move_type}")
    assert sim.state.material_documents() == []


def test_a_posting_date_is_required(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call(CREATE, GOODSMVT_HEADER={"HEADER_TXT": "x"}, GOODSMVT_CODE={"GM_CODE": "03"},
                     GOODSMVT_ITEM=[movement()])
    ((_, _, text),) = _errors(reply)
    assert "PSTNG_DATE" in text
    assert sim.state.material_documents() == []


def test_testrun_posts_nothing(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call(CREATE, GOODSMVT_HEADER={"PSTNG_DATE": TODAY}, GOODSMVT_CODE={"GM_CODE": "03"},
                     GOODSMVT_ITEM=[movement()], TESTRUN="X")
    assert _errors(reply) == []
    assert reply["MATERIALDOCUMENT"] is None
    assert sim.state.material_documents() == []


def test_transfer_344_then_343_moves_between_unrestricted_and_blocked(sim: SapSimulator, sap: Sap) -> None:
    _post(sap, "04", movement(MOVE_TYPE="344", ENTRY_QNT="10.000", ORDERID=""))
    assert sim.state.stock_of("RM-1", "DM01", "RB-1", "B") == Decimal("10")
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("990")
    ((_, number, _),) = _errors(_post(sap, "04", movement(MOVE_TYPE="343", ENTRY_QNT="11.000", ORDERID="")))
    assert number == "021"
    _post(sap, "04", movement(MOVE_TYPE="343", ENTRY_QNT="10.000", ORDERID=""))
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("1000")


def test_cancel_posts_the_reversal_document_once(sim: SapSimulator, sap: Sap) -> None:
    posted = _post(sap, "03", movement(ENTRY_QNT="4.000"))
    args = {"MATERIALDOCUMENT": posted["MATERIALDOCUMENT"], "MATDOCUMENTYEAR": posted["MATDOCUMENTYEAR"]}
    reversal = sap.call("BAPI_GOODSMVT_CANCEL", **args)
    assert _errors(reversal) == []
    assert reversal["GOODSMVT_HEADRET"]["MAT_DOC"] != posted["MATERIALDOCUMENT"]
    reversed_doc = sim.state.documents[(reversal["GOODSMVT_HEADRET"]["MAT_DOC"], posted["MATDOCUMENTYEAR"])]
    assert [i.move_type for i in reversed_doc.items] == ["262"]
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("1000")
    ((_, _, text),) = _errors(sap.call("BAPI_GOODSMVT_CANCEL", **args))
    assert "already been cancelled" in text
    ((_, _, text),) = _errors(sap.call("BAPI_GOODSMVT_CANCEL", MATERIALDOCUMENT="4999999999", MATDOCUMENTYEAR="2020"))
    assert "does not exist" in text
    assert len(sim.state.material_documents()) == 2


def test_order_list_shows_status_and_confirmed_quantity(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call("BAPI_PRODORD_GET_LIST", ORDER_NUMBER_RANGE=[{"SIGN": "I", "OPTION": "BT", "LOW": "1001528",
                                                                  "HIGH": "1001529"}])
    rows = {r["ORDER_NUMBER"]: r for r in items(reply["ORDER_HEADER"])}
    assert {n: (r["SYSTEM_STATUS"], r["MATERIAL"], r["TARGET_QUANTITY"]) for n, r in rows.items()} == {
        ORDER: ("REL", "FG-100", Decimal("10")), UNRELEASED: ("CRTD", "FG-100", Decimal("10"))}


MBGMCR = (
    "<?xml version='1.0' encoding='utf-8'?><MBGMCR03><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'><TABNAM>EDI_DC40</TABNAM>"
    "<DOCNUM>0000000000000077</DOCNUM><IDOCTYP>MBGMCR03</IDOCTYP><MESTYP>MBGMCR</MESTYP></EDI_DC40>"
    "<E1MBGMCR SEGMENT='1'><E1BP2017_GM_HEAD_01 SEGMENT='1'><PSTNG_DATE>{date}</PSTNG_DATE>"
    "<HEADER_TXT>idoc-77</HEADER_TXT></E1BP2017_GM_HEAD_01><E1BP2017_GM_CODE SEGMENT='1'><GM_CODE>03</GM_CODE>"
    "</E1BP2017_GM_CODE><E1BP2017_GM_ITEM_CREATE SEGMENT='1'><MATERIAL>RM-1</MATERIAL><PLANT>DM01</PLANT>"
    "<BATCH>RB-1</BATCH><MOVE_TYPE>261</MOVE_TYPE><ENTRY_QNT>2.000</ENTRY_QNT><ENTRY_UOM>EA</ENTRY_UOM>"
    "<ORDERID>1001528</ORDERID></E1BP2017_GM_ITEM_CREATE></E1MBGMCR></IDOC></MBGMCR03>"
)


def test_the_idoc_endpoint_posts_an_mbgmcr_goods_movement(sim: SapSimulator) -> None:
    body = MBGMCR.format(date=TODAY.replace("-", "")).encode()
    reply = session().post(sim.idoc_endpoint, data=body, headers={"Content-Type": "application/xml"}, timeout=10)
    assert reply.status_code == 200
    assert 'STATUS="53"' in reply.text
    (document,) = sim.state.material_documents()
    assert (document.header_text, document.items[0].move_type, document.items[0].order) == ("idoc-77", "261", ORDER)
    assert sim.state.inbound_idocs[0]["docnum"] == "0000000000000077"


def test_the_idoc_endpoint_stores_a_failing_mbgmcr_with_status_51(sim: SapSimulator) -> None:
    body = MBGMCR.format(date="20200101").encode()
    reply = session().post(sim.idoc_endpoint, data=body, timeout=10)
    assert 'STATUS="51"' in reply.text
    assert sim.state.material_documents() == []
    assert sim.state.inbound_idocs[0]["messages"][0]["NUMBER"] == "053"


def test_the_idoc_endpoint_refuses_what_is_no_idoc_with_a_fault(sim: SapSimulator) -> None:
    reply = session().post(sim.idoc_endpoint, data=b"<nothing/>", timeout=10)
    assert reply.status_code == 500
    assert "<faultstring" in reply.text
    assert sim.state.inbound_idocs == []


def test_batch_change_sets_attributes_and_the_restricted_status_moves_the_stock(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call("BAPI_BATCH_CHANGE", MATERIAL="RM-1", BATCH="RB-1", PLANT="DM01",
                     BATCHATTRIBUTES={"RESTRICTED": "X", "VENDRBATCH": "V-1"},
                     BATCHATTRIBUTESX={"RESTRICTED": "X", "VENDRBATCH": "X"})
    assert [r["TYPE"] for r in items(reply["RETURN"])] == ["S"]
    assert reply["BATCHATTRIBUTES"]["RESTRICTED"] == "X"
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("0")
    assert sim.state.stock_of("RM-1", "DM01", "RB-1", "R") == Decimal("1000")
    ((_, number, text),) = _errors(_post(sap, "03", movement()))  # restricted stock cannot be issued
    assert (number, text) == ("021", "Deficit of BA Unrestricted-use 3 EA : RM-1 DM01 RB-1")
    sap.call("BAPI_BATCH_CHANGE", MATERIAL="RM-1", BATCH="RB-1", BATCHATTRIBUTES={"RESTRICTED": ""},
             BATCHATTRIBUTESX={"RESTRICTED": "X"})
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("1000")
    assert [d.items[0].move_type for d in sim.state.material_documents()] == ["341", "342"]
    missing = sap.call("BAPI_BATCH_CHANGE", MATERIAL="RM-1", BATCH="NOPE")
    ((_, _, text),) = _errors(missing)
    assert text == "Batch NOPE of material RM-1 does not exist"
