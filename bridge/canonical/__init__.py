"""The canonical model (bridge.canonical/v1): envelope, Order, Report, Material, Lot."""

from bridge.canonical.envelope import (
    ENTITY_ENVELOPES,
    SCHEMA_ID,
    Envelope,
    LotEnvelope,
    MaterialEnvelope,
    OrderEnvelope,
    ReportEnvelope,
    SourceRef,
    parse_envelope,
)
from bridge.canonical.ids import message_id
from bridge.canonical.lot import LOT_EVENTS, Lot, LotParent
from bridge.canonical.material import MATERIAL_EVENTS, Material, MaterialSite, UnitConversion
from bridge.canonical.order import ORDER_EVENTS, Order, OrderComponent, OrderOperation
from bridge.canonical.report import REPORT_EVENTS, MaterialMovement, Report
from bridge.canonical.types import Quantity, normalise_decimal

ENTITY_EVENTS = {
    "order": ORDER_EVENTS,
    "report": REPORT_EVENTS,
    "material": MATERIAL_EVENTS,
    "lot": LOT_EVENTS,
}

__all__ = [
    "ENTITY_ENVELOPES",
    "ENTITY_EVENTS",
    "SCHEMA_ID",
    "Envelope",
    "Lot",
    "LotEnvelope",
    "LotParent",
    "Material",
    "MaterialEnvelope",
    "MaterialMovement",
    "MaterialSite",
    "Order",
    "OrderComponent",
    "OrderEnvelope",
    "OrderOperation",
    "Quantity",
    "Report",
    "ReportEnvelope",
    "SourceRef",
    "UnitConversion",
    "message_id",
    "normalise_decimal",
    "parse_envelope",
]
