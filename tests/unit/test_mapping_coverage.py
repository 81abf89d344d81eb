"""``bridge mapping coverage``: the fields of a mapping's sample documents no rule reads."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from bridge.cli import main
from bridge.mapping.coverage import coverage, mapping_coverage

from ..conftest import MAPPINGS

SMALL = """\
mapping: mes.small.report
version: 1
source: {system: mes, documents: [work-report]}
target: {entity: report}
event:
  cases:
    - {when: {path: reversal_of, exists: true}, then: reversed}
  otherwise: created
fields:
  report_id: {path: report_id, required: true}
  order_id:  {path: order, transform: to_string, required: true}
  yield_quantity:
    fields:
      value: {path: good, transform: decimal}
      unit:  {path: unit}
  consumed:
    foreach: consumed_lots
    fields:
      material_id: {path: material}
      quantity:
        fields:
          value: {path: quantity, transform: decimal}
          unit:  {first_of: [unit, $root.unit]}
"""


def small_mapping(tmp_path: Path) -> Path:
    """A MES mapping that reads a few fields of the shipped final work report."""
    folder = tmp_path / "mappings"
    (folder / "mes" / "cases").mkdir(parents=True)
    shutil.copy(MAPPINGS / "mes" / "cases" / "work_report_final.json", folder / "mes" / "cases")
    (folder / "mes" / "small.yaml").write_text(SMALL, encoding="utf-8")
    (folder / "mes" / "small.cases.yaml").write_text(
        "cases:\n  - name: final\n    input: cases/work_report_final.json\n    expect: {count: 1}\n",
        encoding="utf-8",
    )
    return folder


def test_fields_no_rule_reads_are_listed_and_read_ones_are_not(tmp_path):
    folder = small_mapping(tmp_path)
    [result] = coverage(None, folder)
    assert result.mapping == "mes.small.report"
    assert result.samples == 1
    assert result.unread == [
        "reported_at",
        "sender",
        "operation",
        "operator",
        "machine",
        "scrap",
        "start_time",
        "end_time",
        "final",
        "produced_lot.material",
        "produced_lot.lot",
        "produced_lot.quantity",
        "consumed_lots.lot",
    ]
    # read: report_id, order, good, unit and the consumed lots' material, quantity and unit
    assert result.fields == len(result.unread) + 7


def test_idoc_fields_are_named_by_segment_and_the_control_record_is_left_out():
    result = mapping_coverage(MAPPINGS / "sap" / "batmas_lot.yaml")
    assert result.unread == ["E1BATMAS.BATCHSTORAGELOC", "E1BPBATCHATT.VENDOR_NO"]
    assert not any(name.startswith("EDI_DC40.") for name in result.unread)


def test_the_command_prints_mapping_path_lines_and_counts_on_stderr(tmp_path):
    folder = small_mapping(tmp_path)
    result = CliRunner().invoke(
        main, ["mapping", "coverage", "--mappings", str(folder)], catch_exceptions=False
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "mes.small.report: operator" in lines
    assert all(line.startswith("mes.small.report: ") for line in lines)
    assert result.stderr.splitlines() == [
        f"mes.small.report: {len(lines)} of {len(lines) + 7} field(s) unread in 1 sample(s)",
        f"{len(lines)} unread field(s) in 1 of 1 mapping(s)",
    ]


def test_a_mapping_without_cases_says_so(tmp_path):
    folder = small_mapping(tmp_path)
    (folder / "mes" / "small.cases.yaml").unlink()
    [result] = coverage(None, folder)
    assert (result.samples, result.unread) == (0, [])
