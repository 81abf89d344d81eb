"""A stand-in for SAP: the BAPI web services the bridge calls, an IDoc endpoint and a push port.

``SapSimulator`` runs in-process (tests) or as ``bridge simulate sap`` (demos). It validates what
SAP validates and zeep does not (lengths, patterns, dates, digits), keeps orders, stock,
confirmations and material documents in memory, and offers the shared fault modes.
"""

from __future__ import annotations

from adapters.sap.simulator.server import SapSimulator
from adapters.sap.simulator.state import SimState

__all__ = ["SapSimulator", "SimState"]
