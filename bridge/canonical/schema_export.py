"""Write one JSON Schema file per entity (its envelope with the payload) for MES teams."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.canonical.envelope import ENTITY_ENVELOPES, SCHEMA_ID

__all__ = ["entity_schemas", "export_schemas"]


def entity_schemas() -> dict[str, dict[str, object]]:
    """Return ``{entity: JSON Schema}`` in serialisation mode (decimals are strings)."""
    schemas: dict[str, dict[str, object]] = {}
    for entity, model in ENTITY_ENVELOPES.items():
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{SCHEMA_ID}/{entity}.schema.json"
        schema["title"] = f"{entity} event ({SCHEMA_ID})"
        schemas[entity] = schema
    return schemas


def export_schemas(directory: Path) -> list[Path]:
    """Write ``<entity>.schema.json`` files into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for entity, schema in entity_schemas().items():
        path = directory / f"{entity}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
