"""The Kingdee K/3 Cloud adapter object: what ``adapters.kingdee`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from adapters.kingdee.codec import KingdeeCodec
from adapters.kingdee.errors import ERRORS
from adapters.kingdee.formats import render_kingdee_json
from adapters.kingdee.query import make_kingdee_query
from adapters.kingdee.reconcile_views import KINGDEE_VIEWS
from adapters.kingdee.settings import POLLED_FORMS, KingdeeSourceSettings
from adapters.kingdee.simulator.cli import kingdee_simulator
from adapters.kingdee.sink import make_kingdee_sink
from adapters.kingdee.source import sources
from adapters.kingdee.target import KingdeeTargetSettings
from adapters.kingdee.transforms import TRANSFORMS
from bridge.adapter import Adapter
from bridge.adapter.polling_cli import position_commands

__all__ = ["adapter"]

adapter = Adapter(
    name="kingdee",
    codec=KingdeeCodec,
    formats={"kingdee-json": render_kingdee_json},
    transforms=TRANSFORMS,
    errors=ERRORS,
    commands=(position_commands("kingdee", tuple(POLLED_FORMS), label="form"),),
    source_settings=KingdeeSourceSettings,
    route_settings=KingdeeTargetSettings,
    sink=make_kingdee_sink,
    query=make_kingdee_query,
    views=KINGDEE_VIEWS,
    order_feeds=("PRD_MO",),
    sources=sources,
    simulator=kingdee_simulator,
)
