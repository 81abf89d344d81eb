"""A starting mapping and its cases file, written from one sample document.

``bridge mapping scaffold SAMPLE`` decodes the sample with its system's codec (sniffed as
``bridge translate`` does, or named), and writes next to the other mappings of that system::

    mappings/sap/batmas_lot.yaml        source, target, event; every source field of the
                                        sample as a comment (path = value); a fields: block
                                        with the entity's required canonical fields left empty
                                        (hints and candidate paths in comments)
    mappings/sap/batmas_lot.cases.yaml  one case: the sample, with what the envelope must say

The mapping does not load until the integrator fills the required fields (an empty field is a
schema error naming it), which is the point: nothing is guessed silently. Existing files are
never overwritten.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.canonical import ENTITY_ENVELOPES, ENTITY_EVENTS
from bridge.codecs import codec_for, sniff_codec
from bridge.document import SourceDocument
from bridge.errors import BridgeError, ConfigError, DecodeError
from bridge.limits import read_document
from bridge.mapping.catalog import CASES_SUFFIX, default_mappings_dir

__all__ = ["MAX_LISTED_PATHS", "Scaffold", "SourcePath", "build_scaffold", "source_paths", "write_scaffold"]

#: Source paths listed in a scaffolded mapping at most (a K/3 Cloud View reply has hundreds).
MAX_LISTED_PATHS = 3000
#: Longest sample value shown in a comment; longer ones are cut with their length.
_VALUE_LIMIT = 60
#: Candidate source paths suggested per canonical field.
_CANDIDATES = 3
#: Words a source field may use for a canonical one (lower case, without underscores).
_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "lot": ("batch", "charg", "batchno", "lot", "lotno", "lotnumber"),
    "material": ("material", "matnr", "materialnumber", "product", "productcode", "item"),
    "site": ("plant", "werks", "site", "org", "orgid", "factory"),
    "order": ("order", "aufnr", "orderno", "billno", "mono"),
    "unit": ("unit", "meins", "uom", "unitid"),
    "status": ("status", "stat", "state", "documentstatus"),
    "quantity": ("quantity", "qty", "menge", "gamng", "amount"),
    "yield": ("yield", "good", "goodqty", "yieldqty", "finishqty", "lmnga"),
    "scrap": ("scrap", "scrapqty", "xmnga", "bad"),
    "base_unit": ("meins", "baseunit", "baseunitid", "unit", "uom"),
}
#: Last names of a path that hold an object's key (``MaterialId.Number``).
_KEY_LEAVES = ("number", "code", "no")
#: Endings of a field name that still name the same thing (``MATNR_LONG``, ``product_cCode``).
_NAME_SUFFIXES = ("long", "code", "ccode", "number", "no", "num", "nr")
_DATETIME_FORMATS = {"date-time": "date/time with offset: transform iso_datetime (or sap_datetime, args [date, time])",
                     "date": "date: transform iso_date (or sap_date)"}


@dataclass(frozen=True)
class SourcePath:
    """One path of the sample's tree as the mapping language reads it (lists entered).

    Attributes:
        path: dotted path from the document root (``E1AFKOL.E1AFFLL.E1AFVOL.VORNR``).
        value: the first value found there (a field), or None for a repeated segment/object.
        count: how many values (or elements) the sample has at this path.
        node: True for a repeated segment or object list (a ``foreach:`` candidate).
    """

    path: str
    value: Any
    count: int
    node: bool = False


@dataclass
class Scaffold:
    """What ``bridge mapping scaffold`` writes (see :func:`build_scaffold`)."""

    mapping_file: Path
    cases_file: Path
    mapping_text: str
    cases_text: str
    name: str
    system: str
    document_type: str
    entity: str
    warnings: list[str] = field(default_factory=list)


def source_paths(trees: Sequence[Any]) -> list[SourcePath]:
    """Every field path of the trees, in document order, with its first value and count;
    repeated segments and object lists (more than one element at a path) as nodes."""
    values: dict[str, list[Any]] = {}
    lists: dict[str, int] = {}
    stack: list[tuple[Any, str]] = [(tree, "") for tree in reversed(trees)]
    while stack:  # iterative: a hostile sample's depth cannot exhaust the Python stack
        node, prefix = stack.pop()
        if isinstance(node, Mapping):
            if not node and prefix:
                _add(values, prefix, {})
            children = []
            for key, value in node.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                if type(value) is list:
                    lists[path] = lists.get(path, 0) + len(value)
                    if not value:
                        _add(values, path, [])
                    children.extend((item, path) for item in value)
                else:
                    children.append((value, path))
            stack.extend(reversed(children))
        elif type(node) is list:
            stack.extend((item, prefix) for item in reversed(node))
        else:
            _add(values, prefix, node)
    nodes = {path: SourcePath(path, None, count, node=True) for path, count in lists.items() if count > 1}
    ordered: list[SourcePath] = []
    for path, items in values.items():
        for ancestor in _ancestors(path):  # a repeated node is listed before its first field
            node = nodes.pop(ancestor, None)
            if node is not None:
                ordered.append(node)
        ordered.append(SourcePath(path, items[0], len(items)))
    ordered.extend(node for path, node in nodes.items() if path not in values)
    return ordered


def _add(values: dict[str, list[Any]], path: str, value: Any) -> None:
    values.setdefault(path, []).append(value)


def _ancestors(path: str) -> Iterator[str]:
    parts = path.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def build_scaffold(
    sample: Path,
    *,
    system: str | None = None,
    entity: str | None = None,
    out: Path | None = None,
    codec_options: Mapping[str, Any] | None = None,
    mappings_dir: Path | None = None,
) -> Scaffold:
    """Decode ``sample`` and compose the mapping and cases texts (nothing is written).

    Args:
        sample: the sample document.
        system: its source system (default: sniffed from the bytes).
        entity: the canonical entity (default: the one existing mappings of this document
            type produce, if they agree).
        out: the folder to write to (default ``<mappings>/<system>/``).
        codec_options: decode options (``definitions``, ``encoding``) as for translate.
        mappings_dir: the mappings folder (default :func:`default_mappings_dir`).

    Raises:
        DecodeError: the sample cannot be read or decoded.
        ConfigError: unknown system or entity, an entity that cannot be guessed, a canonical
            envelope as sample.
    """
    data = read_document(sample)
    options = {k: v for k, v in (codec_options or {}).items() if v}
    codec = codec_for(system) if system else sniff_codec(data, sample.name)
    documents = codec.decode(data, origin=sample.name, **options)
    if not documents:
        raise DecodeError(f"{sample}: holds no document")
    first = documents[0]
    if first.canonical_entities:
        raise ConfigError(
            f"{sample}: is a canonical {'/'.join(first.canonical_entities)} envelope, which needs no mapping; "
            "scaffold starts mappings from a source system's documents (name it with --system)"
        )
    mappings_root = mappings_dir or default_mappings_dir()
    warnings: list[str] = []
    readers = _catalog_readers(first, mappings_root)
    chosen = entity or _guess_entity(first, readers)
    if chosen not in ENTITY_EVENTS:
        raise ConfigError(f"--entity {entity}: not a canonical entity (entities: {', '.join(ENTITY_EVENTS)})")
    if readers:
        warnings.append(
            f"{', '.join(name for name, _ in readers)} already read(s) {first.system} {first.document_type}: translate refuses a "
            "document type two mappings read, so replace the old one or give the new one other documents"
        )
    warnings.extend(f"{sample}: {warning}" for d in documents for warning in d.warnings)
    if len({d.document_type for d in documents}) > 1:
        warnings.append(f"{sample}: holds documents of several types; the mapping reads {first.document_type}")
    slug = _slug(first.document_type)
    folder = out or mappings_root / first.system
    mapping_file = folder / f"{slug}_{chosen}.yaml"
    cases_file = folder / f"{slug}_{chosen}{CASES_SUFFIX}"
    name = f"{_slug(first.system)}.{slug}.{chosen}"
    same_type = [d for d in documents if d.document_type == first.document_type]
    mapping_text = _mapping_text(name, first, chosen, sample, same_type, folder)
    cases_text = _cases_text(mapping_file, cases_file, sample, first, chosen, len(same_type), len(documents))
    return Scaffold(mapping_file, cases_file, mapping_text, cases_text, name, first.system,
                    first.document_type, chosen, warnings)


def write_scaffold(scaffold: Scaffold) -> None:
    """Write both files; refuse (BridgeError, nothing written) when either exists.

    Raises:
        BridgeError: a file is there already (bad input, not configuration: exit code 1).
        ConfigError: the folder cannot be made or written.
    """
    existing = [p for p in (scaffold.mapping_file, scaffold.cases_file) if p.exists() or p.is_symlink()]
    if existing:
        verb = "already exists" if len(existing) == 1 else "already exist"
        raise BridgeError(f"{' and '.join(map(str, existing))} {verb}: not overwritten (move it away or use --out)")
    try:
        scaffold.mapping_file.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((scaffold.mapping_file, scaffold.mapping_text), (scaffold.cases_file, scaffold.cases_text)):
            with path.open("x", encoding="utf-8") as stream:  # "x": never over a file made meanwhile
                stream.write(text)
    except FileExistsError as exc:
        raise BridgeError(f"{exc.filename} appeared meanwhile: not overwritten") from None
    except OSError as exc:
        raise ConfigError(f"{exc.filename or scaffold.mapping_file.parent}: cannot write: {exc.strerror or exc}") from None


# -- choosing -------------------------------------------------------------------------------


def _catalog_readers(document: SourceDocument, mappings_root: Path) -> list[tuple[str, str]]:
    from bridge.mapping.catalog import MappingCatalog

    if not mappings_root.is_dir():
        return []
    try:
        catalog = MappingCatalog.load(mappings_root)
    except BridgeError:  # a broken mapping elsewhere does not stop a new one being started
        return []
    found = catalog.for_document(document.system, document.document_type, document.extension)
    return [(m.name, m.entity) for m in found]


def _guess_entity(document: SourceDocument, readers: Sequence[tuple[str, str]]) -> str:
    entities = {entity for _, entity in readers}
    if len(entities) == 1:
        return entities.pop()
    raise ConfigError(
        f"which canonical entity does {document.system} {_printable(document.document_type)} become? "
        f"name it with --entity ({', '.join(ENTITY_EVENTS)})"
    )


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    short = re.sub(r"\d+$", "", slug).rstrip("_")  # LOIPRO05 -> loipro: one mapping reads all versions
    return short or slug or "document"


# -- the mapping ----------------------------------------------------------------------------


def _mapping_text(
    name: str, document: SourceDocument, entity: str, sample: Path, documents: Sequence[SourceDocument], folder: Path
) -> str:
    events = ENTITY_EVENTS[entity]
    schema = Path(__file__).with_name("mapping.schema.json").resolve()
    lines = [
        f"# yaml-language-server: $schema={_relative(schema, folder)}",
        f"# {_printable(document.system)} {_printable(document.document_type)} -> canonical {entity}.",
        f"# Scaffolded by `bridge mapping scaffold` from {_printable(sample.name)}: fill in the fields below,",
        "# then run `bridge mapping lint` and `bridge mapping test` on this folder.",
        f"mapping: {name}",
        "version: 1",
        f"description: {_quoted(f'{document.system} {document.document_type} to canonical {entity}s')}",
        "source:",
        f"  system: {_quoted(document.system)}",
        f"  documents: [{_quoted(document.document_type)}]",
        f"  # timezone: Asia/Shanghai   # zone of the source's local times (default UTC); sources.{_slug(document.system)}.timezone wins",
        f"target: {{entity: {entity}}}",
        "",
        f"# {entity} events: {', '.join(events)}; one for every document, or chosen per document:",
        "#   event:",
        "#     cases:",
        f"#       - {{when: {{path: SOME.FIELD, equals: X}}, then: {events[-1]}}}",
        f"#     otherwise: {events[0]}",
        f"event: {events[0]}",
        "",
    ]
    paths = source_paths([d.tree for d in documents])
    lines.extend(_source_comment(paths, len(documents)))
    lines.append("")
    lines.extend(_fields_block(entity, paths))
    return "\n".join(lines) + "\n"


def _source_comment(paths: Sequence[SourcePath], count: int) -> list[str]:
    many = f" ({count} documents; values of the first)" if count > 1 else ""
    lines = [
        f"# Source fields of the sample{many}, as paths read them: a list is entered element by",
        "# element (a path reads the first; foreach: walks every one, paths inside it start there).",
    ]
    shown = paths[:MAX_LISTED_PATHS]
    width = min(max((len(p.path) for p in shown), default=0), 48)
    for item in shown:
        path = _printable(item.path)
        if item.node:
            lines.append(f"#   {path.ljust(width)}  [{item.count} elements: a foreach: candidate]")
            continue
        more = f"  ({item.count} values)" if item.count > 1 else ""
        lines.append(f"#   {path.ljust(width)}  = {_comment_value(item.value)}{more}")
    if len(paths) > MAX_LISTED_PATHS:
        lines.append(f"#   ... and {len(paths) - MAX_LISTED_PATHS} more paths")
    return lines


def _fields_block(entity: str, paths: Sequence[SourcePath]) -> list[str]:
    schema = ENTITY_ENVELOPES[entity].model_json_schema()
    definitions = schema.get("$defs", {})
    payload = _resolve(schema["properties"]["payload"], definitions)
    required = list(payload.get("required", []))
    properties: Mapping[str, Any] = payload.get("properties", {})
    width = max((len(n) for n in properties), default=0) + 1
    lines = [f"# Required by the canonical {entity}: each needs a path (or value, first_of, template...).", "fields:"]
    for name in required:
        spec = _resolve(properties[name], definitions)
        hint = _hint(spec)
        nested = _nested_required(spec, definitions)
        candidates = _candidates(name, paths, str(spec.get("description") or ""))
        if nested:
            lines.append(f"  {name}:{' ' * (width - len(name))}# {hint}")
            lines.append("    fields:")
            inner_width = max(len(n) for n in nested) + 1
            for inner, inner_spec in nested.items():
                inner_hint = _hint(inner_spec)
                found = _candidates(inner, paths, str(inner_spec.get("description") or ""))
                if inner == "value":
                    found = candidates
                lines.append(f"      {inner}:{' ' * (inner_width - len(inner))}# {inner_hint}{_candidate_text(found)}")
        else:
            lines.append(f"  {name}:{' ' * (width - len(name))}# {hint}{_candidate_text(candidates)}")
    optional = [n for n in properties if n not in required]
    if optional:
        lines.append(f"  # Optional fields of the canonical {entity} (uncomment those the source has):")
        for name in optional:
            spec = _resolve(properties[name], definitions)
            lines.append(f"  # {name}:{' ' * (width - len(name))}{_optional_hint(spec, definitions)}"
                         f"{_candidate_text(_candidates(name, paths, str(spec.get('description') or '')))}")
    return lines


def _resolve(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    """The property's schema without $ref and the ``| None`` of optional fields."""
    if "anyOf" in spec:
        real = [s for s in spec["anyOf"] if s.get("type") != "null"]
        if len(real) == 1:
            spec = {**real[0], **{k: v for k, v in spec.items() if k not in ("anyOf", "default")}}
    if "$ref" in spec:
        target = definitions.get(str(spec["$ref"]).rsplit("/", 1)[-1], {})
        spec = {**target, **{k: v for k, v in spec.items() if k != "$ref"}}
    return spec


def _nested_required(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    if spec.get("type") != "object" or "properties" not in spec:
        return {}
    return {n: _resolve(spec["properties"][n], definitions) for n in spec.get("required", [])}


def _hint(spec: Mapping[str, Any]) -> str:
    kind = _kind(spec)
    if spec.get("type") == "object" and "properties" in spec:
        return kind
    description = str(spec.get("description") or "").strip()
    if not description:
        return f"{kind}."
    return f"{kind}. {description}" + ("" if description.endswith(".") else ".")


def _kind(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if spec.get("format") in _DATETIME_FORMATS:
        return _DATETIME_FORMATS[str(spec["format"])]
    if kind == "boolean":
        return "true/false: {test: {path: ..., equals: X}}"
    if kind == "array":
        return "list: {foreach: <repeated path>, fields: {...}}"
    if kind == "object" and "properties" in spec:
        return f"{spec.get('title', 'object')} {{{', '.join(spec['properties'])}}}"
    if kind == "object":
        return "object: {foreach: <repeated path>, key: ..., item: ...}"
    if "pattern" in spec:
        return "decimal string: transform decimal"
    return "text"


def _optional_hint(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if kind == "array":
        items = _resolve(spec.get("items", {}), definitions)
        needed = ", ".join(items.get("required", [])) or "-"
        return f"{{foreach: <repeated path>, fields: {{...}}}}   # list of {items.get('title', 'items')}, each needs: {needed}"
    nested = _nested_required(spec, definitions)
    if nested:
        return "{fields: {" + ", ".join(f"{n}: {{path: ...}}" for n in nested) + "}}   # " + _hint(spec)
    return "{path: ...}   # " + _hint(spec)


def _candidates(name: str, paths: Sequence[SourcePath], description: str = "") -> list[SourcePath]:
    """Sample fields that may hold the canonical field: named like it (or as its description's
    ``(SAP XXXX)`` says), whole names before prefixes, shallow paths before deep ones."""
    words = _words(name) | {_norm(w) for w in re.findall(r"\(SAP ([A-Z0-9_/]+)\)", description)}
    ranked: list[tuple[int, int, int, SourcePath]] = []
    for position, item in enumerate(paths):
        if item.node or isinstance(item.value, Mapping | list) or item.value in (None, ""):
            continue
        parts = [_norm(p) for p in item.path.split(".")]
        leaf, depth = parts[-1], len(parts)
        if leaf in words:
            ranked.append((0, depth, position, item))
        elif leaf in _KEY_LEAVES and any(_names(p, words) for p in parts[:-1]):
            ranked.append((1, depth, position, item))  # K/3 Cloud's MaterialId.Number
        elif any(leaf == w + rest for w in words for rest in _NAME_SUFFIXES):
            ranked.append((2, depth, position, item))  # MATNR_LONG, product_cCode
    return [item for *_, item in sorted(ranked, key=lambda r: r[:3])][:_CANDIDATES]


def _words(name: str) -> set[str]:
    parts = [p for p in name.lower().split("_") if p]
    base = [p for p in parts if p not in ("id", "quantity")] or parts
    words = {"".join(parts), "".join(base)}
    if len(base) == 1:  # one concept (lot_id, site): its usual source names too
        words.update(_SYNONYMS.get(base[0], ()))
    words.update(_SYNONYMS.get(name, ()))
    return words


def _names(part: str, words: set[str]) -> bool:
    return part in words or any(len(w) >= 5 and part.endswith(w) for w in words)  # PrdOrgId


def _norm(part: str) -> str:
    return part.lower().replace("_", "").replace("-", "")


def _candidate_text(found: Sequence[SourcePath]) -> str:
    if not found:
        return ""
    return " Sample: " + ", ".join(f"{_printable(p.path)} = {_comment_value(p.value)}" for p in found)


# -- the cases file -------------------------------------------------------------------------


def _cases_text(
    mapping_file: Path, cases_file: Path, sample: Path, document: SourceDocument, entity: str, count: int, total: int
) -> str:
    source = {"system": document.system, "document_type": document.document_type}
    if document.instance:
        source["instance"] = document.instance
    if document.document_id:
        source["document_id"] = document.document_id
    source_text = ", ".join(f"{k}: {_quoted(v)}" for k, v in source.items())
    selected = [f"    document: 1   # the sample holds {total} documents of several types"] if total != count else []
    lines = [
        f"# Test cases of {mapping_file.name}: `bridge mapping test {_printable(str(cases_file.parent))}`.",
        "# input is relative to this file; add a case for every document that once went wrong.",
        "cases:",
        f"  - name: {_quoted(f'the sample {sample.name} maps')}",
        f"    input: {_quoted(_relative(sample.resolve(), cases_file.parent))}",
        *selected,
        "    expect:",
        f"      count: {1 if selected else count}   # one event per document (a mapping with each: gives one per element)",
        "      contains:",
        f"        entity: {entity}",
        f"        source: {{{source_text}}}",
        "        # event: ...",
        "        # payload: {...}   # what the sample must give, e.g. the ids and quantities",
    ]
    return "\n".join(lines) + "\n"


# -- text -----------------------------------------------------------------------------------


def _relative(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target, folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows): the absolute path
        return target.as_posix()


def _quoted(value: Any) -> str:
    """A YAML scalar that reads back as ``value`` whatever it holds (JSON strings are YAML)."""
    return json.dumps(str(value), ensure_ascii=True)


def _printable(text: str) -> str:
    """Text for a YAML comment: one line, no character YAML takes for a line break."""
    text = str(text)
    return text if text.isprintable() else json.dumps(text, ensure_ascii=True)


def _comment_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _VALUE_LIMIT:
        text = f"{text[:_VALUE_LIMIT]}... ({len(text)} characters)"
    return text if text.isprintable() else json.dumps(value, ensure_ascii=True, default=str)[: _VALUE_LIMIT * 6]
