"""Business keys of the canonical entities: with ``version`` they decide which update is newer,
and the ledger keeps the last version applied per key and target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["ENTITY_KEYS", "business_key", "model_business_key", "payload_business_key"]

#: The fields that make up each entity's business key.
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "order": ("order_id",),
    "report": ("report_id",),
    "material": ("material_id",),
    "lot": ("material_id", "lot_id"),
}


def payload_business_key(entity: str, payload: Mapping[str, Any]) -> str:
    """The business key of an entity's payload as one string (``material_id/lot_id`` for lots)."""
    return "/".join(str(payload.get(k, "")) for k in ENTITY_KEYS.get(entity, ()))


def business_key(envelope: Mapping[str, Any]) -> str:
    """:func:`payload_business_key` of an envelope in its JSON form."""
    return payload_business_key(envelope.get("entity", ""), envelope.get("payload", {}))


def model_business_key(envelope: BaseModel) -> str:
    """:func:`business_key` of a validated envelope model."""
    payload = envelope.payload  # type: ignore[attr-defined]
    keys = ENTITY_KEYS.get(envelope.entity, ())  # type: ignore[attr-defined]
    return "/".join("" if (v := getattr(payload, k, None)) is None else str(v) for k in keys)
