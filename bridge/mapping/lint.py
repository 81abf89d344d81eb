"""``bridge mapping lint``: every mistake of every mapping file in one run, ``file:line: what is
wrong (did you mean NAME?)``, before any document meets it.

Per file, independently (a broken file never hides the next one's problems):

* what the loader refuses (YAML, schema, transforms, lookups, conditions...), each file's
  :class:`~bridge.errors.MappingDefinitionError` caught and split into its lines, and each
  field compiled on its own when the file stops at one (:mod:`.lint_loader`);
* every unknown transform and lookup table, not only the first (:mod:`.lint_names`);
* source paths against the documents' shape (:mod:`.lint_sources`, :mod:`.lint_paths`);
* target fields, required fields and events against the canonical model (:mod:`.lint_targets`);
* the cases file: readable, each case with input and expect, each input present.

Across files: two mappings with one name, and two mappings to canonical claiming one
(system, document type), or one claiming an IDoc extension of a basic type another claims: the
bridge refuses such documents (:meth:`MappingCatalog.reading`), since nothing chooses between
the mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError, ConfigError
from bridge.mapping.catalog import CASES_SUFFIX, LOOKUPS_DIR, default_mappings_dir, mapping_files
from bridge.mapping.lint_loader import loader_problems
from bridge.mapping.lint_names import check_names
from bridge.mapping.lint_paths import SourceWalker
from bridge.mapping.lint_report import Problem, line_at, split_messages
from bridge.mapping.lint_samples import MappingFacts, load_samples
from bridge.mapping.lint_sources import basic_type_of, source_shape
from bridge.mapping.lint_targets import check_events, check_targets
from bridge.mapping.lookups import LookupTable, load_lookup_file
from bridge.mapping.yaml_source import load_yaml_file

__all__ = ["LintReport", "lint", "lint_root", "mapping_targets"]

#: Loader messages that lint's own checks already give (with every occurrence and a suggestion).
_OWN_CHECKS = ("has no event", "unknown transform", "unknown lookup table")


@dataclass
class LintReport:
    """The outcome of one lint run.

    Attributes:
        problems: every problem found, by file and line.
        files: the mapping files checked.
        lookups: lookup tables read.
    """

    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    lookups: int = 0


@dataclass
class _Loaded:
    path: Path
    data: Any
    facts: MappingFacts


def lint_root(path: Path | None, mappings_dir: Path | None) -> Path:
    """The mappings folder a lint of ``path`` uses (lookups, the other mappings): ``--mappings``,
    else the default folder when ``path`` lies in it, else the nearest folder at or above
    ``path`` holding ``lookups/``, else ``path``'s own folder."""
    if mappings_dir is not None:
        return mappings_dir
    default = default_mappings_dir()
    if path is None or _within(path, default):
        return default
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.resolve().parents):
        if (folder / LOOKUPS_DIR).is_dir():
            return folder
    return start


def lint(
    path: Path | None = None, mappings_dir: Path | None = None, definitions: Sequence[str] = ()
) -> LintReport:
    """Lint the mapping file or folder ``path`` (default: the whole mappings folder).

    Args:
        path: a mapping file, its cases file, or a folder of mappings.
        mappings_dir: the mappings folder (see :func:`lint_root`).
        definitions: extra IDoc definition files or folders (WE60 exports).

    Raises:
        ConfigError: the mappings folder does not exist.
    """
    root = lint_root(path, mappings_dir)
    if not root.is_dir():
        raise ConfigError(f"mappings folder {root} does not exist (set --mappings or BRIDGE_MAPPINGS_DIR)")
    report = LintReport()
    lookups = _lookups(root, report)
    targets = mapping_targets(path, root)
    report.files = targets
    every = {p.resolve(): p for p in mapping_files(root)}
    every.update({p.resolve(): p for p in targets})
    wanted = {p.resolve() for p in targets}
    loaded: list[_Loaded] = []
    for resolved, file in every.items():
        mine = resolved in wanted
        try:
            data = load_yaml_file(file)
        except BridgeError as exc:
            if mine:
                report.problems.extend(split_messages(str(exc), str(file)))
            continue
        item = _Loaded(file, data, MappingFacts.of(data, str(file)))
        loaded.append(item)
        if mine:
            found = _lint_file(item, lookups, definitions)
            report.problems.extend(found)
    report.problems.extend(_across(loaded, wanted, definitions))
    report.problems = sorted(set(report.problems), key=lambda p: (p.file, p.line, p.message))
    return report


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def mapping_targets(path: Path | None, root: Path) -> list[Path]:
    """The mapping files ``path`` names: itself, the mapping of a cases file, or the mapping
    files of a folder (default: every mapping of ``root``)."""
    if path is None:
        return mapping_files(root)
    if path.is_dir():
        return mapping_files(path)
    if path.name.endswith(CASES_SUFFIX):
        return [path.with_name(path.name[: -len(CASES_SUFFIX)] + ".yaml")]
    return [path]


def _lookups(root: Path, report: LintReport) -> dict[str, LookupTable]:
    tables: dict[str, LookupTable] = {}
    folder = root / LOOKUPS_DIR
    for file in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            table = load_lookup_file(file)
        except BridgeError as exc:
            report.problems.extend(split_messages(str(exc), str(file)))
            continue
        if table.name in tables:
            report.problems.append(
                Problem(str(file), 0, f"lookup {table.name} is also defined in {tables[table.name].origin}")
            )
            continue
        tables[table.name] = table
    report.lookups = len(tables)
    return tables


def _lint_file(
    item: _Loaded, lookups: Mapping[str, LookupTable], definitions: Sequence[str]
) -> list[Problem]:
    from bridge.mapping.transforms import all_transforms

    file, data, facts = str(item.path), item.data, item.facts
    if not isinstance(data, Mapping):
        return [Problem(file, 0, "a mapping file holds one YAML object")]
    own: list[Problem] = []
    own.extend(check_names(data, file, set(all_transforms()), set(lookups)))
    own.extend(check_events(data, facts.entity, facts.direction, file))
    if facts.direction == "to_canonical":
        own.extend(check_targets(data, facts.entity, file))
    samples = load_samples(facts)
    own.extend(samples.problems)
    if facts.direction:
        shape = source_shape(data, facts, samples, definitions)
        own.extend(shape.problems)
        if shape.checked:
            walker = SourceWalker(shape.root, file, shape.describe, shape.facts)
            walker.walk_mapping(data)
            own.extend(walker.problems)
        else:
            own.append(
                Problem(file, 0, "source paths not checked: no definitions and no case samples", "warning")
            )
    own.extend(p for p in loader_problems(data, file, lookups) if not _already(p, own))
    return own


def _already(problem: Problem, own: list[Problem]) -> bool:
    """Whether a loader message repeats one of lint's own findings (same kind, same name)."""
    for marker in _OWN_CHECKS:
        if marker in problem.message:
            rest = problem.message.partition(marker)[2]
            name = rest.split("'")[1] if rest.count("'") >= 2 else rest.split(" (")[0].strip()
            return any(marker in p.message and name in p.message for p in own if p.file == problem.file)
    return False


def _across(loaded: list[_Loaded], wanted: set[Path], definitions: Sequence[str]) -> list[Problem]:
    """Problems between files: names used twice, document types claimed twice."""
    problems: list[Problem] = []
    by_name: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if item.facts.name:
            by_name.setdefault(item.facts.name, []).append(item)
    for name, items in by_name.items():
        for item in items:
            others = [o for o in items if o is not item]
            if others and item.path.resolve() in wanted:
                line = line_at(item.data, "mapping")
                problems.append(
                    Problem(str(item.path), line, f"mapping name {name} is also used by {others[0].path}")
                )
    forward = [i for i in loaded if i.facts.direction == "to_canonical" and i.facts.system]
    for item in forward:
        if item.path.resolve() not in wanted:
            continue
        source = item.data.get("source") if isinstance(item.data, Mapping) else None
        line = line_at(source, "documents")
        for other in forward:
            if other is item or other.facts.system != item.facts.system:
                continue
            for message in _claims(item.facts, other.facts, definitions):
                problems.append(Problem(str(item.path), line, message))
    return problems


def _claims(mine: MappingFacts, other: MappingFacts, definitions: Sequence[str]) -> list[str]:
    """Why ``mine`` and ``other`` would both be chosen for one document."""
    found = []
    both = [d for d in mine.documents if d in other.documents]
    choose = "the bridge refuses such documents, as nothing chooses between the two: keep one"
    found.extend(
        f"{mine.system} {document} is also read by mapping {other.name} ({other.file}); {choose}"
        for document in both
    )
    for document in mine.documents:
        basic = basic_type_of(mine.system, document, definitions)
        if basic and basic in other.documents and document not in other.documents:
            found.append(
                f"{document} extends {basic}, which mapping {other.name} ({other.file}) reads: an {basic} "
                f"IDoc with extension {document} matches both; {choose}"
            )
    for document in other.documents:
        basic = basic_type_of(other.system, document, definitions)
        if basic and basic in mine.documents and document not in mine.documents:
            found.append(
                f"mapping {other.name} ({other.file}) reads {document}, an extension of {basic}: an "
                f"{basic} IDoc with extension {document} matches both; {choose}"
            )
    return found
