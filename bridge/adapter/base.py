"""What an adapter offers the runtime: one object per external system, found by entry point.

An adapter is a package (``adapters/sap/``, or a third party's own distribution) that exposes
one :class:`Adapter` under the entry point group :data:`bridge.adapter.registry.ENTRY_POINT_GROUP`::

    [project.entry-points."erp_mes_bridge.adapters"]
    sap = "adapters.sap.adapter:adapter"

The runtime looks adapters up by system name and never imports a vendor module by name. The
roles so far: a codec (bytes -> the tree mappings walk), payload formats (a reverse mapping's
``target.format``), mapping transforms that only make sense for this system (SAP dates, ALPHA
keys), and document inspectors for the CLI (``bridge idoc show``). Sources, sinks, queries and
the error table join as the runtime grows into them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.document import Codec

__all__ = ["Adapter", "Inspector", "JsonInspector", "Serialiser"]

#: ``render(document_type, payload) -> bytes``: a target payload in one wire format.
Serialiser = Callable[[str, dict[str, Any]], bytes]
#: ``describe(data, *, origin, **options) -> list of plain data``, one item per document.
Inspector = Callable[..., list[dict[str, Any]]]
#: The same as JSON text in pieces, for output never held whole.
JsonInspector = Callable[..., Iterator[str]]


@dataclass(frozen=True)
class Adapter:
    """One external system's roles, each optional.

    Attributes:
        name: the system name used in configuration and message ids (``sap``, ``kingdee``).
        codec: builds the system's codec (called once per process).
        formats: payload serialisers by format name (``rfc-xml``); names are global.
        transforms: mapping transforms by name (``sap_date``); names are global and must not
            shadow the built-in ones.
        inspect: the document inspector behind ``bridge idoc show`` and the like.
        inspect_json: the same, writing JSON text in pieces.
    """

    name: str
    codec: Callable[[], Codec] | None = None
    formats: Mapping[str, Serialiser] = field(default_factory=dict)
    transforms: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    inspect: Inspector | None = None
    inspect_json: JsonInspector | None = None
