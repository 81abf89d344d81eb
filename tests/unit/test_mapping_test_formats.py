"""``bridge mapping test --format text|junit|json``: the same cases, read by a person, a CI server
or a script; exit 1 when a case fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from bridge.cli import main

from ..conftest import MAPPINGS

SAP = MAPPINGS / "sap"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["mapping", "test", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def cases_of(stem: str) -> int:
    return (SAP / f"{stem}.cases.yaml").read_text(encoding="utf-8").count("\n  - name:")


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    """The shipped BATMAS mapping whose second case expects another material."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS / "lookups", folder / "lookups")
    (folder / "sap").mkdir()
    shutil.copytree(SAP / "cases", folder / "sap" / "cases")
    shutil.copy(SAP / "batmas_lot.yaml", folder / "sap")
    cases = (SAP / "batmas_lot.cases.yaml").read_text(encoding="utf-8")
    assert cases.count("material_id: FG-VALVE-4711-BLUE") == 1
    (folder / "sap" / "batmas_lot.cases.yaml").write_text(
        cases.replace("material_id: FG-VALVE-4711-BLUE", "material_id: NOT-THIS-MATERIAL"), encoding="utf-8"
    )
    return folder


def test_text_is_the_pass_fail_table():
    code, out, _ = cli("--mappings", str(MAPPINGS), str(SAP / "batmas_lot.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert all(line.startswith("PASS  sap.batmas.lot: ") for line in lines[:-1])
    assert lines[-1] == f"{cases_of('batmas_lot')} passed, 0 failed"


def test_junit_has_one_testcase_per_case_and_the_right_counts():
    code, out, err = cli("--mappings", str(MAPPINGS), "--format", "junit", str(SAP))
    assert code == 0
    root = ElementTree.fromstring(out)
    expected = {
        f"sap.{name}": cases_of(stem)
        for stem, name in [
            ("batmas_lot", "batmas.lot"),
            ("loipro_order", "loipro.order"),
            ("matmas_material", "matmas.material"),
            ("report_prodordconf", "report.prodordconf"),
        ]
    }
    assert root.tag == "testsuites"
    assert root.get("tests") == str(sum(expected.values()))
    assert root.get("failures") == "0"
    assert {s.get("name"): int(s.get("tests")) for s in root.iter("testsuite")} == expected
    cases = list(root.iter("testcase"))
    assert len(cases) == sum(expected.values())
    assert all(c.get("classname") and c.get("name") and int(c.get("line")) > 0 for c in cases)
    assert err.strip() == f"{sum(expected.values())} passed, 0 failed"


def test_junit_carries_the_failure_message_and_exits_1(failing):
    code, out, _ = cli("--mappings", str(failing), "--format", "junit")
    assert code == 1
    root = ElementTree.fromstring(out)
    assert root.get("failures") == "1"
    suite = next(root.iter("testsuite"))
    assert (suite.get("tests"), suite.get("failures")) == (str(cases_of("batmas_lot")), "1")
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert len(failures) == 1
    failure = failures[0].find("failure")
    assert (
        failure.get("message")
        == "$.payload.material_id: expected 'NOT-THIS-MATERIAL', got 'FG-VALVE-4711-BLUE'"
    )
    assert failure.text == failure.get("message")


def test_json_is_one_object_per_case_per_line(failing):
    code, out, err = cli("--mappings", str(failing), "--format", "json")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == cases_of("batmas_lot")
    assert [r["status"] for r in rows].count("fail") == 1
    failed = next(r for r in rows if not r["passed"])
    assert failed["mapping"] == "sap.batmas.lot"
    assert failed["file"].endswith("batmas_lot.cases.yaml")
    assert isinstance(failed["line"], int)
    assert "NOT-THIS-MATERIAL" in failed["detail"]
    assert set(rows[0]) == {"mapping", "case", "file", "line", "status", "passed", "detail", "seconds"}
    assert err.strip() == f"{len(rows) - 1} passed, 1 failed"


def test_text_shows_the_failure_and_exits_1(failing):
    code, out, _ = cli("--mappings", str(failing))
    assert code == 1
    assert "FAIL  sap.batmas.lot: " in out
    assert out.splitlines()[-1] == f"{cases_of('batmas_lot') - 1} passed, 1 failed"
