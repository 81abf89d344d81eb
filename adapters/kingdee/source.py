"""The K/3 Cloud system's sources from ``sources.kingdee``: the poller (:mod:`adapters.kingdee.poller`)."""

from __future__ import annotations

from typing import Any

from adapters.kingdee.poller import kingdee_poller
from adapters.kingdee.settings import KingdeeSourceSettings
from bridge.adapter.source import SourceContext
from bridge.errors import ConfigError

__all__ = ["sources"]


def sources(context: SourceContext) -> list[Any]:
    """The poller, when ``poll:`` is configured.

    Raises:
        ConfigError: the app secret's (or password's) variable is not set, or the TLS files
            cannot be loaded.
    """
    settings = context.settings
    if settings is None:
        return []
    if not isinstance(settings, KingdeeSourceSettings):
        raise ConfigError(f"sources.{context.system}: not K/3 Cloud settings")
    if settings.poll is None:
        return []
    client = settings.client(f"sources.{context.system}", context.env)
    return [kingdee_poller(context, settings, client)]
