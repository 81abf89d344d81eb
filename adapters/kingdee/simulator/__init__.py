"""K/3 Cloud WebAPI simulator (see server.py): ``KingdeeSimulator`` runs in-process (tests) or as
``bridge simulate kingdee`` (demos), keeping what clients save in memory or in a SQLite file."""

from adapters.kingdee.simulator.server import KingdeeSimulator

__all__ = ["KingdeeSimulator"]
