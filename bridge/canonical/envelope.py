"""The envelope every canonical message travels in, one class per entity.

``Envelope`` is a discriminated union on ``entity``; ``parse_envelope`` validates any of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from bridge.canonical.lot import Lot, LotEvent
from bridge.canonical.material import Material, MaterialEvent
from bridge.canonical.order import Order, OrderEvent
from bridge.canonical.report import Report, ReportEvent
from bridge.canonical.types import CanonicalModel, Timestamp

__all__ = [
    "ENTITY_ENVELOPES",
    "SCHEMA_ID",
    "Envelope",
    "LotEnvelope",
    "MaterialEnvelope",
    "OrderEnvelope",
    "ReportEnvelope",
    "SourceRef",
    "parse_envelope",
]

SCHEMA_ID = "bridge.canonical/v1"


class SourceRef(CanonicalModel):
    """Where the message came from."""

    system: str = Field(min_length=1, description="sap, kingdee, yonyou, mes...")
    instance: str | None = Field(None, description="Sending installation, e.g. S4HCLNT100.")
    document_type: str = Field(min_length=1, description="e.g. LOIPRO05, PRD_MO.")
    document_id: str | None = Field(None, description="The source's id, e.g. an IDoc DOCNUM.")


class _EnvelopeBase(CanonicalModel):
    schema_: Literal["bridge.canonical/v1"] = Field(SCHEMA_ID, alias="schema")
    message_id: str = Field(
        min_length=1,
        description="Deterministic: the same source document always yields the same id.",
        examples=["sap:S4HCLNT100:0000000000430094:order"],
    )
    entity: str
    event: str
    source: SourceRef
    version: str = Field(min_length=1, description="Orders updates of one business key; larger is newer.")
    occurred_at: Timestamp
    correlation_id: str = Field(min_length=1)


class OrderEnvelope(_EnvelopeBase):
    """A production order event."""

    entity: Literal["order"] = "order"
    event: OrderEvent
    payload: Order


class ReportEnvelope(_EnvelopeBase):
    """A work report event."""

    entity: Literal["report"] = "report"
    event: ReportEvent
    payload: Report


class MaterialEnvelope(_EnvelopeBase):
    """A material master event."""

    entity: Literal["material"] = "material"
    event: MaterialEvent
    payload: Material


class LotEnvelope(_EnvelopeBase):
    """A lot / batch event."""

    entity: Literal["lot"] = "lot"
    event: LotEvent
    payload: Lot


ENTITY_ENVELOPES: dict[str, type[_EnvelopeBase]] = {
    "order": OrderEnvelope,
    "report": ReportEnvelope,
    "material": MaterialEnvelope,
    "lot": LotEnvelope,
}

Envelope = Annotated[
    OrderEnvelope | ReportEnvelope | MaterialEnvelope | LotEnvelope,
    Field(discriminator="entity"),
]

_ENVELOPE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Envelope)


def parse_envelope(data: Any) -> OrderEnvelope | ReportEnvelope | MaterialEnvelope | LotEnvelope:
    """Validate a dict (or JSON already loaded) as a canonical envelope of any entity."""
    return _ENVELOPE_ADAPTER.validate_python(data)
