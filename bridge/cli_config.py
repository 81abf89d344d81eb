"""``bridge config check``: validate a configuration as ``bridge run`` does at start-up, and show
the settings it gives (defaults filled in) as YAML with every secret masked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from bridge.cli_kit import config_option, counted, load_settings_logged, reported, verbose_option
from bridge.redaction import MASK, redact_data

__all__ = ["config", "effective_settings"]

#: Key endings whose values say where a secret comes from (an environment variable, a mounted
#: file): shown masked like the secrets themselves.
SECRET_SOURCE_SUFFIXES = ("_env", "_file")


def _mask_secret_sources(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK
            if isinstance(key, str)
            and key.lower().endswith(SECRET_SOURCE_SUFFIXES)
            and item not in (None, "")
            and not isinstance(item, bool)
            else _mask_secret_sources(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_secret_sources(item) for item in value]
    return value


def effective_settings(settings: Any) -> dict[str, Any]:
    """The settings as the bridge uses them, as plain data ready for YAML: defaults filled in,
    each route's and source's adapter keys as its adapter reads them (their defaults too), and
    every secret masked: secret settings and URL passwords (``amqp://user:***@host``), values
    under secret key names (``password``, ``secret``, ``token``...) and under ``*_env`` /
    ``*_file`` keys (see :func:`bridge.redaction.redact_data`)."""
    from bridge.config import adapter_route_settings, adapter_source_settings

    data = settings.model_dump(mode="json")
    for index, route in enumerate(settings.routes):
        parsed = adapter_route_settings(route)
        if parsed is not None:
            data["routes"][index].update(parsed.model_dump(mode="json"))
    for system, source in settings.sources.items():
        parsed = adapter_source_settings(system, source)
        if parsed is not None:
            data["sources"][system].update(parsed.model_dump(mode="json"))
    return redact_data(_mask_secret_sources(data))


@click.group("config")
def config() -> None:
    """The bridge's configuration."""


@config.command("check")
@config_option
@verbose_option
def config_check(config_path: Path | None) -> None:
    """Validate a configuration and print the effective settings as YAML, secrets masked.

    Checks what ``bridge run`` checks before it connects: the file and the ``BRIDGE_*``
    variables, each adapter's keys of the sources and routes, the codecs' options, the
    mappings and the topology. A problem is printed as ``bridge: error: ...`` naming the
    setting, its value and where it came from, and exits 2. Nothing is connected to.
    """
    import yaml

    from bridge.runtime import topology_for
    from bridge.source_options import codec_options, load_catalog

    with reported():
        settings = load_settings_logged(config_path)
        codec_options(settings)
        catalog = load_catalog(settings)
        topology_for(settings)
        shown = effective_settings(settings)
    click.echo(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, default_flow_style=False), nl=False)
    source = config_path or os.environ.get("BRIDGE_CONFIG") or "built-in defaults"
    click.echo(
        f"configuration OK ({source}): {counted(len(settings.sources), 'source')}, "
        f"{counted(len(settings.routes), 'route')}, {counted(len(list(catalog)), 'mapping')}",
        err=True,
    )
