"""Serialisers for target payloads (``target.format`` of a reverse mapping).

``json`` is built in; adapters bring the others (``rfc-xml``, ``idoc-xml``, ``idoc-flat`` come
from the SAP adapter, see :mod:`bridge.adapter`). A serialiser is
``render(document: str, payload: dict) -> bytes``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from bridge.adapter import Serialiser, adapter_formats
from bridge.errors import ConfigError
from bridge.mapping.mapping import CompiledMapping

__all__ = ["render_payload", "serialiser_for"]


def _render_json(document: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@cache
def _serialisers() -> dict[str, Serialiser]:
    return {"json": _render_json, **adapter_formats(reserved=("json",))}


def serialiser_for(name: str) -> Serialiser:
    """The serialiser registered as ``name``; ConfigError naming the known ones otherwise."""
    try:
        return _serialisers()[name]
    except KeyError:
        raise ConfigError(
            f"no payload format {name!r} (known: {', '.join(sorted(_serialisers()))})"
        ) from None


def render_payload(mapping: CompiledMapping, payload: dict[str, Any]) -> bytes:
    """Serialise a reverse mapping's payload in its target format."""
    return serialiser_for(mapping.target_format)(mapping.documents[0], payload)
