"""The sample documents of a mapping's test cases (``<mapping>.cases.yaml``), decoded as the
mapping sees them: what ``bridge mapping lint`` checks JSON source paths against and what
``bridge mapping coverage`` measures.

An input that does not decode (a case expecting a DecodeError) is no sample; a cases file that
cannot be read, a case without input or expect, and an input file that does not exist are
problems, reported with file and line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError
from bridge.mapping.catalog import CASES_SUFFIX
from bridge.mapping.lint_report import Problem, line_at, split_messages
from bridge.mapping.yaml_source import load_yaml_file

__all__ = ["MappingFacts", "Samples", "cases_file_of", "load_samples"]


@dataclass(frozen=True)
class MappingFacts:
    """What a mapping file says about itself, read from its YAML (even when it does not compile).

    Attributes:
        name: ``mapping:``.
        file: the file.
        direction: ``to_canonical`` or ``from_canonical``; empty when the file says neither.
        system: the source system (to canonical) or the target system.
        documents: document types read (to canonical) or the target document.
        entity: the canonical entity produced or read.
    """

    name: str
    file: str
    direction: str
    system: str
    documents: tuple[str, ...]
    entity: str

    @classmethod
    def of(cls, data: Any, file: str) -> MappingFacts:
        """The facts of parsed mapping YAML (anything missing is empty)."""
        data = data if isinstance(data, Mapping) else {}
        source = data.get("source") if isinstance(data.get("source"), Mapping) else {}
        target = data.get("target") if isinstance(data.get("target"), Mapping) else {}
        if "system" in source:
            direction, system, entity = "to_canonical", source.get("system"), target.get("entity")
            documents = source.get("documents") if isinstance(source.get("documents"), list) else []
        elif "entity" in source:
            direction, system, entity = "from_canonical", target.get("system"), source.get("entity")
            documents = [target.get("document")] if target.get("document") else []
        else:
            direction, system, entity, documents = "", "", target.get("entity"), []
        return cls(
            name=str(data.get("mapping", "")),
            file=file,
            direction=direction,
            system=str(system or ""),
            documents=tuple(str(d) for d in documents if isinstance(d, str | int)),
            entity=str(entity or ""),
        )


@dataclass
class Samples:
    """The decoded inputs of one mapping's cases.

    Attributes:
        trees: the document trees (IDoc segments, JSON objects, canonical envelopes).
        facts: the ``$doc`` names of the documents beyond the common ones (their meta).
        definitions: extra definition paths the cases decode with (``codec_options``).
        problems: what is wrong with the cases file.
    """

    trees: list[Any] = field(default_factory=list)
    facts: set[str] = field(default_factory=set)
    definitions: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def cases_file_of(mapping_file: Path) -> Path:
    """``loipro_order.yaml`` -> ``loipro_order.cases.yaml`` next to it."""
    return mapping_file.with_name(mapping_file.stem + CASES_SUFFIX)


def load_samples(facts: MappingFacts) -> Samples:
    """Read the mapping's cases file and decode every input it names (each once)."""
    samples = Samples()
    cases_file = cases_file_of(Path(facts.file))
    if not cases_file.exists():
        return samples
    try:
        data = load_yaml_file(cases_file)
    except BridgeError as exc:
        samples.problems.extend(split_messages(str(exc), str(cases_file)))
        return samples
    items = data.get("cases") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not items:
        samples.problems.append(Problem(str(cases_file), 1, "expected 'cases:' with a list of cases"))
        return samples
    decoded: set[tuple[str, str]] = set()
    for position, item in enumerate(items, start=1):
        line = getattr(item, "line", None) or 0
        if not isinstance(item, Mapping) or "input" not in item or "expect" not in item:
            samples.problems.append(Problem(str(cases_file), line, f"case {position} needs input and expect"))
            continue
        source = cases_file.parent / str(item["input"])
        if not source.is_file():
            at = line_at(item, "input", line)
            samples.problems.append(Problem(str(cases_file), at, f"input {item['input']} does not exist"))
            continue
        options = (
            dict(item.get("codec_options") or {}) if isinstance(item.get("codec_options"), Mapping) else {}
        )
        if isinstance(options.get("definitions"), list):
            options["definitions"] = [str(cases_file.parent / str(p)) for p in options["definitions"]]
            samples.definitions.extend(d for d in options["definitions"] if d not in samples.definitions)
        key = (str(source.resolve()), json.dumps(options, sort_keys=True, default=str))
        if key in decoded:
            continue
        decoded.add(key)
        _decode_into(samples, facts, source, options)
    return samples


def _decode_into(samples: Samples, facts: MappingFacts, source: Path, options: dict[str, Any]) -> None:
    from bridge.limits import read_document

    try:
        data = read_document(source)
        if facts.direction == "from_canonical":
            from bridge.canonical import parse_envelope

            envelope = parse_envelope(json.loads(data))
            samples.trees.append(envelope.model_dump(mode="json", by_alias=True, exclude_none=True))
            samples.facts.add("message_id")
            return
        from bridge.codecs import codec_for

        documents = codec_for(facts.system).decode(data, origin=source.name, **options)
    except (BridgeError, ValueError, TypeError):
        return  # not a sample: a case expecting the input to be refused, or an unknown system
    wanted = set(facts.documents)
    chosen = [d for d in documents if {d.document_type, d.extension} & wanted] or documents
    for document in chosen:
        samples.trees.append(document.tree)
        samples.facts.update(document.meta)
