"""SAP simulator, driven with zeep from the committed WSDLs: confirmations, backflush, reads,
cancellation and the RETURN errors of BAPI_PRODORDCONF_*."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sap.simulator import SapSimulator
from tests.unit.sap_sim_support import (
    ORDER,
    TODAY,
    UNRELEASED,
    Sap,
    items,
    movement,
    ticket,
)

CREATE = "BAPI_PRODORDCONF_CREATE_TT"


def _only(table: object) -> dict:
    rows = items(table)
    assert len(rows) == 1, rows
    return rows[0]


def test_confirmation_with_its_goods_movements_reads_back_through_the_read_bapis(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call(CREATE, TIMETICKETS=[ticket(EX_IDENT="report-4711", CONF_TEXT="MES report", SCRAP="1.000")],
                     GOODSMOVEMENTS=[movement(), movement(MATERIAL="FG-100", BATCH="FB-9", MOVE_TYPE="101",
                                                           STGE_LOC="0002", ENTRY_QNT="5.000")],
                     LINK_CONF_GOODSMOV=[{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 1},
                                         {"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 2}])
    line = _only(reply["DETAIL_RETURN"])
    assert (line["TYPE"], line["ID"], line["NUMBER"]) == ("I", "RU", "100")
    assert line["MESSAGE"] == f"Confirmation of order {ORDER} saved"
    conf_no, counter = line["CONF_NO"], line["CONF_CNT"]
    assert counter == "00000001"

    listed = _only(sap.call("BAPI_PRODORDCONF_GETLIST",
                            ORDER_RANGE=[{"SIGN": "I", "OPTION": "EQ", "LOW": ORDER}])["CONFIRMATIONS"])
    assert (listed["CONF_NO"], listed["CONF_CNT"], listed["EX_IDENT"]) == (conf_no, counter, "report-4711")

    detail = sap.call("BAPI_PRODORDCONF_GETDETAIL", CONFIRMATION=conf_no, CONFIRMATIONCOUNTER=counter)
    conf = detail["CONF_DETAIL"]
    assert (conf["YIELD"], conf["SCRAP"], conf["CONF_QUAN_UNIT"]) == (Decimal("5"), Decimal("1"), "EA")
    assert (conf["POSTG_DATE"], conf["CONF_TEXT"], conf["EX_IDENT"]) == (TODAY, "MES report", "report-4711")
    moves = items(detail["GOODSMOVEMENTS"])
    assert [(m["MOVE_TYPE"], m["BATCH"], m["ENTRY_QNT"]) for m in moves] == [
        ("261", "RB-1", Decimal("3")), ("101", "FB-9", Decimal("5"))]
    assert len({m["MAT_DOC"] for m in moves}) == 1  # one material document for the call

    found = sap.call("BAPI_GOODSMVT_GETITEMS", BATCH_RA=[{"SIGN": "I", "OPTION": "EQ", "LOW": "FB-9"}],
                     PSTNG_DATE_RA=[{"SIGN": "I", "OPTION": "BT", "LOW": TODAY, "HIGH": TODAY}])
    assert _only(found["GOODSMVT_HEADER"])["MAT_DOC"] == moves[0]["MAT_DOC"]
    assert _only(found["GOODSMVT_ITEMS"])["MOVE_TYPE"] == "101"
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("997")
    assert ("FG-100", "DM01", "FB-9") in sim.state.batches  # the receipt created its batch


def test_without_links_the_order_backflushes_its_components_and_receives_on_the_last_operation(
        sim: SapSimulator, sap: Sap) -> None:
    sap.call(CREATE, TIMETICKETS=[ticket(OPERATION="0010", YIELD="4.000", SCRAP="1.000")])
    sap.call(CREATE, TIMETICKETS=[ticket(OPERATION="0020", YIELD="4.000")])
    documents = sim.state.material_documents()
    assert [[(i.move_type, i.material, i.quantity) for i in d.items] for d in documents] == [
        [("261", "RM-1", Decimal("10.000"))],  # 20 per 10 ordered, for yield + scrap 5
        [("101", "FG-100", Decimal("4.000"))],  # automatic receipt of the yield
    ]
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("990")


def test_a_link_with_index_goodsmov_zero_suppresses_the_backflush(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call(CREATE, TIMETICKETS=[ticket(OPERATION="0020")],
                     LINK_CONF_GOODSMOV=[{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 0}])
    assert _only(reply["DETAIL_RETURN"])["TYPE"] == "I"
    assert sim.state.material_documents() == []
    assert sim.state.confirmations()[0].material_document is None


@pytest.mark.parametrize(("row", "number", "text"), [
    (ticket(ORDERID="999"), "001", "Order 000000000999 does not exist"),
    (ticket(ORDERID=UNRELEASED), "002", f"Order {UNRELEASED} is not released (status CRTD)"),
    (ticket(OPERATION="0099"), "003", f"Operation 0099 does not exist in order {ORDER}"),
    (ticket(ORDERID=""), "005", "Enter CONF_NO or ORDERID and OPERATION"),
    (ticket(POSTG_DATE="2001-01-31"), "053", None),
])
def test_business_errors_are_error_lines_and_post_nothing(sim: SapSimulator, sap: Sap, row: dict, number: str,
                                                         text: str | None) -> None:
    line = _only(sap.call(CREATE, TIMETICKETS=[row])["DETAIL_RETURN"])
    assert (line["TYPE"], line["NUMBER"], line["CONF_NO"]) == ("E", number, "0000000000")
    if text:
        assert line["MESSAGE"] == text
    else:
        assert line["ID"] == "M7"
        assert line["MESSAGE"].startswith("Posting only possible in periods ")
        assert line["MESSAGE"].endswith(" in company code 1000")
    assert sim.state.confirmations() == []


def test_a_deficit_in_the_goods_movements_refuses_the_whole_call(sim: SapSimulator, sap: Sap) -> None:
    reply = sap.call(CREATE, TIMETICKETS=[ticket(), ticket(OPERATION="0020")],
                     GOODSMOVEMENTS=[movement(MATERIAL="RM-2", BATCH="RB-2", ENTRY_QNT="6.000")],
                     LINK_CONF_GOODSMOV=[{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 1},
                                         {"INDEX_CONFIRM": 2, "INDEX_GOODSMOV": 0}])
    first, second = items(reply["DETAIL_RETURN"])
    assert (first["TYPE"], first["ID"], first["NUMBER"]) == ("E", "M7", "021")
    assert first["MESSAGE"] == "Deficit of BA Unrestricted-use 1 EA : RM-2 DM01 RB-2"
    assert (second["TYPE"], second["NUMBER"]) == ("E", "009")
    assert sim.state.confirmations() == []
    assert sim.state.stock_of("RM-2", "DM01", "RB-2") == Decimal("5")


def test_testrun_checks_without_posting(sim: SapSimulator, sap: Sap) -> None:
    line = _only(sap.call(CREATE, TESTRUN="X", TIMETICKETS=[ticket()])["DETAIL_RETURN"])
    assert line["TYPE"] == "S"
    assert sim.state.confirmations() == []
    assert sim.state.material_documents() == []


def test_confirmation_number_identifies_the_operation_and_counters_count_up(sim: SapSimulator, sap: Sap) -> None:
    conf_no = sim.state.orders[ORDER].operations["0020"].conf_no
    for expected in ("00000001", "00000002"):
        row = {"CONF_NO": conf_no, "YIELD": "1.000", "POSTG_DATE": TODAY}
        line = _only(sap.call(CREATE, TIMETICKETS=[row],
                              LINK_CONF_GOODSMOV=[{"INDEX_CONFIRM": 1, "INDEX_GOODSMOV": 0}])["DETAIL_RETURN"])
        assert (line["CONF_NO"], line["CONF_CNT"]) == (conf_no, expected)


def test_getdetail_of_a_counter_that_does_not_exist_is_type_e(sap: Sap) -> None:
    reply = sap.call("BAPI_PRODORDCONF_GETDETAIL", CONFIRMATION="0000010000", CONFIRMATIONCOUNTER="00000007")
    assert reply["RETURN"]["TYPE"] == "E"
    assert "does not exist" in reply["RETURN"]["MESSAGE"]


def test_getlist_by_confirmation_range_and_nothing_found(sim: SapSimulator, sap: Sap) -> None:
    sap.call(CREATE, TIMETICKETS=[ticket()])
    conf_no = sim.state.confirmations()[0].conf_no
    hit = sap.call("BAPI_PRODORDCONF_GETLIST", CONF_RANGE=[{"SIGN": "I", "OPTION": "BT", "LOW": conf_no,
                                                           "HIGH": conf_no}])
    assert _only(hit["CONFIRMATIONS"])["CONF_NO"] == conf_no
    miss = sap.call("BAPI_PRODORDCONF_GETLIST", ORDER_RANGE=[{"SIGN": "I", "OPTION": "EQ", "LOW": UNRELEASED}])
    assert items(miss["CONFIRMATIONS"]) == []
    assert miss["RETURN"]["TYPE"] == "I"


def test_cancel_reverses_the_confirmation_and_its_goods_movements_once(sim: SapSimulator, sap: Sap) -> None:
    line = _only(sap.call(CREATE, TIMETICKETS=[ticket()])["DETAIL_RETURN"])  # backflush of 10 RM-1
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("990")
    reply = sap.call("BAPI_PRODORDCONF_CANCEL", CONFIRMATION=line["CONF_NO"], CONFIRMATIONCOUNTER=line["CONF_CNT"])
    assert reply["RETURN"]["TYPE"] == "S"
    assert (reply["CREATED_CONF_NO"], reply["CREATED_CONF_COUNT"]) == (line["CONF_NO"], "00000002")
    assert sim.state.stock_of("RM-1", "DM01", "RB-1") == Decimal("1000")
    listed = items(sap.call("BAPI_PRODORDCONF_GETLIST",
                            ORDER_RANGE=[{"SIGN": "I", "OPTION": "EQ", "LOW": ORDER}])["CONFIRMATIONS"])
    assert [(c["CONF_CNT"], c["REVERSED"], c["REV_CONF_CNT"]) for c in listed] == [
        ("00000001", "X", "00000000"), ("00000002", None, "00000001")]
    reversal = sap.call("BAPI_PRODORDCONF_GETDETAIL", CONFIRMATION=line["CONF_NO"], CONFIRMATIONCOUNTER="00000002")
    assert [m["MOVE_TYPE"] for m in items(reversal["GOODSMOVEMENTS"])] == ["262"]
    again = sap.call("BAPI_PRODORDCONF_CANCEL", CONFIRMATION=line["CONF_NO"], CONFIRMATIONCOUNTER=line["CONF_CNT"])
    assert again["RETURN"]["TYPE"] == "E"
    assert "already been cancelled" in again["RETURN"]["MESSAGE"]
    assert len(sim.state.confirmations()) == 2
    assert sim.state.orders[ORDER].confirmed_yield == Decimal("0")
