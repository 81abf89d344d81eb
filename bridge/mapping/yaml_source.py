"""YAML loading that remembers line numbers, so errors can say "file:line"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bridge.errors import MappingDefinitionError

__all__ = ["LinedDict", "line_of", "load_yaml_file"]


class LinedDict(dict[str, Any]):
    """A dict from YAML that knows the line of each key (1-based) and its own line."""

    __slots__ = ("key_lines", "line")

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self.key_lines: dict[str, int] = {}


class _LinedLoader(yaml.SafeLoader):
    """SafeLoader that builds LinedDicts (no Python object tags, as safe_load)."""


def _construct_mapping(loader: _LinedLoader, node: yaml.MappingNode) -> LinedDict:
    result = LinedDict()
    result.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise MappingDefinitionError(f"line {key_node.start_mark.line + 1}: mapping keys must be scalars")
        key_text = key if isinstance(key, str) else str(key) if key is not None else "null"
        if key_text in result:
            raise MappingDefinitionError(
                f"line {key_node.start_mark.line + 1}: key {key_text!r} appears twice"
            )
        result[key_text] = loader.construct_object(value_node, deep=True)
        result.key_lines[key_text] = key_node.start_mark.line + 1
    return result


_LinedLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def load_yaml_file(path: Path) -> Any:
    """Parse a YAML file into LinedDicts; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingDefinitionError(f"{path}: cannot read: {exc}") from exc
    try:
        return yaml.load(text, Loader=_LinedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise MappingDefinitionError(f"{where}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise MappingDefinitionError(f"{path}: invalid YAML: {exc}") from exc
    except MappingDefinitionError as exc:
        raise MappingDefinitionError(f"{path}: {exc}") from exc


def line_of(data: Any, path: list[Any] | tuple[Any, ...]) -> int | None:
    """The line of the value at ``path`` (keys and list indexes) inside LinedDicts."""
    node = data
    line = getattr(data, "line", None)
    for step in path:
        if isinstance(node, LinedDict) and isinstance(step, str) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            line = getattr(node, "line", line)
        else:
            break
    return line
