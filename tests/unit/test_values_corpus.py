"""Run every file of the hostile-values corpus (tests/data/hostile/values/, see its README.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bridge.canonical.types import Quantity
from bridge.errors import BridgeError
from bridge.mapping.conditions import compile_condition
from bridge.mapping.loader import load_mapping
from bridge.mapping.paths import Scope
from bridge.mapping.transforms import TransformError, all_transforms

from ..conftest import DATA
from .mapping_helpers import document

CORPUS = DATA / "hostile" / "values"
TABLES = sorted(p for p in CORPUS.glob("*.yaml") if not p.name.endswith(".case.yaml"))
CASES = sorted(CORPUS.glob("*.case.yaml"))


def _rows() -> list[Any]:
    params = []
    for table in TABLES:
        for row in yaml.safe_load(table.read_text(encoding="utf-8"))["rows"]:
            params.append(pytest.param(row, id=f"{table.stem}: {row['id']}"))
    return params


def test_every_corpus_file_is_run_and_described_in_the_readme():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in CORPUS.iterdir() if p.name != "README.md")
    assert files == sorted(p.name for p in (*TABLES, *CASES))
    for name in files:
        assert f"`{name}`" in readme, name


def _run_row(row: dict[str, Any]) -> Any:
    if "transform" in row:
        return all_transforms()[row["transform"]](*row["args"], **row.get("options", {}))
    if "condition" in row:
        predicate = compile_condition({"path": "F", **row["condition"]}, "corpus")
        return predicate({"F": row["args"][0]}, Scope({}, {}))
    return Quantity(value=row["value"], unit="EA").model_dump(mode="json")["value"]


@pytest.mark.parametrize("row", _rows())
def test_hostile_value(row):
    if "error" in row:
        with pytest.raises((BridgeError, TransformError, ValidationError)) as caught:
            _run_row(row)
        assert row["error"] in str(caught.value)
        assert "Traceback" not in str(caught.value)
    else:
        assert _run_row(row) == row["output"]


@pytest.mark.parametrize("case_file", CASES, ids=[p.name for p in CASES])
def test_hostile_mapping_case(tmp_path, case_file: Path):
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    expect = case["expect"]
    mapping_file = tmp_path / case_file.name.replace(".case", "")
    mapping_file.write_text(case["mapping"], encoding="utf-8")
    start = time.perf_counter()
    try:
        mapping = load_mapping(mapping_file)
        [(event, payload)] = mapping.map_document(document(case["tree"]))
    except BridgeError as exc:
        error, message = type(exc).__name__, str(exc)
    else:
        error, message = None, ""
    elapsed = time.perf_counter() - start
    if "error_class" in expect:
        assert error == expect["error_class"], message or f"no error: {event} {payload}"
        for text in expect["error"]:
            assert text in message, message
        for text in expect.get("absent", []):
            assert text not in message, message
        assert "\n" not in message
        return
    assert error is None, message
    assert elapsed < expect.get("max_seconds", 5)
    assert event == expect["event"]
    assert payload == expect["payload"]
