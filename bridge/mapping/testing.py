"""Mapping tests as data: ``<mapping>.cases.yaml`` next to each mapping file.

::

    cases:
      - name: S/4HANA order released with three operations
        input: cases/LOIPRO05_Original.xml     # relative to this file
        expect:
          count: 1
          contains: {event: released, payload: {order_id: "1895938"}}
      - name: a quantity that is not a number is named in the error
        input: cases/bad_quantity.xml
        expect: {error_class: MappingError, error: ["DOCNUM", "path E1AFKOL.GAMNG"]}

``contains`` matches a subset (objects by key, lists element by element from the start);
``equals`` (an object, a list or a ``.json`` file name) matches exactly. Mappings to canonical
run with a fixed clock (``2000-01-01T00:00:00+00:00``) so expectations are stable; mappings
from canonical read a canonical envelope (JSON) and expectations apply to the target payload.
``bridge mapping test`` and pytest (tests/unit/test_mapping_cases.py) run the same cases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.canonical import parse_envelope
from bridge.codecs import codec_for
from bridge.errors import BridgeError, DecodeError, MappingDefinitionError
from bridge.limits import read_document
from bridge.mapping.catalog import CASES_SUFFIX, MappingCatalog
from bridge.mapping.mapping import CompiledMapping
from bridge.mapping.yaml_source import load_yaml_file

__all__ = ["FIXED_CLOCK", "CaseResult", "MappingCase", "discover_cases", "run_case", "run_cases"]

FIXED_NOW = datetime(2000, 1, 1, tzinfo=UTC)


def FIXED_CLOCK() -> datetime:
    """The clock mapping tests run with."""
    return FIXED_NOW


@dataclass(frozen=True)
class MappingCase:
    """One test case read from a cases file."""

    mapping: str
    name: str
    file: Path
    line: int | None
    spec: Mapping[str, Any]

    @property
    def id(self) -> str:
        """``mapping: case name`` for tables and pytest ids."""
        return f"{self.mapping}: {self.name}"


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case."""

    case: MappingCase
    passed: bool
    detail: str = ""


def discover_cases(catalog: MappingCatalog, only: Path | None = None) -> list[MappingCase]:
    """Every case of every mapping in the catalog (optionally only below ``only``)."""
    cases: list[MappingCase] = []
    for mapping in catalog:
        mapping_file = Path(mapping.file)
        cases_file = mapping_file.with_name(mapping_file.stem + CASES_SUFFIX)
        if only is not None and not _is_within(cases_file, only) and not _is_within(mapping_file, only):
            continue
        if not cases_file.exists():
            continue
        data = load_yaml_file(cases_file)
        items = data.get("cases") if isinstance(data, Mapping) else None
        if not isinstance(items, list) or not items:
            raise MappingDefinitionError(f"{cases_file}: expected 'cases:' with a list of cases")
        for position, item in enumerate(items, start=1):
            if not isinstance(item, Mapping) or "input" not in item or "expect" not in item:
                raise MappingDefinitionError(
                    f"{cases_file}:{getattr(item, 'line', '?')}: case {position} needs input and expect"
                )
            cases.append(
                MappingCase(
                    mapping.name,
                    str(item.get("name", f"case {position}")),
                    cases_file,
                    getattr(item, "line", None),
                    item,
                )
            )
    return cases


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return path.resolve() == folder.resolve()
    return True


def run_cases(catalog: MappingCatalog, only: Path | None = None) -> list[CaseResult]:
    """Run every discovered case."""
    return [run_case(case, catalog) for case in discover_cases(catalog, only)]


def run_case(case: MappingCase, catalog: MappingCatalog) -> CaseResult:
    """Run one case and compare with its expectations."""
    mapping = catalog.get(case.mapping)
    expect = case.spec["expect"]
    try:
        produced = _produce(case, mapping)
    except BridgeError as exc:
        return _expected_error(case, expect, exc)
    if "error" in expect or "error_class" in expect:
        return CaseResult(case, False, f"expected an error, got {len(produced)} result(s)")
    problems = _compare(case, expect, produced)
    return CaseResult(case, not problems, "; ".join(problems))


def _produce(case: MappingCase, mapping: CompiledMapping) -> list[dict[str, Any]]:
    source = case.file.parent / str(case.spec["input"])
    try:
        data = read_document(source)
    except DecodeError as exc:
        raise MappingDefinitionError(f"{case.file}: case {case.name!r}: {exc}") from exc
    if mapping.direction == "from_canonical":
        envelope = parse_envelope(json.loads(data)).model_dump(mode="json", by_alias=True, exclude_none=True)
        return [mapping.render(envelope)]
    options = dict(case.spec.get("codec_options") or {})
    if "definitions" in options:
        options["definitions"] = [str(case.file.parent / p) for p in options["definitions"]]
    documents = codec_for(mapping.system).decode(data, origin=source.name, **options)
    selected = case.spec.get("document")
    if selected is not None:
        documents = [documents[int(selected) - 1]]
    results: list[dict[str, Any]] = []
    for document in documents:
        results.extend(mapping.apply(document, clock=FIXED_CLOCK))
    return results


def _expected_error(case: MappingCase, expect: Mapping[str, Any], exc: BridgeError) -> CaseResult:
    if "error" not in expect and "error_class" not in expect:
        return CaseResult(case, False, f"unexpected {type(exc).__name__}: {exc}")
    wanted_class = expect.get("error_class")
    if wanted_class and wanted_class not in {c.__name__ for c in type(exc).__mro__}:
        return CaseResult(case, False, f"expected {wanted_class}, got {type(exc).__name__}: {exc}")
    wanted = expect.get("error")
    for text in wanted if isinstance(wanted, list) else [wanted] if wanted else []:
        if str(text) not in str(exc):
            return CaseResult(case, False, f"error text lacks {text!r}: {exc}")
    return CaseResult(case, True, f"{type(exc).__name__}: {exc}")


def _compare(case: MappingCase, expect: Mapping[str, Any], produced: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if "count" in expect and len(produced) != int(expect["count"]):
        problems.append(f"expected {expect['count']} result(s), got {len(produced)}")
    index = int(expect.get("index", 0))
    if "contains" in expect:
        if index >= len(produced):
            problems.append(f"no result #{index} to compare")
        else:
            problems.extend(subset_differences(expect["contains"], produced[index], "$"))
    if "equals" in expect:
        wanted = expect["equals"]
        if isinstance(wanted, str) and wanted.endswith(".json"):
            wanted = json.loads((case.file.parent / wanted).read_text(encoding="utf-8"))
        actual: Any = produced if isinstance(wanted, list) else (produced[index] if produced else None)
        if _plain(wanted) != actual:
            problems.append(
                "result differs from the expected one:\n"
                + json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=True)
            )
    return problems


def _plain(value: Any) -> Any:
    """YAML data (LinedDicts) as plain JSON-like data for equality."""
    return json.loads(json.dumps(value))


def subset_differences(expected: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` fails to contain ``expected`` (objects by key, lists by position)."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                problems.extend(subset_differences(value, actual[key], f"{where}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        if len(actual) < len(expected):
            return [f"{where}: expected at least {len(expected)} items, got {len(actual)}"]
        problems = []
        for position, value in enumerate(expected):
            problems.extend(subset_differences(value, actual[position], f"{where}[{position}]"))
        return problems
    if expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []
