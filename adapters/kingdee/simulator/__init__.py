"""K/3 Cloud WebAPI simulator (see server.py)."""

from adapters.kingdee.simulator.server import KingdeeSimulator

__all__ = ["KingdeeSimulator"]
