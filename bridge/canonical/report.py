"""Report [SegmentResponse]: a work report (报工) or confirmation from MES to ERP."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from bridge.canonical.types import CanonicalModel, Quantity, Timestamp

__all__ = ["REPORT_EVENTS", "MaterialMovement", "Report"]

REPORT_EVENTS = ("created", "reversed")
ReportEvent = Literal["created", "reversed"]


class MaterialMovement(CanonicalModel):
    """Material produced or consumed by a report [MaterialActual]."""

    material_id: str = Field(min_length=1)
    lot_id: str | None = None
    quantity: Quantity
    site: str | None = Field(None, description="Added: plant of the movement.")
    storage_location: str | None = Field(None, description="Added: storage location.")


class Report(CanonicalModel):
    """A confirmation of work done on an order or operation [SegmentResponse]."""

    report_id: str = Field(min_length=1, description="Stable id from the MES; re-sends keep it.")
    order_id: str = Field(min_length=1)
    operation_id: str | None = None
    work_center: str | None = None
    yield_quantity: Quantity
    scrap_quantity: Quantity | None = None
    final: bool = Field(False, description="Final confirmation for the operation/order.")
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    posting_date: date | None = None
    personnel_id: str | None = None
    produced: list[MaterialMovement] = Field(default_factory=list)
    consumed: list[MaterialMovement] = Field(default_factory=list)
    reversal_of: str | None = Field(None, description="report_id being cancelled (reversed).")
