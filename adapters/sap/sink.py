"""The SAP sink: canonical reports and lot decisions posted to SAP over SOAP, exactly once.

A remote sink (bridge.adapter.sink): the runtime's RemoteDeliverStage records each call's
attempt before it is made and its acknowledgement after, and asks :meth:`SapSink.lookup` about
a call in doubt before it is ever sent again. Reports of one production order go one at a time,
in the order the MES sent them (:meth:`SapSink.serial_key`); up to ``in_flight`` calls for
different orders are outstanding at once.

A stock deficit (M7 021) is retried while another order's pending receipt may still bring the
batch, for ``deficit_retry_s`` (default adapters.sap.errors.DEFICIT_RETRY_S) counted from the
call's first deficit in this process, then dead-lettered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from adapters.sap.errors import ERRORS
from adapters.sap.idoc_outbound import arckey, idoc_file_name, mbgmcr_idoc, soap_envelope, write_atomically
from adapters.sap.lookups import look_up
from adapters.sap.lot_calls import plan_lot
from adapters.sap.postings import post
from adapters.sap.report_calls import plan_report, plan_reversal
from adapters.sap.soap_client import client_for
from adapters.sap.target import SapTargetSettings
from adapters.sap.xml_writer import write_idoc_xml
from bridge.adapter.errors import ErrorTable
from bridge.adapter.sink import (
    Acknowledgement,
    DeliveryContext,
    DocumentRef,
    RemoteCall,
    SinkContext,
    order_serial_key,
)
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.sinks.base import SinkEvent

__all__ = ["SapSink", "make_sap_sink"]

log = logging.getLogger(__name__)

#: Calls whose first transient failure is remembered (for the deficit's retry window).
_REMEMBERED_FAILURES = 10_000


def _deficit_window(errors: ErrorTable, seconds: float | None) -> ErrorTable:
    if seconds is None:
        return errors
    rules = tuple(
        replace(r, retry_for_s=seconds) if r.retry_for_s is not None else r
        for r in errors.rules
    )
    return ErrorTable(errors.system, rules, errors.default)


class SapSink:
    """Posts to one SAP system (one route)."""

    mode: Literal["remote"] = "remote"

    def __init__(self, name: str, settings: SapTargetSettings, client: Any, mapping: Any, errors: ErrorTable = ERRORS) -> None:
        self.name = name
        self.settings = settings
        self.client = client
        self.mapping = mapping
        self.errors = _deficit_window(errors, settings.deficit_retry_s)
        self.in_flight = settings.in_flight
        self.call_timeout_s = settings.timeout_s
        self._first_failure: dict[str, float] = {}
        self._lock = threading.Lock()

    def serial_key(self, event: SinkEvent) -> str:
        return order_serial_key(event)

    def plan(self, event: SinkEvent, context: DeliveryContext) -> Sequence[RemoteCall]:
        envelope = event.envelope
        if event.entity == "lot":
            return plan_lot(envelope, self.settings)
        if event.entity != "report":
            raise PermanentError(f"route {self.name}: SAP takes reports and lots, not {event.entity} events")
        if event.event == "reversed":
            return plan_reversal(envelope, self.settings, context)
        return plan_report(envelope, self.mapping.render(envelope), self.settings, context)

    def _what(self, call: RemoteCall) -> str:
        return f"SAP {call.request['bapi']} ({call.key})"

    def lookup(self, call: RemoteCall) -> Acknowledgement | None:
        idoc_file = self._idoc_file(call)
        if idoc_file is not None and idoc_file.exists():
            return Acknowledgement((DocumentRef("idoc", arckey(call.key)),), found_by_lookup=True)
        found = look_up(self.client.call, call, self.errors, f"looking up {self._what(call)}")
        if found is None and idoc_file is not None:
            raise PermanentError(
                f"{self._what(call)}: in doubt: the IDoc file {idoc_file.name} is no longer in "
                f"{idoc_file.parent} and SAP lists no document with header text {call.ident!r} yet; "
                "check in WE02/MB51 whether SAP posted it before replaying this report"
            )
        return found

    def _idoc_file(self, call: RemoteCall) -> Path | None:
        directory = self.settings.idoc.directory
        if call.request["bapi"] != "IDOC_MBGMCR03" or directory is None:
            return None
        return directory / idoc_file_name(arckey(call.key))

    def _send_idoc(self, call: RemoteCall) -> Acknowledgement:
        key = arckey(call.key)
        s = self.settings
        control = {"ARCKEY": key, "MANDT": s.sap_client, "DIRECT": "2", "SNDPOR": s.idoc.sender_port,
                   "SNDPRT": "LS", "SNDPRN": s.idoc.sender_partner, "RCVPRT": "LS"}
        if s.idoc.receiver_port:
            control["RCVPOR"] = s.idoc.receiver_port
        if s.idoc.receiver_partner:
            control["RCVPRN"] = s.idoc.receiver_partner
        idoc = mbgmcr_idoc(call.request["params"], control)
        directory = s.idoc.directory
        if directory is not None:
            try:
                write_atomically(directory, idoc_file_name(key), write_idoc_xml([idoc]))
            except OSError as exc:
                raise TransientError(f"{self._what(call)}: cannot write to {directory}: {exc.strerror or exc}") from None
        else:
            self.client.post_xml(s.idoc_endpoint(), soap_envelope(idoc), self._what(call))
        return Acknowledgement((DocumentRef("idoc", key),), (f"IDoc MBGMCR03 {key} handed to SAP",))

    def send(self, call: RemoteCall, earlier: Mapping[str, Acknowledgement]) -> Acknowledgement:
        request = call.request
        with self._lock:
            first = self._first_failure.get(call.key)
        failing_for = 0.0 if first is None else time.monotonic() - first
        if request["bapi"] == "IDOC_MBGMCR03":
            return self._send_idoc(call)
        try:
            acknowledgement = post(
                self.client.call, request["bapi"], request["params"], self.errors, self._what(call),
                with_movements=bool(request["lookup"].get("with_movements")), failing_for_s=failing_for,
            )
        except TransientError:
            with self._lock:
                if len(self._first_failure) >= _REMEMBERED_FAILURES:  # calls that were dead-lettered meanwhile
                    self._first_failure.pop(next(iter(self._first_failure)))
                self._first_failure.setdefault(call.key, time.monotonic())
            raise
        except PermanentError:
            with self._lock:
                self._first_failure.pop(call.key, None)
            raise
        with self._lock:
            self._first_failure.pop(call.key, None)
        return acknowledgement

    def close(self) -> None:
        self.client.close()


def make_sap_sink(context: SinkContext) -> SapSink:
    """The sink of a route whose ``sink`` is ``sap``.

    Raises:
        ConfigError: the credentials' variables are not set, or the route's mapping is unknown.
    """
    settings: SapTargetSettings = context.settings
    client = client_for(settings, context.route, context.extra.get("env"))
    if context.catalog is None:
        raise ConfigError(f"route {context.route}: the SAP sink needs the mapping catalog")
    return SapSink(context.route, settings, client, context.catalog.get(settings.mapping), client.errors)
