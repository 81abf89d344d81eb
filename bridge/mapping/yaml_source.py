"""YAML loading that remembers line numbers, so errors can say "file:line", and that hostile files cannot abuse.

Every YAML file the bridge reads (mappings, lookup tables, mapping test cases, the configuration
file) goes through :func:`load_yaml_file`, which refuses, with one ``file:line: ...`` line:

* a file larger than :func:`max_yaml_bytes` (checked before reading, and the read is bounded),
  a file that is not UTF-8, or one that is not a regular file;
* aliases that expand past :func:`max_alias_nodes` nodes (a 1 KB "billion laughs" file would
  otherwise become gigabytes once validated or copied), and recursive aliases;
* nesting deeper than :data:`MAX_DEPTH` levels (PyYAML composes recursively);
* duplicate keys, non-scalar keys, and scalars PyYAML cannot build (``2024-13-45``, a
  5000-digit integer), which otherwise escape as bare ``ValueError``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from bridge.errors import ConfigError, MappingDefinitionError

__all__ = [
    "DEFAULT_MAX_ALIAS_NODES",
    "DEFAULT_MAX_YAML_BYTES",
    "MAX_ALIAS_NODES_ENV",
    "MAX_DEPTH",
    "MAX_YAML_BYTES_ENV",
    "LinedDict",
    "line_of",
    "load_yaml_file",
    "max_alias_nodes",
    "max_yaml_bytes",
]

#: Largest YAML file read (mappings, lookups, test cases, configuration), unless
#: ``BRIDGE_MAX_YAML_BYTES`` says otherwise. The shipped files are a few KB.
DEFAULT_MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_BYTES_ENV = "BRIDGE_MAX_YAML_BYTES"
#: Most nodes that aliases (``*name``, ``<<: *name``) may add to one file when expanded, unless
#: ``BRIDGE_MAX_YAML_ALIAS_NODES`` says otherwise.
DEFAULT_MAX_ALIAS_NODES = 10_000
MAX_ALIAS_NODES_ENV = "BRIDGE_MAX_YAML_ALIAS_NODES"
#: Deepest nesting of collections in a YAML file.
MAX_DEPTH = 100


def _positive_int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}")
    return value


def max_yaml_bytes() -> int:
    """The size limit of YAML files: env ``BRIDGE_MAX_YAML_BYTES`` when set, else 1 MiB.

    Raises:
        ConfigError: the environment variable is not a positive integer.
    """
    return _positive_int_env(MAX_YAML_BYTES_ENV, DEFAULT_MAX_YAML_BYTES)


def max_alias_nodes() -> int:
    """The alias expansion limit: env ``BRIDGE_MAX_YAML_ALIAS_NODES`` when set, else 10,000 nodes.

    Raises:
        ConfigError: the environment variable is not a positive integer.
    """
    return _positive_int_env(MAX_ALIAS_NODES_ENV, DEFAULT_MAX_ALIAS_NODES)


class LinedDict(dict[str, Any]):
    """A dict from YAML that knows the line of each key (1-based) and its own line."""

    __slots__ = ("key_lines", "line")

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self.key_lines: dict[str, int] = {}


class _Problem(Exception):
    """A problem at a line of the file being loaded (the caller adds the file name)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _LinedLoader(yaml.SafeLoader):
    """SafeLoader that builds LinedDicts (no Python object tags, as safe_load) within bounds."""

    def __init__(self, stream: str, *, alias_budget: int) -> None:
        super().__init__(stream)
        self._alias_budget = alias_budget
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes in its expansion
        self._open_anchors: set[str] = set()
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise _Problem(
                    event.start_mark.line + 1, f"alias *{event.anchor} refers to a collection that contains it"
                )
            node = super().compose_node(parent, index)
            self._alias_nodes += self._expanded_size(node)
            if self._alias_nodes > self._alias_budget:
                raise _Problem(
                    event.start_mark.line + 1,
                    f"aliases expand past {self._alias_budget} nodes at *{event.anchor} "
                    f"(raise the limit with {MAX_ALIAS_NODES_ENV})",
                )
            return node
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.CollectionStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Problem(event.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.discard(anchor)
            if isinstance(event, yaml.CollectionStartEvent):
                self._depth -= 1

    def _expanded_size(self, root: yaml.Node) -> int:
        """Nodes in the tree below ``root`` once every alias in it is expanded (memoized)."""
        sizes = self._sizes
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if id(node) in sizes:
                continue
            children = _children(node)
            if children_done:
                sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in children if id(child) not in sizes)
        return sizes[id(root)]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (_Problem, yaml.YAMLError):
            raise
        except Exception as exc:  # PyYAML's constructors raise bare ValueError etc. on odd scalars
            kind = node.tag.rsplit(":", 1)[-1]
            reason = str(exc).split(";")[0] if isinstance(exc, ValueError) else type(exc).__name__
            raise _Problem(node.start_mark.line + 1, f"cannot read {_short(node)} as {kind}: {reason}") from exc


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _short(node: yaml.Node) -> str:
    text = node.value if isinstance(node, yaml.ScalarNode) else node.tag
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _construct_mapping(loader: _LinedLoader, node: yaml.MappingNode) -> LinedDict:
    result = LinedDict()
    result.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise _Problem(key_node.start_mark.line + 1, "mapping keys must be scalars")
        key_text = key if isinstance(key, str) else str(key) if key is not None else "null"
        if key_text in result:
            raise _Problem(key_node.start_mark.line + 1, f"key {key_text!r} appears twice")
        result[key_text] = loader.construct_object(value_node, deep=True)
        result.key_lines[key_text] = key_node.start_mark.line + 1
    return result


_LinedLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def load_yaml_file(path: Path, *, max_bytes: int | None = None) -> Any:
    """Parse a YAML file into LinedDicts; every problem is one line naming the file (and line).

    Args:
        path: the file.
        max_bytes: size limit (default :func:`max_yaml_bytes`).

    Raises:
        MappingDefinitionError: unreadable, too large, not UTF-8, invalid YAML or over a bound.
    """
    text = _read_text(path, max_yaml_bytes() if max_bytes is None else max_bytes)
    loader: _LinedLoader | None = None
    try:
        loader = _LinedLoader(text, alias_budget=max_alias_nodes())  # checks the characters
        return loader.get_single_data()
    except _Problem as exc:
        raise MappingDefinitionError(f"{path}:{exc.line}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark, context_mark = exc.problem_mark, exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        text = exc.problem or exc.context
        if exc.problem and exc.context and context_mark:
            text += f" ({exc.context} at line {context_mark.line + 1})"
        raise MappingDefinitionError(f"{where}: invalid YAML: {text}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise MappingDefinitionError(
            f"{path}:{line}: invalid YAML: special character U+{exc.character:04X} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise MappingDefinitionError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise MappingDefinitionError(f"{path}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def _read_text(path: Path, limit: int) -> str:
    """The file's text; its size is checked before reading, and the read stops past the limit."""
    too_big = f"{path}: larger than the limit of {limit} bytes for YAML files (raise it with {MAX_YAML_BYTES_ENV})"
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise MappingDefinitionError(f"{path}: not a regular file")
        if info.st_size > limit:
            raise MappingDefinitionError(too_big)
        with path.open("rb") as stream:
            raw = stream.read(limit + 1)
    except OSError as exc:
        raise MappingDefinitionError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise MappingDefinitionError(too_big)  # it grew after the check
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MappingDefinitionError(
            f"{path}:{line}: not UTF-8 text (byte offset {exc.start}: {raw[exc.start : exc.start + 1]!r})"
        ) from None


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
