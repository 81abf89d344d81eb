"""Each received IDoc's status back to SAP, as ALEAUD01 audit IDocs (``sources.sap.status``).

SAP's own way for a receiving system to confirm IDocs (ALE audit): an ALEAUD01 IDoc holds, per
message type, an ``E1ADHDR`` segment with one ``E1STATE`` per IDoc confirmed: SAP's IDoc number
(``DOCNUM``, as SAP sent it), the status the IDoc reached here (53: application document posted;
51: application error) and its text. SAP updates the IDoc it sent (status 41, application
document created in the target system, or 40, not created), so WE02 and BD87 show what became
of it. One audit IDoc carries at most 500 confirmations (SAP's limit).

The outcomes come from the ledger (translated into events, or dead-lettered by translate with its
reason), the oldest first; each one reported is recorded there (a journal row of stage
``status:sap``), so every IDoc is confirmed once. A crash between SAP's reply and that record
sends the same audit IDoc again with the same ARCKEY, which SAP's IDoc service drops as a
duplicate (EA728). The audit IDocs go where the configured SAP system takes IDocs: POSTed to its
IDoc endpoint in a SOAP envelope, or written to the directory its file port reads.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from adapters.sap.idoc_outbound import soap_envelope, write_atomically
from adapters.sap.model import IDoc, Segment
from adapters.sap.settings import SapSourceSettings
from adapters.sap.soap_client import client_for
from adapters.sap.xml_writer import write_idoc_xml
from bridge.errors import BridgeError, ConfigError, TransientError
from bridge.redaction import redact

__all__ = ["MAX_PER_IDOC", "REPORT_STAGE", "IdocStatusReporter", "aleaud_idoc", "message_type_of"]

log = logging.getLogger(__name__)

#: The journal stage recording that a document's status went back to SAP.
REPORT_STAGE = "status:sap"
#: SAP: "one IDoc contains a maximum of 500 IDoc confirmations".
MAX_PER_IDOC = 500
_DOCNUM = re.compile(r"^\d{16}$")
# E1STATE field lengths (ALEAUD01, release 4.0 layout; lengths as in EDI_DS40, reference §1.3)
_STATXT, _STAPA = 70, 50


def message_type_of(idoc_type: str) -> str:
    """The message type of a basic type as the bridge journals it (``LOIPRO05`` -> ``LOIPRO``)."""
    return re.sub(r"\d+$", "", idoc_type) or idoc_type


def _sender_of(message_id: str) -> str:
    """The sending logical system in a SAP message id (``sap:<SNDPRN>:<DOCNUM>:<digest>``)."""
    parts = message_id.split(":")
    return parts[1] if len(parts) >= 4 else ""


def _state(outcome: Any, processed: str, failed: str) -> Segment:
    state = Segment("E1STATE")
    state["DOCNUM"] = outcome.document_key
    if outcome.status == "translated":
        state["STATUS"], state["STATYP"] = processed, "S"
        state["STATXT"] = "Translated by the bridge and handed to the MES"
    else:
        reason = redact(outcome.error or "refused by the bridge")
        state["STATUS"], state["STATYP"] = failed, "E"
        state["STATXT"] = reason[:_STATXT]
        rest = reason[_STATXT:]
        for n in range(1, 5):  # the rest of the reason in the message parameters
            if rest:
                state[f"STAPA{n}_LNG"], rest = rest[:_STAPA], rest[_STAPA:]
    return state


def aleaud_idoc(outcomes: Sequence[Any], control: dict[str, str], *, processed: str = "53", failed: str = "51") -> IDoc:
    """One ALEAUD01 IDoc confirming ``outcomes`` (at most :data:`MAX_PER_IDOC`), grouped by
    message type."""
    if len(outcomes) > MAX_PER_IDOC:
        raise ValueError(f"an audit IDoc carries at most {MAX_PER_IDOC} confirmations, not {len(outcomes)}")
    idoc = IDoc(control={"TABNAM": "EDI_DC40", "IDOCTYP": "ALEAUD01", "MESTYP": "ALEAUD", **control}, idoc_type="ALEAUD01")

    def by_type(outcome: Any) -> str:
        return message_type_of(outcome.document_type)

    for message_type, group in itertools.groupby(sorted(outcomes, key=by_type), key=by_type):
        header = Segment("E1ADHDR")
        header["MESTYP"], header["MESTYP_LNG"] = message_type[:6], message_type
        for outcome in group:
            header.add_child(_state(outcome, processed, failed))
        idoc.root.add_child(header)
    return idoc


class IdocStatusReporter:
    """Sends the statuses of received IDocs back to SAP every ``poll_s`` (a source of the SAP
    adapter, started and stopped with the bridge)."""

    name = "sap-idoc-status"
    routes: Sequence[Any] = ()

    def __init__(self, context: Any, settings: SapSourceSettings) -> None:
        assert settings.status is not None
        if context.outcomes is None:
            raise ConfigError("sources.sap.status: this runtime gives sources no ledger outcomes to report")
        self.settings = settings.status
        self.source = settings
        self.system = context.system
        self.stage = f"status:{context.system}"  # REPORT_STAGE for the system named sap
        self.outcomes = context.outcomes
        self.client = client_for(self.settings.sap, "sources.sap.status", context.env)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.poll_s):
            try:
                while self.report_once() and not self._stop.is_set():
                    pass  # more than one audit IDoc's worth waiting
            except TransientError as exc:
                log.warning("IDoc statuses to SAP: %s; trying again in %s s", exc, self.settings.poll_s)
            except BridgeError as exc:
                log.error("IDoc statuses to SAP: %s", exc)

    def report_once(self) -> int:
        """Send the outcomes not reported yet (up to one audit IDoc per receiving system); how
        many were reported.

        Raises:
            TransientError: SAP or the ledger is not available now (nothing is recorded).
            ConfigError, PermanentError: SAP refuses the bridge or the IDoc.
        """
        pending = self.outcomes.unreported(self.system, self.stage, MAX_PER_IDOC)
        numbered = [o for o in pending if _DOCNUM.match(o.document_key or "")]
        unnumbered = [o for o in pending if o not in numbered]
        if unnumbered:  # a file without a control record: SAP has no IDoc to update
            self.outcomes.mark_reported(unnumbered, self.system, self.stage, "not reported: no SAP IDoc number")
        receiver_of = (lambda _o: self.source.logical_system) if self.source.logical_system else (
            lambda o: _sender_of(o.message_id))
        for receiver, group in itertools.groupby(sorted(numbered, key=receiver_of), key=receiver_of):
            outcomes = list(group)
            key = self._send(outcomes, receiver)
            self.outcomes.mark_reported(outcomes, self.system, self.stage, f"ALEAUD01 {key} to {receiver}")
            log.info("IDoc statuses to SAP: %d confirmed to %s (ALEAUD01 %s)", len(outcomes), receiver, key)
        return len(pending)

    def _send(self, outcomes: list[Any], receiver: str) -> str:
        sap = self.settings.sap
        digest = hashlib.sha256(",".join(o.message_id for o in outcomes).encode("utf-8")).hexdigest()
        key = f"urn:sap.com:msgid={digest[:32].upper()}"
        control = {"ARCKEY": key, "MANDT": sap.sap_client, "DIRECT": "2", "SNDPOR": sap.idoc.sender_port,
                   "SNDPRT": "LS", "SNDPRN": sap.idoc.sender_partner, "RCVPRT": "LS"}
        if receiver:
            control["RCVPRN"] = receiver
        if sap.idoc.receiver_port:
            control["RCVPOR"] = sap.idoc.receiver_port
        idoc = aleaud_idoc(outcomes, control, processed=self.settings.processed, failed=self.settings.failed)
        if sap.idoc.directory is not None:
            try:
                write_atomically(sap.idoc.directory, f"ALEAUD_{digest[:32].upper()}.xml", write_idoc_xml([idoc]))
            except OSError as exc:
                raise TransientError(f"cannot write to {sap.idoc.directory}: {exc.strerror or exc}") from None
        else:
            self.client.post_xml(sap.idoc_endpoint(), soap_envelope(idoc), "IDoc statuses (ALEAUD01)")
        return key
