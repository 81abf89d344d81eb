"""The file adapter object (see bridge.adapter)."""

from __future__ import annotations

from adapters.file.settings import FileRouteSettings
from adapters.file.sink import FileSink
from bridge.adapter import Adapter
from bridge.adapter.sink import SinkContext

__all__ = ["adapter"]


def make_file_sink(context: SinkContext) -> FileSink:
    """The sink of one file route."""
    return FileSink(context.route, context.settings.path)


adapter = Adapter(name="file", route_settings=FileRouteSettings, sink=make_file_sink)
