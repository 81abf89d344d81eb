"""``bridge mapping coverage``: the source fields a mapping's test documents carry that no rule
of the mapping reads: data the ERP sends and the MES never gets, or a rule that reads a
misspelt name.

The fields are those of the cases' sample documents (:mod:`bridge.mapping.lint_samples`) that
hold a value (not null, not empty). A field counts as read when any path of the mapping ends
there: a value, a ``first_of`` alternative, a condition. Paths are followed as
:mod:`bridge.mapping.lint_paths` follows them (``foreach`` and ``each`` move the base,
``$root.`` and ``$parent.`` too). IDoc fields are named ``SEGMENT.FIELD`` (the control record,
which the codec reads for the envelope, is left out); JSON fields by their dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.errors import BridgeError, ConfigError
from bridge.mapping.lint import lint_root, mapping_targets
from bridge.mapping.lint_paths import SourceWalker
from bridge.mapping.lint_samples import MappingFacts, load_samples
from bridge.mapping.lint_shapes import Shape, add_sample
from bridge.mapping.lint_wording import Describer
from bridge.mapping.yaml_source import load_yaml_file

__all__ = [
    "CONTROL_RECORDS",
    "MappingCoverage",
    "coverage",
    "mapping_coverage",
    "summary_lines",
    "unread_lines",
]

#: Top-level IDoc segments the codec reads itself (document id, sender, creation time).
CONTROL_RECORDS = ("EDI_DC40", "EDI_DC40_U")


@dataclass
class MappingCoverage:
    """What one mapping leaves unread of its samples.

    Attributes:
        mapping: the mapping's name.
        file: its file.
        samples: documents the cases decode to.
        fields: distinct fields with a value in them.
        unread: those fields no rule reads, in document order.
        problem: why the file could not be measured (unreadable YAML), else None.
    """

    mapping: str
    file: Path
    samples: int = 0
    fields: int = 0
    unread: list[str] = field(default_factory=list)
    problem: str | None = None


def coverage(path: Path | None = None, mappings_dir: Path | None = None) -> list[MappingCoverage]:
    """The coverage of every mapping file of ``path`` (default: the mappings folder).

    Raises:
        ConfigError: the mappings folder does not exist.
    """
    root = lint_root(path, mappings_dir)
    if not root.is_dir():
        raise ConfigError(f"mappings folder {root} does not exist (set --mappings or BRIDGE_MAPPINGS_DIR)")
    return [mapping_coverage(file) for file in mapping_targets(path, root)]


def mapping_coverage(file: Path) -> MappingCoverage:
    """The coverage of one mapping file."""
    try:
        data = load_yaml_file(file)
    except BridgeError as exc:
        return MappingCoverage(file.stem, file, problem=str(exc))
    facts = MappingFacts.of(data, str(file))
    result = MappingCoverage(facts.name or file.stem, file)
    if not isinstance(data, Mapping) or not facts.direction:
        result.problem = f"{file}: not a mapping with a source and a target"
        return result
    samples = load_samples(facts)
    result.samples = len(samples.trees)
    root = Shape()
    for tree in samples.trees:
        add_sample(root, tree)
    idoc = any(hasattr(tree, "segment_type") for tree in samples.trees)
    walker = SourceWalker(root, str(file), Describer("idoc" if idoc else "json", "the samples"))
    walker.walk_mapping(data)
    names: dict[str, bool] = {}
    for shape in root.walk():
        if not shape.sampled or (idoc and shape.path[0] in CONTROL_RECORDS):
            continue
        name = _name(shape, idoc)
        names[name] = names.get(name, False) or shape in walker.read
    result.fields = len(names)
    result.unread = [name for name, read in names.items() if not read]
    return result


def _name(shape: Shape, idoc: bool) -> str:
    """``E1AFVOL.LTXA1`` (the segment and the field) for IDocs, the dotted path for JSON."""
    return ".".join(shape.path[-2:]) if idoc and len(shape.path) >= 2 else shape.dotted


def unread_lines(results: Sequence[MappingCoverage]) -> list[str]:
    """``mapping: path`` per unread field."""
    return [f"{r.mapping}: {name}" for r in results for name in r.unread]


def summary_lines(results: Sequence[MappingCoverage]) -> list[str]:
    """A count per mapping, then in all."""
    lines = []
    for r in results:
        if r.problem:
            lines.append(f"{r.mapping}: not measured: {r.problem}")
        elif not r.samples:
            lines.append(f"{r.mapping}: no sample documents (add cases to {r.file.stem}.cases.yaml)")
        else:
            lines.append(
                f"{r.mapping}: {len(r.unread)} of {r.fields} field(s) unread in {r.samples} sample(s)"
            )
    total = sum(len(r.unread) for r in results)
    lines.append(
        f"{total} unread field(s) in {sum(bool(r.unread) for r in results)} of {len(results)} mapping(s)"
    )
    return lines
