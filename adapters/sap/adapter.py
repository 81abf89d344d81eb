"""The SAP adapter object: what ``adapters.sap`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from adapters.sap.cli import idoc
from adapters.sap.codec import SapCodec
from adapters.sap.errors import ERRORS
from adapters.sap.payload_idoc import render_idoc_flat, render_idoc_xml
from adapters.sap.query import make_sap_query
from adapters.sap.reconcile_views import SAP_VIEWS
from adapters.sap.rfc_xml import render_rfc_xml
from adapters.sap.settings import SapSourceSettings
from adapters.sap.simulator.cli import sap as sap_simulator
from adapters.sap.sink import make_sap_sink
from adapters.sap.source import sources
from adapters.sap.target import SapTargetSettings
from adapters.sap.transforms import TRANSFORMS
from bridge.adapter import Adapter

__all__ = ["adapter"]

adapter = Adapter(
    name="sap",
    codec=SapCodec,
    formats={"rfc-xml": render_rfc_xml, "idoc-xml": render_idoc_xml, "idoc-flat": render_idoc_flat},
    transforms=TRANSFORMS,
    commands=(idoc,),
    errors=ERRORS,
    source_settings=SapSourceSettings,
    route_settings=SapTargetSettings,
    sink=make_sap_sink,
    query=make_sap_query,
    views=SAP_VIEWS,
    sources=sources,
    simulator=sap_simulator,
)
