"""The bridge command line: translate, idoc show, mapping test/lint, schema export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main

from ..conftest import MAPPINGS

CASES = MAPPINGS / "sap" / "cases"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--help"] if not args else list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_translate_writes_one_envelope_per_idoc_as_json_lines():
    code, out, err = run(
        "translate",
        "--mappings",
        str(MAPPINGS),
        str(CASES / "LOIPRO05_S4HANA_Original.xml"),
        str(CASES / "MATMAS05_3PL_material_master.xml"),
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["entity"], e["event"]) for e in lines] == [("order", "released"), ("material", "upserted")]
    assert lines[0]["message_id"] == "sap:S4HCLNT100:0000000000430094:order"


def test_translate_renders_a_canonical_report_as_an_sap_confirmation_call():
    code, out, err = run(
        "translate", "--mappings", str(MAPPINGS), "--target-system", "sap", str(CASES / "report_final_with_movements.json")
    )
    assert code == 0, err
    assert '<rfc:BAPI_PRODORDCONF_CREATE_TT xmlns:rfc="urn:sap-com:document:sap:rfc:functions">' in out
    assert "<ORDERID>000208277436</ORDERID>" in out
    assert out.count("<item>") == 1 + 3 + 3


def test_translate_with_a_named_mapping_and_document_type():
    code, out, _ = run(
        "translate",
        "--mappings",
        str(MAPPINGS),
        "--mapping",
        "sap.loipro.order",
        str(CASES / "LOIPRO05_DMC_nonSAP_ERP.xml"),
    )
    assert code == 0
    assert json.loads(out)["payload"]["order_id"] == "208277437"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            b"<LOIPRO05><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'><DOCNUM>1</DOCNUM>",
            "bad.xml",
            id="truncated XML",
        ),
        pytest.param(b"hello world", "format not recognised", id="not an IDoc"),
        pytest.param(b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><LOIPRO05/>", "bad.xml", id="DTD"),
    ],
)
def test_bad_input_gives_one_line_naming_the_file_and_exit_1(tmp_path, content, expected):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    code, out, err = run("translate", "--mappings", str(MAPPINGS), str(bad))
    assert code == 1
    assert out == ""
    assert expected in err
    assert "Traceback" not in err
    assert err.startswith("bridge: error: ")


def test_a_mapping_error_names_file_docnum_mapping_field_path_and_value():
    code, _, err = run("translate", "--mappings", str(MAPPINGS), str(CASES / "LOIPRO05_bad_quantity.xml"))
    assert code == 1
    assert len(err.splitlines()) == 1
    for part in (
        "LOIPRO05_bad_quantity.xml",
        "DOCNUM 0000000000007699",
        "mapping sap.loipro.order",
        "field quantity.value",
        "path E1AFKOL.GAMNG",
        "value '2,00'",
    ):
        assert part in err


def test_good_files_are_still_translated_when_one_fails(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_bytes(b"<MATMAS05><IDOC>")
    code, out, err = run(
        "translate", "--mappings", str(MAPPINGS), str(bad), str(CASES / "MATMAS05_DMC_S1SP02677_finished.xml")
    )
    assert code == 1
    assert len(out.splitlines()) == 1
    assert "broken.xml" in err


def test_an_unknown_idoc_type_is_reported_with_the_mappings_that_exist(tmp_path):
    odd = tmp_path / "odd.xml"
    odd.write_bytes(
        b"<ZORDERS01><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'><DOCNUM>0000000000000099</DOCNUM>"
        b"</EDI_DC40><Z1HEAD SEGMENT='1'><F>1</F></Z1HEAD></IDOC></ZORDERS01>"
    )
    code, _, err = run("translate", "--mappings", str(MAPPINGS), str(odd))
    assert code == 1
    assert "no mapping reads sap ZORDERS01" in err
    assert "DOCNUM 0000000000000099" in err
    assert "sap LOIPRO05" in err


def test_a_missing_file_is_a_clear_error(tmp_path):
    code, _, err = run("translate", "--mappings", str(MAPPINGS), str(tmp_path / "nope.xml"))
    assert code == 1
    assert "nope.xml" in err
    assert "cannot read file" in err


def test_an_unknown_mapping_name_is_a_configuration_error():
    code, _, err = run(
        "translate",
        "--mappings",
        str(MAPPINGS),
        "--mapping",
        "sap.nope",
        str(CASES / "LOIPRO05_DMC_nonSAP_ERP.xml"),
    )
    assert code == 2
    assert "no mapping named 'sap.nope'" in err


def test_idoc_show_prints_control_and_segment_tree():
    code, out, err = run("idoc", "show", str(CASES / "LOIPRO05_DMC_nonSAP_ERP.xml"))
    assert code == 0, err
    shown = json.loads(out)
    assert shown["control"]["DOCNUM"] == "0000000000007699"
    header = shown["segments"][0]
    assert header["type"] == "E1AFKOL"
    assert header["fields"]["AUFNR"] == "208277437"
    assert {child["type"] for child in header["children"]} >= {"E1AFPOL", "E1JSTKL", "E1AFFLL"}


def test_mapping_test_prints_a_table_and_a_summary():
    code, out, _ = run("mapping", "test", "--mappings", str(MAPPINGS))
    assert code == 0
    assert out.splitlines()[0].startswith("PASS  ")
    assert out.splitlines()[-1].endswith("passed, 0 failed")


def test_mapping_test_fails_when_a_case_fails(tmp_path):
    folder = tmp_path / "mappings"
    (folder / "sap").mkdir(parents=True)
    (folder / "sap" / "m.yaml").write_text(
        "mapping: t.m\nversion: 1\nsource: {system: sap, documents: [MATMAS05]}\ntarget: {entity: material}\n"
        "event: upserted\nfields:\n  material_id: {path: E1MARAM.MATNR}\n  base_unit: {path: E1MARAM.MEINS}\n"
    )
    (folder / "sap" / "in.xml").write_bytes((CASES / "MATMAS05_DMC_S1SP02677_finished.xml").read_bytes())
    (folder / "sap" / "m.cases.yaml").write_text(
        "cases:\n  - name: wrong expectation\n    input: in.xml\n    expect: {contains: {payload: {material_id: X}}}\n"
    )
    code, out, _ = run("mapping", "test", "--mappings", str(folder))
    assert code == 1
    assert "FAIL  t.m: wrong expectation" in out
    assert "$.payload.material_id: expected 'X', got 'S1SP02677'" in out


def test_mapping_lint_reports_every_broken_mapping_with_file_and_line(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "mapping: t.a\nversion: 1\nsource: {system: sap, documents: [X]}\ntarget: {entity: material}\n"
        "event: upserted\nfields:\n  material_id: {path: A, transform: alfa}\n"
    )
    (folder / "b.yaml").write_text(
        "mapping: t.b\nversion: 1\nsource: {system: sap, documents: [X]}\ntarget: {entity: material}\n"
        "event: upserted\nfields:\n  material_id: {path: A, lookup: units}\n"
    )
    code, out, _ = run("mapping", "lint", "--mappings", str(folder))
    assert code == 1
    assert "a.yaml:7: unknown transform 'alfa' (did you mean alpha?)" in out
    assert "b.yaml:7: unknown lookup table 'units'" in out


def test_mapping_lint_accepts_the_shipped_mappings():
    code, _, err = run("mapping", "lint", "--mappings", str(MAPPINGS))
    assert code == 0
    assert err.startswith("ok: ")
    assert "mapping file(s) without errors" in err


def test_schema_export_writes_files(tmp_path):
    code, out, _ = run("schema", "export", str(tmp_path / "schemas"))
    assert code == 0
    assert len(out.splitlines()) == 4


def test_the_installed_command_never_prints_a_traceback(tmp_path):
    bad = tmp_path / "bad.idoc"
    bad.write_text("EDI_DC    300 0000000000001234 ORDERS05\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", "--mappings", str(MAPPINGS), str(bad)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "bad.idoc" in proc.stderr


def test_an_error_line_is_redacted_whatever_raised_it(monkeypatch):
    import bridge.broker.declare
    from bridge.errors import TransientError

    def refuse(url, plan):
        raise TransientError(f"cannot reach {url.reveal()}, password=cli-s3cret")

    monkeypatch.setattr(bridge.broker.declare, "declare_topology", refuse)
    monkeypatch.setenv("BRIDGE_AMQP_URL", "amqp://bridge:url-s3cret@rabbit:5672/%2F")
    code, _, err = run("topology", "declare")
    assert code == 1
    assert err == "bridge: error: cannot reach amqp://bridge:***@rabbit:5672/%2F, password=***\n"
