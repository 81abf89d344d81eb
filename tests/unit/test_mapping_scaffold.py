"""``bridge mapping scaffold``: a starting mapping and cases file from a real sample document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from bridge.cli_mapping_tools import mapping_scaffold
from bridge.errors import MappingDefinitionError
from bridge.mapping import MappingCatalog, load_mapping
from bridge.mapping.testing import run_cases

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
BATMAS = MAPPINGS / "sap" / "cases" / "BATMAS03_example.xml"
PRD_MO = MAPPINGS / "kingdee" / "cases" / "PRD_MO_MO25030118.View.json"
YONYOU_LOTS = MAPPINGS / "yonyou" / "cases" / "batchno_list_reply.json"
WORK_REPORT = MAPPINGS / "mes" / "cases" / "work_report_final.json"


@click.group()
def mapping() -> None:
    """The ``bridge mapping`` group as cli_mapping registers the command."""


mapping.add_command(mapping_scaffold)


def scaffold(*args: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(mapping, ["scaffold", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def fill(mapping_file: Path, fields: dict[str, Any]) -> Path:
    """What the integrator does: fill the fields the scaffold left empty (the rest stays)."""
    data = yaml.safe_load(mapping_file.read_text(encoding="utf-8"))
    empty = [name for name, spec in data["fields"].items() if spec is None or _has_empty(spec)]
    assert sorted(empty) == sorted(n for n in fields if n in data["fields"]), "the scaffold left other fields"
    data["fields"].update(fields)
    mapping_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return mapping_file


def _has_empty(spec: Any) -> bool:
    return isinstance(spec, dict) and any(v is None or _has_empty(v) for v in spec.get("fields", {}).values())


def test_an_sap_idoc_sample_gives_a_mapping_listing_segment_fields_with_their_values(tmp_path):
    code, out, err = scaffold(BATMAS, "--entity", "lot", "--out", tmp_path)

    assert code == 0, err
    mapping_file, cases_file = tmp_path / "batmas_lot.yaml", tmp_path / "batmas_lot.cases.yaml"
    assert f"wrote {mapping_file}" in out
    assert f"wrote {cases_file}" in out
    text = mapping_file.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    schema = (tmp_path / text.splitlines()[0].split("$schema=", 1)[1]).resolve()
    assert schema == ROOT / "bridge" / "mapping" / "mapping.schema.json"
    comments = [line for line in text.splitlines() if line.startswith("#   ")]
    listed = {line[4:].split()[0]: line for line in comments}
    assert '"B2023-1207"' in listed["E1BATMAS.BATCH"]
    assert '"20251231"' in listed["E1BATMAS.E1BPBATCHATT.EXPIRYDATE"]
    assert '"0000000000620001"' in listed["EDI_DC40.DOCNUM"]
    data = yaml.safe_load(text)
    assert data["mapping"] == "sap.batmas.lot"
    assert data["source"] == {"system": "sap", "documents": ["BATMAS03"]}
    assert data["target"] == {"entity": "lot"}
    assert data["fields"] == {"lot_id": None, "material_id": None, "status": None}
    assert "E1BATMAS.BATCH" in next(line for line in text.splitlines() if line.startswith("  lot_id:"))


def test_the_scaffold_does_not_load_until_the_required_fields_are_filled(tmp_path):
    scaffold(BATMAS, "--entity", "lot", "--out", tmp_path)
    mapping_file = tmp_path / "batmas_lot.yaml"

    with pytest.raises(MappingDefinitionError) as raised:
        load_mapping(mapping_file, {})
    assert "fields/lot_id" in str(raised.value)
    assert "fields/status" in str(raised.value)

    fill(mapping_file, {
        "lot_id": {"path": "E1BATMAS.BATCH"},
        "material_id": {"path": "E1BATMAS.MATERIAL", "transform": "alpha"},
        "status": {"value": "released"},
    })
    compiled = load_mapping(mapping_file, {})
    assert (compiled.name, compiled.system, compiled.documents, compiled.entity) == (
        "sap.batmas.lot", "sap", ("BATMAS03",), "lot")
    results = run_cases(MappingCatalog.load(tmp_path))
    assert [(r.case.name, r.passed, r.detail) for r in results] == [
        ("the sample BATMAS03_example.xml maps", True, "")
    ]


def test_a_json_sample_gives_dotted_paths_and_a_case_that_passes_once_filled(tmp_path):
    code, _, err = scaffold(PRD_MO, "--entity", "order", "--out", tmp_path)

    assert code == 0, err
    mapping_file = tmp_path / "prd_mo_order.yaml"
    text = mapping_file.read_text(encoding="utf-8")
    assert '#   BillNo' in text
    listed = {line[4:].split()[0]: line for line in text.splitlines() if line.startswith("#   ")}
    assert '"MO25030118"' in listed["BillNo"]
    assert '"05.02.11.03"' in listed["TreeEntity.MaterialId.Number"]
    assert '"102"' in listed["PrdOrgId.Number"]
    data = yaml.safe_load(text)
    assert data["source"] == {"system": "kingdee", "documents": ["PRD_MO"]}
    assert data["fields"] == {"order_id": None, "site": None, "material_id": None,
                              "quantity": {"fields": {"value": None, "unit": None}}, "status": None}
    cases = yaml.safe_load((tmp_path / "prd_mo_order.cases.yaml").read_text(encoding="utf-8"))
    assert cases["cases"][0]["expect"] == {
        "count": 1,
        "contains": {"entity": "order",
                     "source": {"system": "kingdee", "document_type": "PRD_MO", "document_id": "MO25030118"}},
    }
    assert (tmp_path / cases["cases"][0]["input"]).resolve() == PRD_MO

    fill(mapping_file, {
        "order_id": {"path": "BillNo"},
        "site": {"path": "PrdOrgId.Number"},
        "material_id": {"path": "TreeEntity.MaterialId.Number"},
        "quantity": {"fields": {"value": {"path": "TreeEntity.Qty", "transform": "decimal"},
                                "unit": {"path": "TreeEntity.UnitId.Number"}}},
        "status": {"value": "released"},
    })
    results = run_cases(MappingCatalog.load(tmp_path))
    assert [r.passed for r in results] == [True], [r.detail for r in results]


def test_a_reply_with_several_documents_expects_one_event_each(tmp_path):
    code, _, err = scaffold(YONYOU_LOTS, "--entity", "lot", "--out", tmp_path)

    assert code == 0, err
    text = (tmp_path / "batchno_lot.yaml").read_text(encoding="utf-8")
    assert "(2 documents; values of the first)" in text
    cases = yaml.safe_load((tmp_path / "batchno_lot.cases.yaml").read_text(encoding="utf-8"))
    assert cases["cases"][0]["expect"]["count"] == 2
    fill(tmp_path / "batchno_lot.yaml", {
        "lot_id": {"path": "batchno"}, "material_id": {"path": "product_cCode"}, "status": {"value": "released"},
    })
    assert [r.passed for r in run_cases(MappingCatalog.load(tmp_path))] == [True]


def test_without_out_it_writes_next_to_the_systems_mappings(tmp_path):
    code, _, err = scaffold(BATMAS, "--entity", "lot", "--mappings", tmp_path / "mappings")

    assert code == 0, err
    assert (tmp_path / "mappings" / "sap" / "batmas_lot.yaml").is_file()
    cases = yaml.safe_load((tmp_path / "mappings" / "sap" / "batmas_lot.cases.yaml").read_text(encoding="utf-8"))
    assert (tmp_path / "mappings" / "sap" / cases["cases"][0]["input"]).resolve() == BATMAS


def test_the_entity_is_taken_from_existing_mappings_of_the_type_with_a_warning(tmp_path):
    code, _, err = scaffold(BATMAS, "--mappings", MAPPINGS, "--out", tmp_path)

    assert code == 0, err
    assert yaml.safe_load((tmp_path / "batmas_lot.yaml").read_text(encoding="utf-8"))["target"] == {"entity": "lot"}
    assert "bridge: warning: sap.batmas.lot already read(s) sap BATMAS03" in err


def test_an_entity_that_cannot_be_guessed_must_be_named(tmp_path):
    code, _, err = scaffold(BATMAS, "--mappings", tmp_path / "empty", "--out", tmp_path)

    assert code == 2
    assert err.startswith("bridge: error: which canonical entity does sap BATMAS03 become? name it with --entity")
    assert not list(tmp_path.glob("*.yaml"))


def test_existing_files_are_never_overwritten(tmp_path):
    scaffold(BATMAS, "--entity", "lot", "--out", tmp_path)
    (tmp_path / "batmas_lot.yaml").write_text("mine\n", encoding="utf-8")

    code, out, err = scaffold(BATMAS, "--entity", "lot", "--out", tmp_path)

    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"bridge: error: {tmp_path / 'batmas_lot.yaml'} and {tmp_path / 'batmas_lot.cases.yaml'} already exist: "
        "not overwritten (move it away or use --out)"
    ]
    assert (tmp_path / "batmas_lot.yaml").read_text(encoding="utf-8") == "mine\n"


def test_an_existing_cases_file_alone_stops_both(tmp_path):
    (tmp_path / "batmas_lot.cases.yaml").write_text("cases: []\n", encoding="utf-8")

    code, _, err = scaffold(BATMAS, "--entity", "lot", "--out", tmp_path)

    assert code == 1
    assert "batmas_lot.cases.yaml already exists" in err
    assert not (tmp_path / "batmas_lot.yaml").exists()


@pytest.mark.parametrize(
    ("sample", "args", "code", "message"),
    [
        pytest.param("missing.xml", [], 1, "missing.xml", id="no such sample"),
        pytest.param(MAPPINGS / "sap" / "cases" / "SOURCES.md", [], 1, "format not recognised", id="unknown format"),
        pytest.param(MAPPINGS / "sap" / "cases" / "report_final_with_movements.json", [], 2,
                     "is a canonical report/lot envelope, which needs no mapping", id="canonical envelope"),
        pytest.param(BATMAS, ["--system", "nosuch"], 2, "no codec for source system 'nosuch'", id="unknown system"),
        pytest.param(BATMAS, ["--system", "kingdee"], 1, "BATMAS03_example.xml", id="wrong system"),
    ],
)
def test_bad_samples_give_one_line_and_no_traceback(tmp_path, sample, args, code, message):
    path = tmp_path / sample if isinstance(sample, str) else sample

    result = CliRunner().invoke(mapping, ["scaffold", str(path), "--entity", "order", "--out", str(tmp_path), *args])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code
    assert result.stderr.startswith("bridge: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.yaml"))


def test_hostile_keys_and_values_stay_inside_comments(tmp_path):
    report = json.loads(WORK_REPORT.read_text(encoding="utf-8"))
    report["note"] = "line one\nfields: {}\u2028event: x\u0085mapping: y"
    report["we\nird: key"] = "x" * 500
    sample = tmp_path / "hostile_report.json"
    sample.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")

    code, _, err = scaffold(sample, "--entity", "report", "--out", tmp_path / "out")

    assert code == 0, err
    text = (tmp_path / "out" / "work_report_report.yaml").read_text(encoding="utf-8")
    assert "\u2028" not in text
    assert "\u0085" not in text
    data = yaml.safe_load(text)
    assert set(data) == {"mapping", "version", "description", "source", "target", "event", "fields"}
    assert '#   "we\\nird: key"' in text
    assert "(502 characters)" in text
