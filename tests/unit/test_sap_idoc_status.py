"""Each received IDoc's status goes back to SAP as ALEAUD01 (sources.sap.status), once, and SAP's
monitor (the simulator's) shows the IDoc it sent as processed (41) or not (40)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.sap.codec import SapCodec
from adapters.sap.idoc_status import MAX_PER_IDOC, aleaud_idoc, message_type_of
from adapters.sap.simulator import SapSimulator
from adapters.sap.xml_writer import write_idoc_xml
from bridge.broker.connector import StubConnector
from bridge.broker.stub import StubBroker
from bridge.config import load_settings
from bridge.ledger import Ledger
from bridge.ledger.document_outcomes import DocumentOutcome
from bridge.runtime import Runtime
from tests.polling import wait_for

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"
GOOD = (CASES / "LOIPRO05_S4HANA_Original.xml").read_bytes()
BATCH = (CASES / "BATMAS03_example.xml").read_bytes()
BAD = (CASES / "LOIPRO05_bad_quantity.xml").read_bytes()  # decodes, but translate refuses it


def outcome(docnum: str, idoc_type: str = "LOIPRO05", status: str = "translated", error: str | None = None) -> DocumentOutcome:
    return DocumentOutcome(f"sap:S4HCLNT100:{docnum}:abc", idoc_type, docnum, status, error)


def test_an_audit_idoc_groups_its_confirmations_by_message_type() -> None:
    reason = "MappingError: quantity 'ten' of E1AFKOL/BMENGE is not a number " + "x" * 100
    idoc = aleaud_idoc(
        [outcome("0000000000000001"), outcome("0000000000000002", "BATMAS03"),
         outcome("0000000000000003", status="dead_lettered", error=reason)],
        {"RCVPRN": "S4HCLNT100", "SNDPRN": "MES"},
    )
    [decoded] = SapCodec().decode_idocs(write_idoc_xml([idoc]), origin="test")
    assert decoded.idoc_type == "ALEAUD01"
    assert decoded.control["MESTYP"] == "ALEAUD"
    headers = decoded.root["E1ADHDR"]
    assert [h["MESTYP"] for h in headers] == ["BATMAS", "LOIPRO"]
    states = {s["DOCNUM"]: s for h in headers for s in h["E1STATE"]}
    assert states["0000000000000001"]["STATUS"] == "53"
    assert states["0000000000000003"]["STATUS"] == "51"
    assert states["0000000000000003"]["STATYP"] == "E"
    assert states["0000000000000003"]["STATXT"] == reason[:70]
    assert states["0000000000000003"]["STAPA1_LNG"] == reason[70:120]  # the rest of the reason


def test_an_audit_idoc_takes_at_most_sap_s_500_confirmations() -> None:
    with pytest.raises(ValueError, match="at most 500"):
        aleaud_idoc([outcome(f"{n:016d}") for n in range(MAX_PER_IDOC + 1)], {})
    assert message_type_of("LOIPRO05") == "LOIPRO"


def _settings(tmp_path: Path, spool: Path, sim: SapSimulator, **status: object) -> object:
    config = tmp_path / "bridge.yaml"
    extra = "".join(f", {k}: {v}" for k, v in status.items())
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'ledger.sqlite'}\n"
        "http_port: 0\n"
        "broker: {prefix: t, retry_tiers: [1s]}\n"
        "sources:\n  sap:\n"
        f"    file_port: {{directory: '{spool}', poll_s: 0.05, min_age_s: 0}}\n"
        f"    status: {{poll_s: 0.1, sap: {{url: '{sim.url}', user_env: ST_USER, password_env: ST_PASSWORD}}{extra}}}\n"
    )
    return load_settings(config, env={"ST_USER": "BRIDGE", "ST_PASSWORD": "s3cret"})


def test_the_running_bridge_confirms_each_idoc_to_sap_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ST_USER", "BRIDGE")
    monkeypatch.setenv("ST_PASSWORD", "s3cret")
    spool = tmp_path / "spool"
    spool.mkdir()
    for name, data in (("1-order.xml", GOOD), ("2-batch.xml", BATCH), ("3-bad.xml", BAD)):
        (spool / name).write_bytes(data)
    with SapSimulator(user="BRIDGE", password="s3cret") as sim:
        runtime = Runtime(_settings(tmp_path, spool, sim), broker=StubConnector(StubBroker()))
        runtime.start(serve_http=False)
        try:
            wait_for(lambda: len(sim.state.outbound_statuses) == 3, timeout=30)
            time.sleep(0.5)  # later polls find nothing more to report
        finally:
            runtime.stop()
        statuses = {docnum: [e["status"] for e in entries] for docnum, entries in sim.state.outbound_statuses.items()}
        bad = next(e for entries in sim.state.outbound_statuses.values() for e in entries if e["status"] == "40")
        audits = [r for r in sim.state.inbound_idocs if r["idoc_type"] == "ALEAUD01"]
        import httpx

        monitor = httpx.get(f"{sim.url}/simulator/idocs", auth=("BRIDGE", "s3cret")).json()  # WE02, as JSON
    assert sorted(monitor["outbound"]) == sorted(statuses)
    assert sorted(statuses.values()) == [["40"], ["41"], ["41"]]  # each IDoc confirmed once
    assert "BMENGE" in bad["text"] or "quantity" in bad["text"].lower()
    assert all(a["status"] == "53" for a in audits)
    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        assert ledger.outcomes.unreported("sap", "status:sap") == []
    finally:
        ledger.close()


def test_sap_unavailable_leaves_the_statuses_to_be_sent_later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.sap.idoc_status import IdocStatusReporter
    from adapters.sap.settings import SapSourceSettings
    from bridge.errors import TransientError

    ledger = Ledger.connect(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with SapSimulator(user="BRIDGE", password="s3cret") as sim:
        settings = SapSourceSettings.model_validate({"status": {"sap": {"url": sim.url}}})
        waiting = [outcome("0000000000000042")]
        outcomes = SimpleNamespace(
            unreported=lambda *_a: list(waiting),
            mark_reported=lambda found, *_a: [waiting.remove(o) for o in found],
        )
        context = SimpleNamespace(system="sap", outcomes=outcomes, env={"SAP_USER": "BRIDGE", "SAP_PASSWORD": "s3cret"})
        reporter = IdocStatusReporter(context, settings)
        sim.faults.fail_rate = 1.0
        with pytest.raises(TransientError):
            reporter.report_once()
        assert waiting  # not recorded as reported
        sim.faults.fail_rate = 0.0
        assert reporter.report_once() == 1
        assert waiting == []
        assert [e["status"] for e in sim.state.outbound_statuses["0000000000000042"]] == ["41"]
    ledger.close()
