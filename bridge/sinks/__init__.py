"""Sinks: where the deliver stage writes canonical events (MES over AMQP, files for trials)."""

from bridge.sinks.base import Sink
from bridge.sinks.file import FileSink
from bridge.sinks.mes import MesSink

__all__ = ["FileSink", "MesSink", "Sink"]
