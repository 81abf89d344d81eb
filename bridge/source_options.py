"""What each source system's configuration means for reading its documents: the options its
codec decodes with (the keys its adapter validates) and the time zone its mappings use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.codecs import codec_for
from bridge.config import Settings, SourceSettings, adapter_source_settings
from bridge.errors import ConfigError
from bridge.mapping import MappingCatalog

__all__ = ["codec_options", "load_catalog", "source_timezones"]


def codec_options(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per source system options for its codec, from the keys of ``sources.<system>`` beyond
    ``timezone``: the system's adapter validates them (its ``source_settings`` model) and its
    codec checks the options they give, before any document is read.

    Raises:
        ConfigError: keys for a system without an adapter, or that its adapter refuses; the
            message names the ``sources.<system>`` setting.
    """
    options: dict[str, dict[str, Any]] = {}
    for system, source in settings.sources.items():
        options[system] = _adapter_source_options(system, source) if source.model_extra else {}
    return options


def _adapter_source_options(system: str, source: SourceSettings) -> dict[str, Any]:
    from pydantic import ValidationError

    where = f"sources.{system}"
    try:
        parsed = adapter_source_settings(system, source)
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(problems) from None
    chosen: dict[str, Any] = parsed.codec_options() if parsed is not None else {}
    try:
        codec_for(system).check_options(**chosen)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return chosen


def source_timezones(settings: Settings) -> dict[str, str]:
    """The zones set explicitly per source system (they win over the mappings' own)."""
    return {system: source.timezone for system, source in settings.sources.items() if source.timezone}


def load_catalog(settings: Settings) -> MappingCatalog:
    """The mappings these settings name, compiled with the source systems' zones."""
    return MappingCatalog.load(Path(settings.mappings_dir), timezones=source_timezones(settings))
