"""Material [MaterialDefinition]: material master data from ERP."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bridge.canonical.types import CanonicalModel, DecimalString

__all__ = ["MATERIAL_EVENTS", "Material", "MaterialSite", "UnitConversion"]

MATERIAL_EVENTS = ("upserted", "deleted")
MaterialEvent = Literal["upserted", "deleted"]


class UnitConversion(CanonicalModel):
    """1 ``unit`` = numerator/denominator base units (SAP E1MARMM UMREZ/UMREN)."""

    unit: str = Field(min_length=1)
    numerator: DecimalString
    denominator: DecimalString


class MaterialSite(CanonicalModel):
    """Plant-level data (SAP E1MARCM)."""

    site: str = Field(min_length=1)
    procurement_type: str | None = None
    mrp_controller: str | None = None


class Material(CanonicalModel):
    """A material definition with units and conversions."""

    material_id: str = Field(min_length=1)
    descriptions: dict[str, str] = Field(
        default_factory=dict, description='Language code -> text, e.g. {"en": "Steel plate"}.'
    )
    base_unit: str = Field(min_length=1)
    material_type: str | None = None
    material_group: str | None = None
    batch_managed: bool = False
    units: list[UnitConversion] = Field(default_factory=list)
    sites: list[MaterialSite] = Field(default_factory=list)
    deleted: bool = False
