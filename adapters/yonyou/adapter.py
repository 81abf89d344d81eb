"""The Yonyou YonBIP adapter object: what ``adapters.yonyou`` offers the runtime (see bridge.adapter)."""

from __future__ import annotations

from adapters.yonyou.codec import YonyouCodec
from adapters.yonyou.errors import ERRORS
from adapters.yonyou.query import make_yonyou_query
from adapters.yonyou.reconcile_views import YONYOU_VIEWS
from adapters.yonyou.simulator.cli import yonyou as yonyou_simulator
from adapters.yonyou.sink import make_yonyou_sink
from adapters.yonyou.source import sources
from adapters.yonyou.source_settings import FEEDS, YonyouSourceSettings
from adapters.yonyou.target import YonyouTargetSettings
from adapters.yonyou.transforms import TRANSFORMS
from bridge.adapter import Adapter
from bridge.adapter.polling_cli import position_commands

__all__ = ["adapter"]

adapter = Adapter(
    name="yonyou",
    codec=YonyouCodec,
    transforms=TRANSFORMS,
    errors=ERRORS,
    commands=(position_commands("yonyou", FEEDS),),
    source_settings=YonyouSourceSettings,
    route_settings=YonyouTargetSettings,
    sink=make_yonyou_sink,
    query=make_yonyou_query,
    views=YONYOU_VIEWS,
    order_feeds=("productionorder",),
    sources=sources,
    simulator=yonyou_simulator,
)
