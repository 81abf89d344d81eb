"""Lot [MaterialLot]: a batch with status, quantities, dates and genealogy."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from bridge.canonical.types import CanonicalModel, Quantity

__all__ = ["LOT_EVENTS", "Lot", "LotParent"]

LOT_EVENTS = ("created", "changed", "status_changed")
LotEvent = Literal["created", "changed", "status_changed"]


class LotParent(CanonicalModel):
    """A lot consumed into this lot (genealogy edge)."""

    lot_id: str = Field(min_length=1)
    material_id: str = Field(min_length=1)
    quantity: Quantity | None = None
    report_id: str | None = None


class Lot(CanonicalModel):
    """A material lot / batch."""

    lot_id: str = Field(min_length=1)
    material_id: str = Field(min_length=1)
    site: str | None = None
    status: str = Field(min_length=1, description="released, restricted, blocked...")
    quantity: Quantity | None = None
    manufactured_on: date | None = None
    expires_on: date | None = None
    supplier_lot: str | None = None
    parents: list[LotParent] = Field(default_factory=list)
