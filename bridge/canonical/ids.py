"""Deterministic message ids: the same source document always yields the same id."""

from __future__ import annotations

__all__ = ["message_id"]


def message_id(
    system: str,
    instance: str | None,
    document_key: str,
    entity: str,
    item_key: str | None = None,
) -> str:
    """Build ``<system>:<instance>:<document key>:<entity>[:<item key>]``.

    ``instance`` falls back to ``-`` when the source names none; ``item_key`` tells apart several
    entities cut from one document (a query response with many rows).

    >>> message_id("sap", "S4HCLNT100", "0000000000430094", "order")
    'sap:S4HCLNT100:0000000000430094:order'
    """
    parts = [system, instance or "-", document_key, entity]
    if item_key is not None:
        parts.append(item_key)
    return ":".join(parts)
