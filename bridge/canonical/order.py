"""Order [OperationsRequest]: a production order released from ERP to MES."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from bridge.canonical.types import CanonicalModel, Quantity, Timestamp

__all__ = ["ORDER_EVENTS", "Order", "OrderComponent", "OrderOperation"]

ORDER_EVENTS = ("released", "changed", "cancelled", "closed")
OrderEvent = Literal["released", "changed", "cancelled", "closed"]


class OrderOperation(CanonicalModel):
    """One operation of the routing [SegmentRequirement]."""

    operation_id: str = Field(min_length=1, description="Operation number (SAP VORNR).")
    description: str | None = Field(None, description="Operation text (SAP LTXA1).")
    work_center: str | None = Field(None, description="Work centre (SAP ARBPL).")
    site: str | None = None
    quantity: Quantity | None = None
    planned_start: Timestamp | None = None
    planned_end: Timestamp | None = None
    control_key: str | None = Field(None, description="Added: SAP control key STEUS.")


class OrderComponent(CanonicalModel):
    """A material the order consumes [MaterialRequirement, use Consumed]."""

    material_id: str = Field(min_length=1)
    quantity: Quantity
    operation_id: str | None = None
    lot_id: str | None = None
    storage_location: str | None = None
    item_no: str | None = None
    site: str | None = Field(None, description="Added: plant the component is staged from.")
    required_on: date | None = Field(None, description="Added: requirement date (SAP BDTER).")


class Order(CanonicalModel):
    """A production order [OperationsRequest]."""

    order_id: str = Field(min_length=1, description="Order number in display form (SAP AUFNR).")
    order_type: str | None = Field(None, description="Order type (SAP AUART).")
    site: str = Field(min_length=1, description="Plant [HierarchyScope] (SAP WERKS).")
    material_id: str = Field(min_length=1, description="Header material to produce.")
    quantity: Quantity
    planned_start: Timestamp | None = None
    planned_end: Timestamp | None = None
    status: str = Field(min_length=1, description="released, created, technically_completed...")
    operations: list[OrderOperation] = Field(default_factory=list)
    components: list[OrderComponent] = Field(default_factory=list)
