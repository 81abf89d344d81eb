"""SAP simulator transport: index and WSDLs, basic auth, SOAP Faults for what SAP refuses,
and the shared fault modes (lock, lost reply, failure)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
import zeep.exceptions
from lxml import etree

from adapters.sap.bapi_interfaces import BAPIS
from adapters.sap.simulator import SapSimulator
from adapters.sap.simulator.soap import SOAP_ENV
from adapters.sap.wsdl_writer import RFC_NS
from tests.unit.sap_sim_support import (
    ORDER,
    PASSWORD,
    USER,
    Sap,
    items,
    movement,
    running,
    session,
    ticket,
)

CREATE = "BAPI_PRODORDCONF_CREATE_TT"


def test_index_lists_every_service_at_this_server_and_serves_its_wsdl(sim: SapSimulator) -> None:
    index = session().get(sim.url + "/", timeout=10).json()
    assert set(index["services"]) == set(BAPIS)
    assert index["idoc_endpoint"] == f"{sim.url}/sap/bc/srt/idoc?sap-client=100"
    endpoint = index["services"]["BAPI_GOODSMVT_CREATE"]
    assert endpoint == (f"{sim.url}/sap/bc/srt/rfc/sap/zws_bapi_goodsmvt_create/100/"
                        "zws_bapi_goodsmvt_create_sev/zws_bapi_goodsmvt_create_binding")
    wsdl = etree.fromstring(session().get(endpoint + "?wsdl", timeout=10).content)
    locations = wsdl.xpath("//*[local-name()='address']/@location")
    assert locations == [endpoint, endpoint]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_caller_without_the_credentials_gets_401_with_sap_s_realm(sim: SapSimulator, method: str) -> None:
    for auth in (None, (USER, "wrong")):
        reply = session(auth).request(method, sim.endpoint(CREATE), data=b"<x/>", timeout=10)
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="SAP NetWeaver Application Server [DEV/100]"'
    assert sim.state.confirmations() == []


def _fault(sap: Sap, bapi: str, **params: object) -> str:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        sap.call(bapi, **params)
    return str(caught.value.message)


@pytest.mark.parametrize(("row", "named"), [
    (ticket(ORDERID="0000010015281"), "TIMETICKETS.item[1].ORDERID: '0000010015281' is longer than 12 characters"),
    (ticket(CONF_TEXT="x" * 41), "TIMETICKETS.item[1].CONF_TEXT"),
    (ticket(POSTG_DATE="20250106"), "TIMETICKETS.item[1].POSTG_DATE: '20250106' is not a date YYYY-MM-DD"),
    (ticket(POSTG_DATE="2025-02-30"), "TIMETICKETS.item[1].POSTG_DATE: '2025-02-30' is not a calendar date"),
    (ticket(YIELD="3.12345"), "TIMETICKETS.item[1].YIELD: '3.12345' has more than 3 decimal places"),
    (ticket(YIELD="12345678901234.5"), "TIMETICKETS.item[1].YIELD: '12345678901234.5' has more than 10 digits before the point"),
    (ticket(CONF_NO="12AB"), "TIMETICKETS.item[1].CONF_NO: '12AB' is not all digits"),
])
def test_values_sap_refuses_are_faults_naming_the_field(sim: SapSimulator, sap: Sap, row: dict, named: str) -> None:
    assert named in _fault(sap, CREATE, TIMETICKETS=[row])
    assert sim.state.confirmations() == []


def _raw(sim: SapSimulator, body: bytes, action: str | None = None) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    return session().post(sim.endpoint(CREATE), data=body, headers=headers, timeout=10)


def _envelope(inner: str) -> bytes:
    return (f"<soap-env:Envelope xmlns:soap-env='{SOAP_ENV}'><soap-env:Body>{inner}</soap-env:Body>"
            "</soap-env:Envelope>").encode()


def _faultstring(reply: requests.Response) -> str:
    assert reply.status_code == 500
    assert reply.headers["Content-Type"].startswith("text/xml")
    return etree.fromstring(reply.content).findtext(f".//{{{SOAP_ENV}}}Fault/faultstring")


@pytest.mark.parametrize(("body", "named"), [
    (b"<soap-env:Envelope", "not well-formed XML"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "DTD"),
    (_envelope(f"<n:BAPI_UNKNOWN xmlns:n='{RFC_NS}'/>"), "unknown operation"),
    (_envelope(f"<n:{CREATE} xmlns:n='{RFC_NS}'><TESTRUN>X</TESTRUN></n:{CREATE}>"),
     "missing required parameter TIMETICKETS"),
    (_envelope(f"<n:{CREATE} xmlns:n='{RFC_NS}'><TIMETICKETS><item><COLOUR>red</COLOUR></item></TIMETICKETS>"
               f"</n:{CREATE}>"), "unknown field COLOUR"),
])
def test_malformed_calls_are_soap_faults_with_http_500(sim: SapSimulator, body: bytes, named: str) -> None:
    assert named in _faultstring(_raw(sim, body))


def test_soapaction_in_quotes_is_accepted_and_a_wrong_one_refused(sim: SapSimulator) -> None:
    body = _envelope(f"<n:{CREATE} xmlns:n='{RFC_NS}'><TIMETICKETS><item><ORDERID>{ORDER}</ORDERID>"
                     f"<OPERATION>0020</OPERATION></item></TIMETICKETS></n:{CREATE}>")
    action = f"urn:sap-com:document:sap:rfc:functions:ZWS_{CREATE}:{CREATE}Request"
    assert _raw(sim, body, f'"{action}"').status_code == 200
    assert "SOAPAction" in _faultstring(_raw(sim, body, '"urn:other"'))


def test_a_body_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    with running(tmp_path, max_body=1000) as simulator:
        reply = session().post(simulator.endpoint(CREATE), data=b"x" * 1001, timeout=10)
        assert reply.status_code == 413


def test_lock_rate_refuses_postings_with_flg_locked_and_posts_nothing(sim: SapSimulator, sap: Sap) -> None:
    sim.faults.lock_rate = 1.0
    (line,) = items(sap.call(CREATE, TIMETICKETS=[ticket()])["DETAIL_RETURN"])
    assert (line["TYPE"], line["FLG_LOCKED"]) == ("E", "X")
    assert "locked by user BATCH01" in line["MESSAGE"]
    reply = sap.call("BAPI_GOODSMVT_CREATE", GOODSMVT_HEADER={"PSTNG_DATE": sim_today(sim)},
                     GOODSMVT_CODE={"GM_CODE": "03"}, GOODSMVT_ITEM=[movement()])
    assert [(r["ID"], r["NUMBER"]) for r in items(reply["RETURN"])] == [("M3", "024")]
    assert sim.state.confirmations() == []
    assert sim.state.material_documents() == []
    assert sap.call("BAPI_PRODORDCONF_GETLIST")["RETURN"]["TYPE"] == "I"  # reads never lock


def test_an_order_another_call_is_posting_is_locked(sim: SapSimulator, sap: Sap) -> None:
    with sim.state.hold_order_lock(ORDER):
        (line,) = items(sap.call(CREATE, TIMETICKETS=[ticket()])["DETAIL_RETURN"])
        assert line["FLG_LOCKED"] == "X"
        goods = sap.call("BAPI_GOODSMVT_CREATE", GOODSMVT_HEADER={"PSTNG_DATE": sim_today(sim)},
                         GOODSMVT_CODE={"GM_CODE": "03"}, GOODSMVT_ITEM=[movement()])
        (problem,) = items(goods["RETURN"])
        assert (problem["TYPE"], problem["ID"], problem["NUMBER"]) == ("E", "M3", "024")
        assert "is locked by user BATCH01" in problem["MESSAGE"]
    assert sim.state.confirmations() == []
    assert sim.state.material_documents() == []
    (line,) = items(sap.call(CREATE, TIMETICKETS=[ticket()])["DETAIL_RETURN"])
    assert line["TYPE"] == "I"


def sim_today(sim: SapSimulator) -> str:
    year, month = sim.settings.open_periods[0].split("/")
    return f"{year}-{month}-01"


def test_a_lost_reply_leaves_the_posting_committed(sim: SapSimulator, sap: Sap) -> None:
    sim.faults.lose_reply_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        sap.call(CREATE, TIMETICKETS=[ticket(EX_IDENT="lost-1")])
    sim.faults.lose_reply_rate = 0.0
    (listed,) = items(sap.call("BAPI_PRODORDCONF_GETLIST")["CONFIRMATIONS"])
    assert listed["EX_IDENT"] == "lost-1"


def test_fail_rate_one_answers_unavailable_before_any_effect(sim: SapSimulator, sap: Sap) -> None:
    sap.service(CREATE)  # load the WSDL before the failures start
    sim.faults.fail_rate = 1.0
    with pytest.raises(zeep.exceptions.Fault) as caught:
        sap.call(CREATE, TIMETICKETS=[ticket()])
    assert "unavailable" in str(caught.value.message)
    raw = session().post(sim.endpoint(CREATE), data=_envelope(""), timeout=10)
    assert raw.status_code == 503
    assert raw.headers["Content-Type"].startswith("text/xml")
    sim.faults.fail_rate = 0.0
    assert sim.state.confirmations() == []
    assert sim.state.material_documents() == []


def test_without_credentials_configured_no_auth_is_asked(tmp_path: Path) -> None:
    with running(tmp_path, user=None, password=None) as simulator:
        assert requests.get(simulator.url + "/", timeout=10).status_code == 200
        assert PASSWORD not in requests.get(simulator.url + "/", timeout=10).text


def test_index_and_wsdl_use_the_host_the_caller_addressed(sim: SapSimulator) -> None:
    headers = {"Host": "sap.example.com:8443"}
    index = session().get(sim.url + "/", headers=headers, timeout=10).json()
    endpoint = index["services"][CREATE]
    assert endpoint.startswith("http://sap.example.com:8443/sap/bc/srt/rfc/sap/")
    wsdl = session().get(sim.endpoint(CREATE) + "?wsdl", headers=headers, timeout=10).content
    assert etree.fromstring(wsdl).xpath("//*[local-name()='address']/@location") == [endpoint, endpoint]
    hostile = session().get(sim.url + "/", headers={"Host": "x\"><evil"}, timeout=10).json()
    assert hostile["services"][CREATE].startswith(sim.url)


def test_a_second_posting_to_an_order_being_posted_meets_the_lock(sim: SapSimulator) -> None:
    sim.faults.latency_ms = 5000  # the first call holds the order's lock while it "processes"
    first_sap, second_sap = Sap(sim), Sap(sim)
    second_sap.service(CREATE)
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(first_sap.call(CREATE, TIMETICKETS=[ticket()])))
    first.start()
    deadline = time.monotonic() + 10
    while ORDER not in sim.state.busy_orders():
        assert time.monotonic() < deadline, "the first posting never took the order's lock"
        time.sleep(0.01)
    sim.faults.latency_ms = 0
    (line,) = items(second_sap.call(CREATE, TIMETICKETS=[ticket()])["DETAIL_RETURN"])
    assert (line["TYPE"], line["FLG_LOCKED"]) == ("E", "X")
    first.join(timeout=15)
    (posted,) = items(results[0]["DETAIL_RETURN"])  # type: ignore[index]
    assert posted["TYPE"] == "I"
    assert len(sim.state.confirmations()) == 1
