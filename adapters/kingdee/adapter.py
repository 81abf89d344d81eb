"""The Kingdee K/3 Cloud adapter object: what ``adapters.kingdee`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from adapters.kingdee.errors import ERRORS
from bridge.adapter import Adapter

__all__ = ["adapter"]

adapter = Adapter(
    name="kingdee",
    errors=ERRORS,
)
