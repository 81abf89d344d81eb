"""What every simulator of the project shares: fault modes and their command-line flags."""

from __future__ import annotations

from bridge.simulation.faults import FaultSettings, fault_options

__all__ = ["FaultSettings", "fault_options"]
