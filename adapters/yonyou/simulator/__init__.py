"""A YonBIP tenant played in-process (tests) or as ``bridge simulate yonyou`` (demos): the
data-centre lookup, the self-built app's token service and the OpenAPI gateway with the
production, material, lot and inventory APIs the bridge uses (see server.py)."""

from adapters.yonyou.simulator.seeds import load_seed
from adapters.yonyou.simulator.server import YonyouSimulator

__all__ = ["YonyouSimulator", "load_seed"]
