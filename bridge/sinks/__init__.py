"""What every sink shares: the event the deliver stage hands over (the sinks themselves live in
their adapters: ``adapters/mes/sink.py``, ``adapters/file/sink.py``, ``adapters/sap/sink.py``)."""

from bridge.sinks.base import Sink, SinkEvent

__all__ = ["Sink", "SinkEvent"]
