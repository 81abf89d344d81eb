"""The one registry of adapters: entry point group ``erp_mes_bridge.adapters``, read once.

Every lookup of a vendor role (codec, payload format, transform, inspector) goes through here,
so an adapter shipped as its own package plugs in with one ``pyproject.toml`` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from bridge.adapter.base import Adapter, Serialiser
from bridge.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "adapter_for", "adapter_formats", "adapter_names", "adapter_transforms", "adapters"]

#: Entry point group every adapter registers its :class:`~bridge.adapter.base.Adapter` under.
ENTRY_POINT_GROUP = "erp_mes_bridge.adapters"


@cache
def adapters() -> dict[str, Adapter]:
    """The installed adapters by name.

    Raises:
        ConfigError: an adapter that cannot be loaded, is not an :class:`Adapter`, or whose
            name differs from its entry point's.
    """
    found: dict[str, Adapter] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            adapter = entry.load()
        except Exception as exc:  # a broken adapter must say which one
            raise ConfigError(f"adapter {entry.name} ({entry.value}) cannot be loaded: {exc}") from exc
        if not isinstance(adapter, Adapter):
            raise ConfigError(f"adapter {entry.name} ({entry.value}) is a {type(adapter).__name__}, not an Adapter")
        if adapter.name != entry.name:
            raise ConfigError(f"adapter {entry.value} calls itself {adapter.name!r} but is registered as {entry.name!r}")
        found[entry.name] = adapter
    return found


def adapter_names() -> list[str]:
    """Names of the installed adapters."""
    return sorted(adapters())


def adapter_for(system: str) -> Adapter:
    """The adapter of a system; ConfigError naming the installed ones if there is none."""
    try:
        return adapters()[system]
    except KeyError:
        raise ConfigError(
            f"no adapter for system {system!r} (installed: {', '.join(adapter_names()) or 'none'})"
        ) from None


def _merged(role: str, pick: Callable[[Adapter], Mapping[str, Any]], reserved: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    owner: dict[str, str] = dict.fromkeys(reserved, "the bridge")
    for name, adapter in adapters().items():
        for key, value in pick(adapter).items():
            if key in owner:
                raise ConfigError(f"{role} {key!r} of adapter {name} is already defined by {owner[key]}")
            owner[key] = f"adapter {name}"
            merged[key] = value
    return merged


@cache
def adapter_formats(reserved: tuple[str, ...] = ()) -> dict[str, Serialiser]:
    """Payload serialisers of all adapters by format name (``reserved``: built-in names)."""
    return _merged("payload format", lambda a: a.formats, dict.fromkeys(reserved))


@cache
def adapter_transforms(reserved: tuple[str, ...] = ()) -> dict[str, Callable[..., Any]]:
    """Mapping transforms of all adapters by name (``reserved``: the built-in transforms)."""
    return _merged("transform", lambda a: a.transforms, dict.fromkeys(reserved))
