"""Fixtures shared by the unit tests: the SAP simulator the simulator tests drive (``sim``) and
a zeep client on it (``sap``); a module may define its own of the same name."""

from tests.unit.sap_sim_support import sap, sim

__all__ = ["sap", "sim"]
