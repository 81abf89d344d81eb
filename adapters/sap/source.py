"""The SAP system's sources from ``sources.sap``: the HTTP IDoc receiver, the file port, and the
IDoc statuses going back to SAP.

See :mod:`adapters.sap.receiver` (``POST /api/v1/sap/idoc``), :mod:`adapters.sap.file_port`
(a watched directory) and :mod:`adapters.sap.settings` for the configuration.
"""

from __future__ import annotations

from typing import Any

from adapters.sap.file_port import FilePort
from adapters.sap.idoc_status import IdocStatusReporter
from adapters.sap.inbound import settings_of
from adapters.sap.receiver import IDocReceiver, credentials_from_env
from bridge.adapter.source import SourceContext

__all__ = ["sources"]


def sources(context: SourceContext) -> list[Any]:
    """The receiver when it is enabled, the file port and the status reporter when they are
    configured and enabled.

    Raises:
        ConfigError: the receiver is enabled but its credentials are not set (names the
            variables).
    """
    settings = settings_of(context)
    found: list[Any] = []
    if settings.receiver.enabled:
        found.append(IDocReceiver(context, credentials_from_env(settings.receiver, context.env), settings))
    if settings.file_port is not None and settings.file_port.enabled:
        found.append(FilePort(context, settings))
    if settings.status is not None and settings.status.enabled:
        found.append(IdocStatusReporter(context, settings))
    return found
