"""The YonBIP system's sources from ``sources.yonyou``: the poller (:mod:`adapters.yonyou.poller`)."""

from __future__ import annotations

from typing import Any

from adapters.yonyou.client import YonyouClient
from adapters.yonyou.errors import ERRORS
from adapters.yonyou.poller import yonyou_poller
from adapters.yonyou.source_settings import YonyouSourceSettings
from bridge.adapter.source import SourceContext
from bridge.errors import ConfigError

__all__ = ["sources"]


def sources(context: SourceContext) -> list[Any]:
    """The poller, when ``poll:`` is configured.

    Raises:
        ConfigError: the app key's or secret's variable is not set, or the TLS files cannot be loaded.
    """
    settings = context.settings
    if settings is None or getattr(settings, "poll", None) is None:
        return []
    if not isinstance(settings, YonyouSourceSettings):
        raise ConfigError(f"sources.{context.system}: not YonBIP settings")
    errors = ERRORS.with_overrides(settings.errors, setting=f"sources.{context.system}: errors")
    client = YonyouClient(settings, env=context.env, errors=errors)
    return [yonyou_poller(context, settings, client)]
