"""The MES adapter object: what ``adapters.mes`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from adapters.mes.codec import MesCodec
from adapters.mes.errors import ERRORS
from adapters.mes.settings import MesSourceSettings
from adapters.mes.sink import make_mes_sink
from adapters.mes.source import sources
from adapters.mes.transforms import TRANSFORMS
from bridge.adapter import Adapter

__all__ = ["adapter"]

adapter = Adapter(
    name="mes",
    codec=MesCodec,
    transforms=TRANSFORMS,
    errors=ERRORS,
    source_settings=MesSourceSettings,
    sources=sources,
    sink=make_mes_sink,
)
