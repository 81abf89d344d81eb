"""Load mapping files: read YAML, validate against mapping.schema.json, compile."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bridge.canonical import ENTITY_EVENTS
from bridge.errors import ConfigError, MappingDefinitionError
from bridge.mapping.compiler import (
    CompileContext,
    compile_expression,
    compile_fields,
    inline_tables,
)
from bridge.mapping.lookups import LookupTable
from bridge.mapping.mapping import CompiledMapping, each_walker
from bridge.mapping.transforms import TransformError, resolve_timezone
from bridge.mapping.yaml_source import line_of, load_yaml_file

__all__ = ["SCHEMA_FILE", "compile_mapping", "load_mapping", "mapping_schema", "schema_errors"]

SCHEMA_FILE = "mapping.schema.json"


@cache
def mapping_schema() -> dict[str, Any]:
    """The mapping JSON Schema shipped in this package."""
    text = resources.files("bridge.mapping").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(mapping_schema())


def schema_errors(data: Any, file: str) -> list[str]:
    """Every schema violation as ``file:line: where: message``, most specific first."""
    messages = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path)):
        best = jsonschema.exceptions.best_match([error])
        location = list(best.absolute_path)
        line = line_of(data, location)
        where = "/".join(str(p) for p in location) or "(top)"
        prefix = f"{file}:{line}" if line else file
        messages.append(f"{prefix}: {where}: {best.message}")
    return messages


def load_mapping(
    path: Path,
    shared_lookups: Mapping[str, LookupTable] | None = None,
    *,
    timezones: Mapping[str, str] | None = None,
) -> CompiledMapping:
    """Read, validate and compile one mapping file (``timezones``: see :func:`compile_mapping`)."""
    data = load_yaml_file(path)
    return compile_mapping(data, str(path), shared_lookups or {}, timezones=timezones)


def compile_mapping(
    data: Any,
    file: str,
    shared_lookups: Mapping[str, LookupTable],
    *,
    timezones: Mapping[str, str] | None = None,
) -> CompiledMapping:
    """Validate mapping data (from YAML) and compile it.

    Args:
        data: the parsed YAML.
        file: where it came from, for messages.
        shared_lookups: the tables of ``mappings/lookups/``.
        timezones: zones set explicitly for ERP systems (``sources.<system>.timezone`` in the
            bridge configuration). The zone of the mapping's ERP system (its source system, or
            the target system of a reverse mapping) wins over the mapping's ``source.timezone``;
            without one, the mapping's zone (default UTC) stands.
    """
    if not isinstance(data, Mapping):
        raise MappingDefinitionError(f"{file}: a mapping file holds one YAML object")
    version = data.get("version")
    if version != 1:
        raise MappingDefinitionError(
            f"{file}: mapping language version {version!r} is not supported (this bridge reads version 1)"
        )
    problems = schema_errors(data, file)
    if problems:
        raise MappingDefinitionError("\n".join(problems))
    source, target = data["source"], data["target"]
    to_canonical = "system" in source
    if to_canonical != ("entity" in target):
        raise MappingDefinitionError(
            f"{file}: a mapping goes from a source system to a canonical entity "
            "(source.system + target.entity) or back (source.entity + target.system)"
        )
    timezone = str(source.get("timezone", "UTC"))
    try:
        resolve_timezone(timezone)
    except TransformError as exc:
        raise MappingDefinitionError(f"{file}: source.timezone: {exc}") from None
    system = str(source["system"] if to_canonical else target["system"])
    configured = (timezones or {}).get(system)
    if configured:
        try:
            resolve_timezone(configured)
        except TransformError as exc:
            raise ConfigError(f"sources.{system}.timezone: {exc}") from None
        timezone = configured
    ctx = CompileContext(
        mapping=str(data["mapping"]),
        file=file,
        timezone=timezone,
        inline_lookups=inline_tables(data.get("lookups"), file),
        shared_lookups=shared_lookups,
    )
    build = compile_fields(data["fields"], ctx, ctx.where(data, "fields"))
    if to_canonical:
        return _forward(data, ctx, build, timezone)
    if "event" in data or "each" in data or "envelope" in data:
        raise MappingDefinitionError(f"{file}: event, each and envelope only go with mappings to canonical")
    events = tuple(source.get("events", ()))
    unknown = [e for e in events if e not in ENTITY_EVENTS[source["entity"]]]
    if unknown:
        raise MappingDefinitionError(
            f"{file}: source.events: {source['entity']} has no event {', '.join(unknown)}"
        )
    target_format = str(target.get("format", "json"))
    _check_format(target_format, file)
    return CompiledMapping(
        name=ctx.mapping,
        file=file,
        direction="from_canonical",
        system=str(target["system"]),
        documents=(str(target["document"]),),
        entity=str(source["entity"]),
        timezone=timezone,
        build_payload=build,
        events=events,
        target_format=target_format,
    )


def _check_format(name: str, file: str) -> None:
    if name == "json":
        return
    from bridge.adapter import adapter_formats

    known = adapter_formats(reserved=("json",))
    if name not in known:
        raise MappingDefinitionError(
            f"{file}: target.format: no payload format {name!r} (known: {', '.join(sorted(['json', *known]))})"
        )


def _forward(data: Mapping[str, Any], ctx: CompileContext, build: Any, timezone: str) -> CompiledMapping:
    entity = str(data["target"]["entity"])
    if "event" not in data:
        raise MappingDefinitionError(
            f"{ctx.file}: a mapping to canonical needs event: (e.g. event: upserted)"
        )
    raw_event = data["event"]
    allowed = ENTITY_EVENTS[entity]
    constants = [raw_event] if not isinstance(raw_event, Mapping) else _event_constants(raw_event)
    wrong = [c for c in constants if c not in allowed]
    if wrong:
        raise MappingDefinitionError(
            f"{ctx.where(data, 'event')}: {entity} has no event {', '.join(map(repr, wrong))} "
            f"(events: {', '.join(allowed)})"
        )
    event = compile_expression(raw_event, ctx, ctx.where(data, "event"))
    envelope = {
        key: compile_expression(expr, ctx, ctx.where(data["envelope"], key))
        for key, expr in (data.get("envelope") or {}).items()
    }
    try:
        each = each_walker(data["each"]) if "each" in data else None
    except MappingDefinitionError as exc:
        raise MappingDefinitionError(f"{ctx.where(data, 'each')}: {exc}") from None
    source = data["source"]
    return CompiledMapping(
        name=ctx.mapping,
        file=ctx.file,
        direction="to_canonical",
        system=str(source["system"]),
        documents=tuple(str(d) for d in source["documents"]),
        entity=entity,
        timezone=timezone,
        build_payload=build,
        event=event,
        each=each,
        envelope=envelope or None,
    )


def _event_constants(spec: Mapping[str, Any]) -> list[Any]:
    """Constant events written in cases/otherwise, to check them at load."""
    found = []
    for case in spec.get("cases", []) or []:
        if isinstance(case, Mapping) and not isinstance(case.get("then"), Mapping):
            found.append(case.get("then"))
    if "otherwise" in spec and not isinstance(spec["otherwise"], Mapping):
        found.append(spec["otherwise"])
    if "value" in spec:
        found.append(spec["value"])
    return found
