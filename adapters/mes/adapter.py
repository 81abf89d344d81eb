"""The MES adapter object (see bridge.adapter)."""

from __future__ import annotations

from adapters.mes.sink import make_mes_sink
from bridge.adapter import Adapter

__all__ = ["adapter"]

adapter = Adapter(name="mes", sink=make_mes_sink)
