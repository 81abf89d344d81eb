"""Goods movements as MBGMCR03 IDocs: the document, its ARCKEY, the SOAP form, the directory."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.sap.idoc_outbound import arckey, idoc_file_name, mbgmcr_idoc, soap_envelope
from adapters.sap.sink import SapSink
from adapters.sap.target import SapTargetSettings
from adapters.sap.xml_codec import parse_idoc_xml
from bridge.adapter.sink import RemoteCall
from bridge.errors import PermanentError

PARAMS = {
    "GOODSMVT_HEADER": {"PSTNG_DATE": "2023-12-12", "DOC_DATE": "2023-12-12", "HEADER_TXT": "RPT-1/I"},
    "GOODSMVT_CODE": {"GM_CODE": "03"},
    "GOODSMVT_ITEM": [
        {"MATERIAL": "R1CH01007", "PLANT": "DM01", "BATCH": "B-4711", "MOVE_TYPE": "261", "ENTRY_QNT": "3.000", "ENTRY_UOM": "CM"},
        {"MATERIAL": "R1MF00012", "PLANT": "DM01", "MOVE_TYPE": "261", "ENTRY_QNT": "400.000", "ENTRY_UOM": "ST"},
    ],
}


def test_the_arckey_is_sap_s_message_id_form_and_stable_per_call() -> None:
    key = arckey("RPT-1/issue")
    assert key == arckey("RPT-1/issue") != arckey("RPT-1/receipt")
    assert key.startswith("urn:sap.com:msgid=")
    assert len(key.rsplit("=", 1)[1]) == 32
    assert idoc_file_name(key) == f"MBGMCR_{key[18:]}.xml"


def test_the_movements_read_back_as_an_mbgmcr03_idoc_with_idoc_dates() -> None:
    idoc = mbgmcr_idoc(PARAMS, {"ARCKEY": arckey("RPT-1/issue"), "SNDPRN": "MES"})
    [read] = parse_idoc_xml(soap_envelope(idoc))  # the SOAP form, as SAP's /sap/bc/srt/idoc takes it
    assert read.control["IDOCTYP"] == "MBGMCR03"
    assert read.control["MESTYP"] == "MBGMCR"
    assert read.control["ARCKEY"] == arckey("RPT-1/issue")
    [top] = read.segments
    header = next(s for s in top.children if s.segment_type == "E1BP2017_GM_HEAD_01")
    assert header["PSTNG_DATE"] == "20231212"
    assert header["HEADER_TXT"] == "RPT-1/I"
    items = [s for s in top.children if s.segment_type == "E1BP2017_GM_ITEM_CREATE"]
    assert [(i["MATERIAL"], i.get("BATCH"), i["ENTRY_QNT"]) for i in items] == [
        ("R1CH01007", "B-4711", "3.000"), ("R1MF00012", None, "400.000"),
    ]


class NoReads:
    def call(self, bapi: str, params: Any) -> dict[str, Any]:
        return {"GOODSMVT_HEADER": [], "GOODSMVT_ITEMS": [], "RETURN": []}

    def close(self) -> None:
        pass


def test_in_directory_mode_a_file_is_written_once_and_a_vanished_one_in_doubt_is_refused(tmp_path) -> None:
    settings = SapTargetSettings(url="https://sap", goods_movements="idoc", idoc={"directory": str(tmp_path)})
    sink = SapSink("sap", settings, NoReads(), mapping=None)
    lookup = {"move_types": ["261"], "posting_date": "2023-12-12", "materials": ["R1CH01007"]}
    call = RemoteCall("RPT-1/issue", "issue", {"bapi": "IDOC_MBGMCR03", "params": PARAMS, "lookup": lookup}, "RPT-1/I")
    acknowledgement = sink.send(call, {})
    [written] = tmp_path.glob("MBGMCR_*.xml")
    assert acknowledgement.documents[0].number == arckey("RPT-1/issue")
    assert parse_idoc_xml(written.read_bytes())[0].control["ARCKEY"] == arckey("RPT-1/issue")
    assert not list(tmp_path.glob(".writing-*"))
    assert sink.lookup(call).found_by_lookup  # still there: SAP will take it, not written again
    written.rename(tmp_path / "taken-by-sap.xml")
    with pytest.raises(PermanentError, match="in doubt: the IDoc file .* is no longer in"):
        sink.lookup(call)
