"""The adapters' own keys in the settings: ``sources.<system>`` beyond ``timezone`` and a route's
keys beyond name, sink, events, sites, enabled and processes, each validated by the adapter's model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.config import RouteSettings, SourceSettings

__all__ = ["adapter_problems", "adapter_route_settings", "adapter_source_settings"]


def adapter_route_settings(route: RouteSettings) -> Any:
    """The sink adapter's own model of the route's keys (None when it takes none and none are given).

    Raises:
        pydantic.ValidationError: the adapter refuses a key or a value.
        ConfigError: no adapter of that name, one without a sink, or keys for an adapter that takes none.
    """
    from bridge.adapter import adapter_for, adapters

    try:
        adapter = adapter_for(route.sink)
    except ConfigError:
        known = sorted(name for name, a in adapters().items() if a.sink is not None)
        raise ConfigError(f"sink {route.sink!r} is not an installed adapter with a sink (sinks: {', '.join(known)})") from None
    if adapter.sink is None:
        raise ConfigError(f"adapter {route.sink} has no sink")
    options = route.options
    if adapter.route_settings is None:
        if options:
            raise ConfigError(f"sink {route.sink} takes no setting but name, sink, events, sites, enabled, processes (got: {', '.join(sorted(options))})")
        return None
    return adapter.route_settings.model_validate(options)


def adapter_source_settings(system: str, source: SourceSettings) -> Any:
    """The system's adapter's own model of the keys in ``sources.<system>`` beyond
    ``timezone`` (``None`` when there are none).

    Raises:
        pydantic.ValidationError: the adapter refuses a key or a value.
        ConfigError: keys for a system without an adapter, or an adapter that takes none.
    """
    extra = dict(source.model_extra or {})
    if not extra:
        return None
    from bridge.adapter import adapter_for

    where = f"sources.{system}"
    try:
        adapter = adapter_for(system)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {', '.join(sorted(extra))}: {exc}") from None
    if adapter.source_settings is None:
        raise ConfigError(f"{where}: adapter {system} takes no setting but timezone (got: {', '.join(sorted(extra))})")
    return adapter.source_settings.model_validate(extra)


def adapter_problems(settings: Any, *, describe: Any, origin: Any) -> list[str]:
    """What the adapters refuse in ``settings``' sources and routes, each problem described by
    ``describe(pydantic error)`` (its location from the top of the file) or, for a sink that
    is no adapter, with ``origin(location)``."""
    import pydantic

    from bridge.redaction import redact

    problems: list[str] = []
    for system, source in settings.sources.items():
        try:
            adapter_source_settings(system, source)
        except pydantic.ValidationError as exc:
            problems.extend(describe({**e, "loc": ("sources", system, *e["loc"])}) for e in exc.errors())
    for index, route in enumerate(settings.routes):
        try:
            adapter_route_settings(route)
        except pydantic.ValidationError as exc:
            problems.extend(describe({**e, "loc": ("routes", index, *e["loc"])}) for e in exc.errors())
        except ConfigError as exc:
            where = origin(("routes", index, "sink"))
            problems.append(redact(f"routes[{index}].sink = {route.sink!r} ({where}): {exc}"))
    return problems
