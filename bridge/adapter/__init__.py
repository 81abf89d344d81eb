"""Adapters: what an external system's package offers, and the one registry that finds them."""

from __future__ import annotations

from bridge.adapter.base import Adapter, Serialiser
from bridge.adapter.errors import ErrorFacts, ErrorKind, ErrorRule, ErrorTable
from bridge.adapter.registry import (
    ENTRY_POINT_GROUP,
    adapter_for,
    adapter_formats,
    adapter_names,
    adapter_transforms,
    adapters,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "ErrorFacts",
    "ErrorKind",
    "ErrorRule",
    "ErrorTable",
    "Serialiser",
    "adapter_for",
    "adapter_formats",
    "adapter_names",
    "adapter_transforms",
    "adapters",
]
