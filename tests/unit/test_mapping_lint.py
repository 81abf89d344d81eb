"""``bridge mapping lint``: every mistake of every mapping file in one run, as file:line: message.

Fixtures are copies of the shipped mappings (with their cases and sample documents) in
tmp_path, each broken in one known way.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.mapping.lint import lint

from ..conftest import MAPPINGS

LOCATED = re.compile(r"^\S+\.ya?ml(:\d+)?: (warning: )?\S.*$")


def copy_mappings(tmp_path: Path, *mappings: str) -> Path:
    """A mappings folder with the shipped lookups and the named mappings (``sap/loipro_order``),
    each with its cases file and its system's sample documents."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS / "lookups", folder / "lookups")
    for name in mappings:
        system = name.split("/")[0]
        (folder / system).mkdir(parents=True, exist_ok=True)
        if not (folder / system / "cases").exists():
            shutil.copytree(MAPPINGS / system / "cases", folder / system / "cases")
        for suffix in (".yaml", ".cases.yaml"):
            shutil.copy(MAPPINGS / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder


def edit(file: Path, old: str, new: str) -> int:
    """Replace ``old`` (which must be there, once) by ``new``; the 1-based line it was on."""
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {file}"
    file.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def errors(folder: Path, path: Path | None = None, **options) -> list[str]:
    return [str(p) for p in lint(path, folder, **options).problems if p.error]


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["mapping", "lint", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- the shipped mappings -----------------------------------------------------------------------


def test_the_shipped_mappings_lint_without_errors():
    report = lint(None, MAPPINGS)
    assert [str(p) for p in report.problems if p.error] == []
    assert len(report.files) >= 17


def test_the_shipped_mappings_pass_the_cli_with_an_ok_summary():
    code, out, err = cli("--mappings", str(MAPPINGS))
    assert code == 0, out
    assert err.startswith("ok: ")
    assert all(LOCATED.match(line) for line in out.splitlines())  # warnings only, located


# -- source paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "new",
    [
        pytest.param("{path: E1AFKOL.GAMNX, transform: decimal, required: true}", id="path"),
        pytest.param(
            "{first_of: [E1AFKOL.GAMNX, E1AFKOL.BMENGE], transform: decimal, required: true}", id="first_of"
        ),
    ],
)
def test_a_misspelt_idoc_field_is_named_with_its_segment_and_the_nearest_field(tmp_path, new):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    line = edit(file, "{first_of: [E1AFKOL.GAMNG, E1AFKOL.BMENGE], transform: decimal, required: true}", new)
    found = errors(folder)
    assert found == [
        f"{file}:{line}: path E1AFKOL.GAMNX: segment E1AFKOL has no field GAMNX in the LOIPRO01/LOIPRO05 "
        "definitions or the cases' 7 samples (did you mean GAMNG?)"
    ]


def test_a_misspelt_segment_is_named_with_the_segment_it_should_hang_under(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    line = edit(file, "foreach: E1AFKOL.E1AFFLL.E1AFVOL\n", "foreach: E1AFKOL.E1AFFL.E1AFVOL\n")
    found = errors(folder)
    assert len(found) == 1  # the paths inside the foreach are not reported again
    assert found[0].startswith(
        f"{file}:{line}: path E1AFKOL.E1AFFL.E1AFVOL: segment E1AFKOL has no child segment E1AFFL"
    )
    assert found[0].endswith("(did you mean E1AFFLL?)")


def test_paths_inside_a_foreach_are_read_from_its_elements(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    line = edit(
        file, "{path: BDMNG, transform: decimal, required: true}", "{path: BDMNX, transform: decimal}"
    )
    parent = edit(file, "{path: $parent.VORNR}", "{path: $parent.$parent.$parent.$parent.$parent.VORNR}")
    found = errors(folder)
    assert len(found) == 2
    assert found[0].startswith(f"{file}:{line}: path BDMNX: segment E1RESBL has no field BDMNX")
    assert found[0].endswith("(did you mean BDMNG?)")
    assert found[1].startswith(
        f"{file}:{parent}: path $parent.$parent.$parent.$parent.$parent.VORNR: 5 $parent"
    )
    assert "4 element(s) enclose this one" in found[1]


def test_a_json_path_is_checked_against_the_cases_samples(tmp_path):
    folder = copy_mappings(tmp_path, "kingdee/prd_mo_order")
    file = folder / "kingdee" / "prd_mo_order.yaml"
    line = edit(file, "{path: MaterialId.Number,", "{path: MaterialId.Numbr,")
    assert errors(folder) == [
        f"{file}:{line}: path MaterialId.Numbr: none of the cases' 4 samples has Numbr under "
        "TreeEntity.MaterialId (did you mean Number?)"
    ]


def test_a_json_path_no_sample_has_and_like_no_known_name_is_a_warning(tmp_path):
    folder = copy_mappings(tmp_path, "kingdee/prd_mo_order")
    file = folder / "kingdee" / "prd_mo_order.yaml"
    line = edit(file, "{path: $root.BillType.Number, transform: strip}", "{path: $root.Workflow.Code}")
    report = lint(None, folder)
    assert [str(p) for p in report.problems] == [
        f"{file}:{line}: warning: path $root.Workflow.Code: none of the cases' 4 samples has Workflow at the top level"
    ]
    code, out, _ = cli("--mappings", str(folder))
    assert (code, out.splitlines()) == (0, [str(report.problems[0])])
    assert cli("--mappings", str(folder), "--strict")[0] == 1


def test_a_reverse_mapping_reads_the_canonical_envelope(tmp_path):
    folder = copy_mappings(tmp_path, "sap/report_prodordconf")
    file = folder / "sap" / "report_prodordconf.yaml"
    line = edit(
        file, "{path: order_id, transform: {name: alpha_pad, length: 12}, required: true}", "{path: order_no}"
    )
    assert errors(folder) == [
        f"{file}:{line}: path order_no: the canonical report envelope has no order_no under payload "
        "(did you mean order_id?)"
    ]


# -- target fields and events -------------------------------------------------------------------


def test_a_field_the_entity_does_not_have_names_the_nearest_one(tmp_path):
    folder = copy_mappings(tmp_path, "sap/batmas_lot")
    file = folder / "sap" / "batmas_lot.yaml"
    line = edit(
        file, "  site:            {path: E1BATMAS.PLANT}", "  plant:           {path: E1BATMAS.PLANT}"
    )
    assert errors(folder) == [f"{file}:{line}: lot has no field plant (did you mean site?)"]


def test_a_nested_field_is_checked_against_its_own_model(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    line = edit(file, "      storage_location: {path: LGORT}", "      storage_loc: {path: LGORT}")
    assert errors(folder) == [
        f"{file}:{line}: order.components[] has no field storage_loc (did you mean storage_location?)"
    ]


def test_a_required_field_no_rule_fills_is_reported(tmp_path):
    folder = copy_mappings(tmp_path, "sap/batmas_lot", "sap/loipro_order")
    lot = folder / "sap" / "batmas_lot.yaml"
    order = folder / "sap" / "loipro_order.yaml"
    edit(
        lot,
        "  status:          {path: E1BATMAS.E1BPBATCHATT.STATUSKEY, lookup: batch_status, on_missing: pass, default: released}\n",
        "",
    )
    fields_line = lot.read_text(encoding="utf-8").splitlines().index("fields:") + 1
    unit = "      unit:  {first_of: [E1AFKOL.GMEIN, E1AFKOL.BMEINS], lookup: sap_units, on_missing: pass, required: true}\n"
    quantity = edit(order, unit, "") - 2  # the line of quantity's fields:, above value: and unit:
    assert errors(folder) == [
        f"{lot}:{fields_line}: lot requires status, and no rule fills it",
        f"{order}:{quantity}: order.quantity requires unit, and no rule fills it",
    ]


def test_an_event_the_entity_does_not_have_is_reported(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order", "sap/report_prodordconf")
    order = folder / "sap" / "loipro_order.yaml"
    report = folder / "sap" / "report_prodordconf.yaml"
    line = edit(order, "then: released}\n  otherwise: changed", "then: relased}\n  otherwise: changed")
    source = edit(report, "events: [created]", "events: [created, confirmed]")
    assert errors(folder) == [
        f"{order}:{line}: order has no event 'relased' (events: released, changed, cancelled, closed) "
        "(did you mean released?)",
        f"{report}:{source}: report has no event 'confirmed' (events: created, reversed)",
    ]


# -- across files -------------------------------------------------------------------------------


def test_two_mappings_claiming_one_document_type_are_both_reported(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    first = folder / "sap" / "loipro_order.yaml"
    second = folder / "sap" / "loipro_copy.yaml"
    shutil.copy(first, second)
    shutil.copy(folder / "sap" / "loipro_order.cases.yaml", folder / "sap" / "loipro_copy.cases.yaml")
    edit(second, "mapping: sap.loipro.order", "mapping: sap.loipro.copy")
    line = edit(second, "documents: [LOIPRO01, LOIPRO05]", "documents: [LOIPRO05]")
    found = errors(folder)
    assert found == [
        f"{second}:{line}: sap LOIPRO05 is also read by mapping sap.loipro.order ({first}); the bridge "
        "refuses such documents, as nothing chooses between the two: keep one",
        f"{first}:{line}: sap LOIPRO05 is also read by mapping sap.loipro.copy ({second}); the bridge "
        "refuses such documents, as nothing chooses between the two: keep one",
    ]


def test_a_mapping_of_an_extension_conflicts_with_the_mapping_of_its_basic_type(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    definitions = tmp_path / "ZLOIPRO5X.txt"
    definitions.write_text(
        "BEGIN_SEGMENT_SECTION\n  BEGIN_IDOC LOIPRO05\n  EXTENSION ZLOIPRO5X\n    BEGIN_SEGMENT Z2AFKEX000\n"
        "      SEGMENTTYPE Z1AFKEX\n      LEVEL 02\n      STATUS OPTIONAL\n      LOOPMIN 0000000000\n"
        "      LOOPMAX 0000000001\n      BEGIN_FIELDS\n        NAME ZPRIO\n        TEXT Priority\n"
        "        TYPE CHARACTER\n        LENGTH 000002\n        FIELD_POS 0001\n        CHARACTER_FIRST 000064\n"
        "        CHARACTER_LAST 000065\n      END_FIELDS\n    END_SEGMENT\n  END_IDOC\nEND_SEGMENT_SECTION\n",
        encoding="utf-8",
    )
    extension = folder / "sap" / "zloipro_order.yaml"
    shutil.copy(folder / "sap" / "loipro_order.yaml", extension)
    shutil.copy(folder / "sap" / "loipro_order.cases.yaml", folder / "sap" / "zloipro_order.cases.yaml")
    edit(extension, "mapping: sap.loipro.order", "mapping: sap.zloipro.order")
    edit(extension, "documents: [LOIPRO01, LOIPRO05]", "documents: [ZLOIPRO5X]")
    found = errors(folder, definitions=[str(definitions)])
    assert len(found) == 2, found
    assert all("an LOIPRO05 IDoc with extension ZLOIPRO5X matches both" in f for f in found)
    assert {f.split(":")[0] for f in found} == {str(extension), str(folder / "sap" / "loipro_order.yaml")}


# -- every error of every file ------------------------------------------------------------------


def test_several_errors_in_one_file_are_all_reported_in_one_run(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    event = edit(file, "then: released}\n  otherwise: changed", "then: relased}\n  otherwise: changed")
    transform = edit(
        file,
        "{path: E1AFKOL.AUFNR, transform: alpha, required: true}",
        "{path: E1AFKOL.AUFNR, transform: alfa}",
    )
    lookup = edit(
        file,
        "{path: MEINS, lookup: sap_units, on_missing: pass, required: true}",
        "{path: MEINS, lookup: sap_unit}",
    )
    field = edit(file, "  order_type:    {path: E1AFKOL.AUART}", "  order_typ:     {path: E1AFKOL.AUARX}")
    found = errors(folder)
    assert [f.split(": ", 1)[0] for f in found] == [
        f"{file}:{n}" for n in (event, transform, field, field, lookup)
    ]
    assert "unknown transform 'alfa' (did you mean alpha?)" in found[1]
    assert "order has no field order_typ (did you mean order_type?)" in found[2]
    assert "segment E1AFKOL has no field AUARX" in found[3]
    assert "unknown lookup table 'sap_unit'" in found[4]


def test_errors_in_two_files_are_both_reported_and_a_broken_file_stops_nothing(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order", "sap/batmas_lot")
    order = folder / "sap" / "loipro_order.yaml"
    lot = folder / "sap" / "batmas_lot.yaml"
    edit(
        order,
        "{path: E1AFKOL.AUFNR, transform: alpha, required: true}",
        "{path: E1AFKOL.AUFNR, transform: alfa}",
    )
    edit(
        lot,
        "{path: E1BATMAS.BATCH, transform: strip, required: true}",
        "{path: E1BATMAS.BATCH, transform: stripp}",
    )
    (folder / "sap" / "a_broken.yaml").write_text(
        "mapping: t.broken\nversion: 1\n  bad: [\n", encoding="utf-8"
    )
    (folder / "sap" / "b_schema.yaml").write_text(
        "mapping: t.schema\nversion: 1\nsource: x\n", encoding="utf-8"
    )
    code, out, err = cli("--mappings", str(folder))
    assert code == 1
    lines = out.splitlines()
    assert all(LOCATED.match(line) for line in lines), lines
    assert {line.split(":")[0] for line in lines} == {
        str(folder / "sap" / name)
        for name in ("a_broken.yaml", "b_schema.yaml", "batmas_lot.yaml", "loipro_order.yaml")
    }
    assert f"{folder / 'sap' / 'a_broken.yaml'}:3: invalid YAML" in out
    assert (
        f"{folder / 'sap' / 'b_schema.yaml'}:3: source: 'x' is not valid under any of the given schemas"
        in out
    )
    assert "Traceback" not in out + err
    assert "error(s)" in err


def test_a_path_argument_lints_that_file_only_with_the_lookups_of_its_folder(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order", "sap/batmas_lot")
    edit(folder / "sap" / "batmas_lot.yaml", "transform: strip, required: true}", "transform: stripp}")
    code, out, err = cli(str(folder / "sap" / "loipro_order.yaml"))
    assert code == 0
    assert all(": warning: " in line and "loipro_order.yaml" in line for line in out.splitlines())
    assert err.startswith("ok: 1 mapping file(s) without errors")
    code, out, _ = cli(str(folder / "sap"))
    assert code == 1
    assert "batmas_lot.yaml:19: unknown transform 'stripp' (did you mean strip?)" in out


def test_a_broken_cases_file_is_reported(tmp_path):
    folder = copy_mappings(tmp_path, "sap/batmas_lot")
    cases = folder / "sap" / "batmas_lot.cases.yaml"
    line = edit(cases, "input: cases/BATMAS03_example.xml", "input: cases/BATMAS03_exampel.xml")
    assert errors(folder) == [f"{cases}:{line}: input cases/BATMAS03_exampel.xml does not exist"]


def test_what_the_loader_refuses_is_reported_for_every_field_not_only_the_first(tmp_path):
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    file = folder / "sap" / "loipro_order.yaml"
    option = edit(
        file, "{path: E1AFKOL.AUART}", "{path: E1AFKOL.AUART, transform: {name: truncate, lenght: 3}}"
    )
    separator = edit(file, "{path: LTXA1}", '{path: LTXA1, separator: "-"}')
    pattern = edit(file, "{path: ARBPL}", '{path: ARBPL, when: {path: ARBPL, matches: "(a)\\\\1"}}')
    assert errors(folder) == [
        f"{file}:{option}: transform truncate has no option lenght (options: length)",
        f"{file}:{separator}: separator only goes with concat",
        f"{file}:{pattern}: matches: regular expression '(a)\\\\1' is refused: invalid escape sequence: \\1 "
        "(backreferences are not supported); matches runs on RE2 (linear time: no backreferences or lookaround)",
    ]


def test_hostile_yaml_is_reported_per_file_and_never_a_traceback(data_dir):
    folder = data_dir / "hostile" / "yaml"
    code, out, err = cli("--mappings", str(folder))
    assert code == 1
    lines = out.splitlines()
    assert all(LOCATED.match(line) for line in lines), lines
    mappings = {p for p in folder.glob("*.yaml") if not p.name.endswith(".cases.yaml")}
    assert {line.split(":")[0] for line in lines} == {str(p) for p in mappings}
    assert "Traceback" not in out + err


def test_without_cases_a_partly_defined_segment_only_warns_about_fields_it_does_not_list(tmp_path):
    """The shipped LOIPRO definitions list E1AFKOL's leading fields only (marked
    ``# erp-mes-bridge: partial``): a mapping with no case reading WERKS or MATNR, real fields,
    gets warnings that say so, not errors; with its cases, a typo there is an error again."""
    from bridge.mapping.lint_shapes import partial_segments

    assert {"E1AFKOL", "E1AFPOL"} <= partial_segments(str(MAPPINGS.parent / "adapters" / "sap" / "definitions" / "LOIPRO05.txt"))
    folder = copy_mappings(tmp_path, "sap/loipro_order")
    (folder / "sap" / "loipro_order.cases.yaml").unlink()
    report = lint(None, folder)
    assert [str(p) for p in report.problems if p.error] == []
    warned = [str(p) for p in report.problems if not p.error]
    assert any("has no field WERKS" in w and "--definitions" in w for w in warned), warned
    assert any("has no field MATNR " in w for w in warned), warned
