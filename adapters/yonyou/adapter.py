"""The Yonyou YonBIP adapter object: what ``adapters.yonyou`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from bridge.adapter import Adapter

__all__ = ["adapter"]

adapter = Adapter(
    name="yonyou",
)
