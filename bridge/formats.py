"""Serialisers for target payloads (``target.format`` of a reverse mapping).

``json`` is built in; adapters register the others by entry point (``rfc-xml``,
``idoc-xml``, ``idoc-flat`` come from the SAP adapter). A serialiser is
``render(document: str, payload: dict) -> bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from bridge.errors import ConfigError
from bridge.mapping.mapping import CompiledMapping

__all__ = ["ENTRY_POINT_GROUP", "render_payload", "serialiser_for"]

#: Entry point group of payload serialisers.
ENTRY_POINT_GROUP = "erp_mes_bridge.formats"

Serialiser = Callable[[str, dict[str, Any]], bytes]


def _render_json(document: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@cache
def _serialisers() -> dict[str, Serialiser]:
    found: dict[str, Serialiser] = {"json": _render_json}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = entry.load()
    return found


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
