"""One SOAP call from request bytes to reply bytes: parse, check, run the BAPI, answer.

Kept apart from the HTTP server so the server only deals with transport (auth, body limit,
faults, lost replies) and this module only with SAP's web service semantics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.sap.bapi_interfaces import BAPIS, service_name
from adapters.sap.simulator import batches, confirmations, goods
from adapters.sap.simulator.context import CallContext
from adapters.sap.simulator.ddic import FieldError, parse_request
from adapters.sap.simulator.soap import SoapError, fault, parse_envelope, response
from adapters.sap.wsdl_writer import RFC_NS

__all__ = ["HANDLERS", "POSTING", "SoapReply", "call"]

log = logging.getLogger(__name__)

Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    "BAPI_PRODORDCONF_CREATE_TT": confirmations.prodordconf_create_tt,
    "BAPI_PRODORDCONF_GETLIST": confirmations.prodordconf_getlist,
    "BAPI_PRODORDCONF_GETDETAIL": confirmations.prodordconf_getdetail,
    "BAPI_PRODORDCONF_CANCEL": confirmations.prodordconf_cancel,
    "BAPI_GOODSMVT_CREATE": goods.goodsmvt_create,
    "BAPI_GOODSMVT_GETITEMS": goods.goodsmvt_getitems,
    "BAPI_GOODSMVT_CANCEL": goods.goodsmvt_cancel,
    "BAPI_PRODORD_GET_LIST": goods.prodord_get_list,
    "BAPI_BATCH_CHANGE": batches.batch_change,
}
#: The services that post; locks and lost replies apply to these only.
POSTING = frozenset({"BAPI_PRODORDCONF_CREATE_TT", "BAPI_PRODORDCONF_CANCEL", "BAPI_GOODSMVT_CREATE",
                     "BAPI_GOODSMVT_CANCEL", "BAPI_BATCH_CHANGE"})


@dataclass(frozen=True)
class SoapReply:
    status: int
    body: bytes
    bapi: str | None = None  # the operation that ran, when one did


def soap_action(bapi: str) -> str:
    return f"{RFC_NS}:{service_name(bapi)}:{bapi}Request"


def call(endpoint_bapi: str, body: bytes, soap_action_header: str | None, ctx: CallContext) -> SoapReply:
    """Run the call ``body`` makes on the endpoint of ``endpoint_bapi``."""
    try:
        element = parse_envelope(body)
    except SoapError as exc:
        return SoapReply(500, fault(str(exc), code="Client"))
    qname = etree.QName(element)
    if qname.namespace != RFC_NS or qname.localname != endpoint_bapi:
        return SoapReply(500, fault(f"unknown operation {{{qname.namespace}}}{qname.localname} on the service "
                                    f"of {endpoint_bapi}", code="Client"))
    action = (soap_action_header or "").strip().strip('"')
    if action and action != soap_action(endpoint_bapi):
        return SoapReply(500, fault(f"SOAPAction {action!r} does not name operation {endpoint_bapi}", code="Client"))
    try:
        params = parse_request(endpoint_bapi, element)
    except FieldError as exc:
        return SoapReply(500, fault(str(exc), code="Client"))
    try:
        outputs = HANDLERS[endpoint_bapi](ctx, params)
    except Exception:  # a simulator bug must still answer as SAP does, with a Fault
        log.exception("simulated %s failed", endpoint_bapi)
        return SoapReply(500, fault(f"internal error in simulated {endpoint_bapi}"), endpoint_bapi)
    return SoapReply(200, response(endpoint_bapi, outputs), endpoint_bapi)


assert set(HANDLERS) == set(BAPIS), "every BAPI of bapi_interfaces needs a simulated handler"
