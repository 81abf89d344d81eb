"""Mapping transforms only the MES's documents need: none so far (its JSON carries ISO 8601
times and plain numbers, which the built-in ``iso_datetime``, ``iso_date`` and ``decimal`` read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["TRANSFORMS"]

TRANSFORMS: dict[str, Callable[..., Any]] = {}
