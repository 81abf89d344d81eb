"""``bridge mapping diff``: the old and the new version of a mapping over the archived raw documents."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from bridge.cli_mapping_tools import mapping_diff
from bridge.errors import ConfigError
from bridge.ledger import Ledger, RawRecord
from bridge.mapping.diff import ABSENT, FieldChange, event_changes, field_changes, parse_since

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
SAP_CASES = MAPPINGS / "sap" / "cases"
BATMAS_MAPPING = MAPPINGS / "sap" / "batmas_lot.yaml"


@click.group()
def mapping() -> None:
    """The ``bridge mapping`` group as cli_mapping registers the command."""


mapping.add_command(mapping_diff)


@pytest.fixture(autouse=True)
def _no_environment_settings(monkeypatch):
    for name in ("BRIDGE_CONFIG", "BRIDGE_DATABASE_URL", "BRIDGE_MAPPINGS_DIR"):
        monkeypatch.delenv(name, raising=False)


def archive(tmp_path: Path, samples: dict[str, str], received_at: datetime | None = None) -> Path:
    """A SQLite ledger holding the sample files as raw SAP messages; returns a configuration file."""
    ledger_file = tmp_path / "ledger.sqlite"
    ledger = Ledger.connect(f"sqlite:///{ledger_file}")
    try:
        ledger.archive_raw([
            RawRecord(message_id, "sap", name.split("_")[0], name, (SAP_CASES / name).read_bytes(),
                      received_at=received_at)
            for message_id, name in samples.items()
        ])
    finally:
        ledger.close()
    config = tmp_path / "bridge.yaml"
    config.write_text(f"database_url: sqlite:///{ledger_file}\nmappings_dir: {MAPPINGS}\nlog_format: text\n",
                      encoding="utf-8")
    return config


@pytest.fixture
def batmas_ledger(tmp_path):
    return archive(tmp_path, {
        "raw-restricted": "BATMAS03_example.xml",          # STATUSKEY X: restricted
        "raw-unrestricted": "BATMAS03_unrestricted_long_material.xml",
        "raw-order": "LOIPRO05_S4HANA_Original.xml",       # another type: left out
    })


def versions(tmp_path: Path, old_text: str, new_text: str) -> tuple[Path, Path]:
    old, new = tmp_path / "old" / "batmas_lot.yaml", tmp_path / "new" / "batmas_lot.yaml"
    for path, text in ((old, old_text), (new, new_text)):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return old, new


def run(*args: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(mapping, ["diff", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_changed_field_shows_exactly_the_documents_and_fields_it_changes(tmp_path, batmas_ledger):
    shipped = BATMAS_MAPPING.read_text(encoding="utf-8")
    assert "      X: restricted\n" in shipped
    old, new = versions(tmp_path, shipped, shipped.replace("      X: restricted\n", "      X: blocked\n"))

    code, out, err = run(new, "--against", old, "--raw-since", "7d", "--config", batmas_ledger, "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["changed"] == [
        {
            "message_id": "raw-restricted",
            "position": None,
            "document_key": "0000000000620001",
            "document_type": "BATMAS03",
            "old_error": None,
            "new_error": None,
            "notes": [],
            "events": [
                {
                    "change": "changed",
                    "message_id": "sap:S4HCLNT100:0000000000620001:lot",
                    "event": "changed",
                    "fields": [{"path": "payload.status", "old": "restricted", "new": "blocked"}],
                }
            ],
        }
    ]
    assert report["summary"] == {
        "scanned": 3, "read": 2, "unchanged": 1, "changed": 1, "errors_old": 0, "errors_new": 0,
        "undecodable": 0, "other": 1, "limited": False,
    }
    assert (report["mapping"], report["system"], report["documents"]) == ("sap.batmas.lot", "sap", ["BATMAS03"])
    assert report["against"] == str(old)


def test_the_text_report_names_document_event_and_field(tmp_path, batmas_ledger):
    shipped = BATMAS_MAPPING.read_text(encoding="utf-8")
    old, new = versions(tmp_path, shipped, shipped.replace("      X: restricted\n", "      X: blocked\n"))

    code, out, err = run(new, "--against", old, "--config", batmas_ledger)

    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == [
        "raw-restricted (BATMAS03 0000000000620001): 1 event(s) changed",
        "  ~ sap:S4HCLNT100:0000000000620001:lot  (changed; event changed)",
        '      payload.status: "restricted" -> "blocked"',
    ]
    assert lines[3].endswith("2 document(s) read, 1 unchanged, 1 changed; errors: old 0, new 0 (1 of other types left out)")
    assert len(lines) == 4


def test_an_unchanged_mapping_changes_nothing_even_for_documents_timed_by_their_receipt(tmp_path):
    config = archive(tmp_path, {
        "raw-3pl": "MATMAS05_3PL_material_master.xml",
        "raw-dmc": "MATMAS05_DMC_R1CH01007_raw.xml",  # no DOCNUM nor creation time: timed by the archive
    }, received_at=datetime.now(UTC) - timedelta(hours=3))
    copy = tmp_path / "matmas_material.yaml"
    shutil.copy(MAPPINGS / "sap" / "matmas_material.yaml", copy)

    code, out, err = run(MAPPINGS / "sap" / "matmas_material.yaml", "--against", copy, "--config", config, "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["changed"] == []
    assert report["summary"]["read"] == 2
    assert report["summary"]["unchanged"] == 2


def test_only_documents_received_within_the_window_are_read(tmp_path):
    config = archive(tmp_path, {"raw-old": "BATMAS03_example.xml"}, received_at=datetime.now(UTC) - timedelta(days=20))
    args = [BATMAS_MAPPING, "--against", BATMAS_MAPPING, "--config", config, "--json"]

    assert json.loads(run(*args, "--raw-since", "7d")[1])["summary"]["scanned"] == 0
    assert json.loads(run(*args, "--raw-since", "3w")[1])["summary"]["read"] == 1


def test_limit_stops_after_n_documents(tmp_path, batmas_ledger):
    code, out, _ = run(BATMAS_MAPPING, "--against", BATMAS_MAPPING, "--config", batmas_ledger, "--limit", "1", "--json")

    assert code == 0
    assert json.loads(out)["summary"]["read"] == 1
    assert json.loads(out)["summary"]["limited"] is True


def test_a_document_only_one_version_refuses_is_shown_with_the_error(tmp_path):
    config = archive(tmp_path, {"raw-bad-expiry": "BATMAS03_bad_expiry.xml", "raw-ok": "BATMAS03_example.xml"})
    shipped = BATMAS_MAPPING.read_text(encoding="utf-8")
    expires = "  expires_on:      {path: E1BATMAS.E1BPBATCHATT.EXPIRYDATE, transform: sap_date}\n"
    assert expires in shipped
    lenient = shipped.replace(expires, "")
    old, new = versions(tmp_path, shipped, lenient)

    code, out, err = run(new, "--against", old, "--config", config, "--json")

    assert code == 0, err
    report = json.loads(out)
    changed = {d["message_id"]: d for d in report["changed"]}
    assert set(changed) == {"raw-bad-expiry", "raw-ok"}  # the new version leaves the expiry date out
    assert "MappingError" in changed["raw-bad-expiry"]["old_error"]
    assert changed["raw-bad-expiry"]["new_error"] is None
    assert [e["change"] for e in changed["raw-bad-expiry"]["events"]] == ["added"]
    assert changed["raw-ok"]["events"][0]["fields"] == [{"path": "payload.expires_on", "old": "2025-12-31"}]
    assert report["summary"]["errors_old"] == 1
    assert report["summary"]["errors_new"] == 0


def test_the_same_error_in_both_versions_is_no_change(tmp_path):
    config = archive(tmp_path, {"raw-bad-expiry": "BATMAS03_bad_expiry.xml"})
    old, new = versions(tmp_path, BATMAS_MAPPING.read_text(encoding="utf-8"), BATMAS_MAPPING.read_text(encoding="utf-8"))

    report = json.loads(run(new, "--against", old, "--config", config, "--json")[1])

    assert report["changed"] == []
    assert (report["summary"]["errors_old"], report["summary"]["errors_new"], report["summary"]["unchanged"]) == (1, 1, 1)


def test_an_invalid_new_mapping_is_one_clear_error(tmp_path, batmas_ledger):
    shipped = BATMAS_MAPPING.read_text(encoding="utf-8")
    old, new = versions(tmp_path, shipped, shipped.replace("transform: strip, required: true}", "transform: stripp}", 1))

    result = CliRunner().invoke(mapping, ["diff", str(new), "--against", str(old), "--config", str(batmas_ledger)])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0].startswith(f"bridge: error: {new}:")
    assert "unknown transform 'stripp'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["missing.yaml", "--against", BATMAS_MAPPING], "missing.yaml: no such mapping file", id="no new file"),
        pytest.param([BATMAS_MAPPING, "--against", "missing.yaml"], "missing.yaml: no such mapping file", id="no old file"),
        pytest.param([BATMAS_MAPPING, "--against", BATMAS_MAPPING, "--raw-since", "7 days"],
                     "--raw-since '7 days': not a duration", id="bad duration"),
        pytest.param([BATMAS_MAPPING, "--against", BATMAS_MAPPING, "--git-ref", "HEAD"],
                     "--against and --git-ref both give the old version", id="two old versions"),
        pytest.param([MAPPINGS / "sap" / "report_prodordconf.yaml", "--against", MAPPINGS / "sap" / "report_prodordconf.yaml"],
                     "diff runs mappings that read source documents", id="reverse mapping"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, batmas_ledger, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(mapping, ["diff", *map(str, args), "--config", str(batmas_ledger)])

    assert result.exit_code == 2
    assert result.stderr.startswith("bridge: error: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_mapping_of_another_system_is_not_an_old_version(tmp_path, batmas_ledger):
    code, _, err = run(BATMAS_MAPPING, "--against", MAPPINGS / "kingdee" / "bd_batchmainfile_lot.yaml",
                       "--config", batmas_ledger)

    assert code == 2
    assert "reads kingdee documents" in err


def test_a_missing_ledger_is_refused_and_not_created(tmp_path):
    config = tmp_path / "bridge.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'none.sqlite'}\n", encoding="utf-8")

    code, _, err = run(BATMAS_MAPPING, "--against", BATMAS_MAPPING, "--config", config)

    assert code == 2
    assert "no ledger at" in err
    assert not (tmp_path / "none.sqlite").exists()


def _in_git() -> bool:
    try:
        found = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", str(BATMAS_MAPPING)],
                               capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


@pytest.mark.skipif(not _in_git(), reason="needs the project's git checkout")
def test_the_old_version_defaults_to_git_head(batmas_ledger):
    code, out, err = run(BATMAS_MAPPING, "--config", batmas_ledger, "--json")

    assert code == 0, err
    assert json.loads(out)["against"] == f"HEAD:{BATMAS_MAPPING}"


@pytest.mark.skipif(not _in_git(), reason="needs the project's git checkout")
def test_an_unknown_git_ref_is_a_clear_error(batmas_ledger):
    code, _, err = run(BATMAS_MAPPING, "--git-ref", "no-such-ref-for-a-test", "--config", batmas_ledger)

    assert code == 2
    assert err.startswith("bridge: error: --git-ref no-such-ref-for-a-test: no no-such-ref-for-a-test:")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param({"a": 1}, {"a": 1}, [], id="equal"),
        pytest.param({"a": "1"}, {"a": 1}, [FieldChange("a", "1", 1)], id="type change"),
        pytest.param({"a": {"b": "x"}}, {"a": {"b": "y", "c": "z"}},
                     [FieldChange("a.b", "x", "y"), FieldChange("a.c", ABSENT, "z")], id="nested and added"),
        pytest.param({"l": [{"v": "1"}, {"v": "2"}]}, {"l": [{"v": "1"}]},
                     [FieldChange("l[1]", {"v": "2"}, ABSENT)], id="shorter list"),
        pytest.param({"gone": True}, {}, [FieldChange("gone", True, ABSENT)], id="removed key"),
    ],
)
def test_field_changes_are_dotted_paths(old, new, expected):
    assert field_changes(old, new) == expected


def test_events_are_matched_by_message_id():
    old = [{"message_id": "m1", "event": "changed", "payload": {"x": "1"}}, {"message_id": "m2", "event": "changed"}]
    new = [{"message_id": "m3", "event": "created"}, {"message_id": "m1", "event": "changed", "payload": {"x": "2"}}]

    changes = event_changes(old, new)

    assert [(c.change, c.message_id) for c in changes] == [("added", "m3"), ("changed", "m1"), ("removed", "m2")]
    assert changes[1].fields == (FieldChange("payload.x", "1", "2"),)


@pytest.mark.parametrize(("text", "hours"), [("7d", 168), ("2w", 336), ("12h", 12), ("30m", 0.5), ("90", 0.025)])
def test_durations_reach_back_days_and_weeks(text, hours):
    now = datetime(2025, 3, 10, tzinfo=UTC)

    assert parse_since(text, now) == now - timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "7x", "-1d", "1e999d", "d", "99999999999999d"])
def test_bad_durations_are_config_errors(text):
    with pytest.raises(ConfigError, match="not a duration"):
        parse_since(text, datetime(2025, 3, 10, tzinfo=UTC))
