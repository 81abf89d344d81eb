"""What a mapping's source paths are checked against: the shape of the documents it reads.

* A mapping from an IDoc system (a codec with a definition registry: SAP) reads segments and
  fields the IDoc type definitions list (``adapters/sap/definitions/*.txt`` and any
  ``codec_options.definitions`` of its cases), merged with the parsed samples of its cases: the
  shipped definitions give some segments' leading fields only, and a segment whose definition
  lists no field at all and that no sample shows accepts any field.
* A mapping from a JSON system (Kingdee, Yonyou, the MES) is checked against its cases' sample
  documents: a path none of them has is reported, and without samples nothing is checked.
* A reverse mapping reads a canonical envelope: the canonical model says what it holds.

The definitions are reached through the system's codec (found in the adapter registry by system
name, never imported by name): a codec offering ``registry(definitions)`` whose ``get(type)``
returns a definition with ``segments`` (``segment_type``, ``parent_type``, ``fields``), ``name``
(the basic type) and ``extension``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import BridgeError
from bridge.mapping.lint_report import Problem, did_you_mean, line_at, nearest
from bridge.mapping.lint_samples import MappingFacts, Samples
from bridge.mapping.lint_shapes import Shape, add_idoc_definition, add_sample, model_shape, open_unseen
from bridge.mapping.lint_wording import Describer

__all__ = ["SourceShape", "basic_type_of", "idoc_definitions", "source_shape"]


@dataclass
class SourceShape:
    """The shape a mapping's paths are checked against, with how to word problems.

    Attributes:
        root: the shape of the documents.
        describe: message wording.
        facts: ``$doc`` names known (None: not checked).
        idoc: the documents are IDocs.
        checked: False when nothing describes the documents (no definitions, no samples).
        problems: what is wrong with the mapping's source itself (an unknown system).
    """

    root: Shape
    describe: Describer
    facts: set[str] | None = None
    idoc: bool = False
    checked: bool = True
    problems: list[Problem] = field(default_factory=list)


def _codec(system: str) -> Any:
    from bridge.codecs import codec_for

    try:
        return codec_for(system)
    except BridgeError:
        return None


def idoc_definitions(system: str, documents: Sequence[str], extra: Sequence[str] = ()) -> dict[str, Any]:
    """The IDoc type definitions of ``documents`` the system's codec knows, by name."""
    codec = _codec(system)
    registry_of = getattr(codec, "registry", None)
    if not callable(registry_of):
        return {}
    try:
        registry = registry_of(tuple(extra))
    except BridgeError:
        return {}
    found = {}
    for name in documents:
        try:
            definition = registry.get(name)
        except BridgeError:
            definition = None
        basic = getattr(definition, "name", None)
        if definition is not None and getattr(definition, "extension", None) == name and basic != name:
            with suppress(BridgeError):  # an extension: its segments hang under the basic type's
                definition = registry.resolve(basic, name)
        if definition is not None and hasattr(definition, "segments"):
            found[name] = definition
    return found


def basic_type_of(system: str, name: str, extra: Sequence[str] = ()) -> str | None:
    """The basic IDoc type an extension name extends, when the definitions say so."""
    definition = idoc_definitions(system, [name], extra).get(name)
    if definition is None or getattr(definition, "extension", None) != name:
        return None
    basic = getattr(definition, "name", None)
    return basic if isinstance(basic, str) and basic != name else None


def source_shape(data: Any, facts: MappingFacts, samples: Samples, extra: Sequence[str] = ()) -> SourceShape:
    """The shape of what ``facts``' mapping reads (see the module docstring)."""
    count = len(samples.trees)
    sampled = f"the cases' {count} sample{'s' if count != 1 else ''}"
    if facts.direction == "from_canonical":
        from bridge.canonical import ENTITY_ENVELOPES

        envelope = ENTITY_ENVELOPES.get(facts.entity)
        if envelope is None:
            root = Shape()
            root.open = True
            return SourceShape(root, Describer("canonical", ""), checked=False)
        root = model_shape(envelope)
        for tree in samples.trees:
            add_sample(root, tree)
        return SourceShape(
            root, Describer("canonical", f"the canonical {facts.entity} envelope"), {"message_id"}
        )
    root = Shape()
    result = SourceShape(root, Describer("json", sampled))
    if facts.direction == "to_canonical" and _codec(facts.system) is None:
        from bridge.codecs import codec_names

        source = data.get("source") if hasattr(data, "get") else None
        known = codec_names()
        result.problems.append(
            Problem(
                facts.file,
                line_at(source, "system"),
                f"no adapter reads documents of system {facts.system!r} (known: {', '.join(known)})"
                + did_you_mean(nearest(facts.system, known)),
            )
        )
    definitions = idoc_definitions(facts.system, facts.documents, [*extra, *samples.definitions])
    fieldless: list[Shape] = []
    for definition in definitions.values():
        fieldless.extend(add_idoc_definition(root, definition))
    for tree in samples.trees:
        add_sample(root, tree)
    open_unseen(fieldless)
    result.idoc = bool(definitions) or any(hasattr(tree, "segment_type") for tree in samples.trees)
    result.facts = samples.facts if count else None
    if result.idoc:
        parts = []
        if definitions:
            parts.append(f"the {'/'.join(definitions)} definitions")
        if count:
            parts.append(sampled)
        result.describe = Describer("idoc", " or ".join(parts), "/".join(facts.documents))
    if not definitions and not count:
        root.open = True
        result.checked = False
    return result
