"""The settings that bound riding through faults: ingest's deadline and the SQLite busy timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_settings
from bridge.errors import ConfigError

from ..conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_ingest_waits_two_minutes_and_sqlite_thirty_seconds_by_default() -> None:
    settings = load_settings(env={})
    assert settings.broker.ingest_deadline_s == 120.0
    assert settings.ledger.busy_timeout_s == 30.0
    assert settings.ledger.busy_timeout_s >= settings.broker.confirm_timeout_s  # see LedgerSettings


def test_the_example_file_shows_the_defaults() -> None:
    settings = load_settings(ROOT / "bridge.example.yaml", env={})
    assert settings.broker.ingest_deadline_s == 120.0
    assert settings.ledger.busy_timeout_s == 30.0


@pytest.mark.parametrize(
    ("text", "env", "deadline", "busy"),
    [
        pytest.param("broker:\n  ingest_deadline_s: 5m\nledger:\n  busy_timeout_s: 45s\n", {}, 300.0, 45.0, id="file"),
        pytest.param(
            "broker:\n  ingest_deadline_s: 5m\n",
            {"BRIDGE_INGEST_DEADLINE": "30s", "BRIDGE_LEDGER_BUSY_TIMEOUT": "500ms"},
            30.0,
            0.5,
            id="environment-wins",
        ),
        pytest.param("ledger:\n", {}, 120.0, 30.0, id="empty-ledger-section"),
        pytest.param("broker:\n  ingest_deadline_s: 0\n", {}, 0.0, 30.0, id="zero-deadline-tries-once"),
    ],
)
def test_the_deadline_and_busy_timeout_come_from_the_file_or_the_environment(
    tmp_path: Path, text: str, env: dict[str, str], deadline: float, busy: float
) -> None:
    settings = load_settings(write(tmp_path, text), env=env)
    assert settings.broker.ingest_deadline_s == deadline
    assert settings.ledger.busy_timeout_s == busy


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        pytest.param("ledger:\n  busy_timeout_s: 0\n", {}, "ledger.busy_timeout_s = 0", id="no-busy-timeout"),
        pytest.param("", {"BRIDGE_INGEST_DEADLINE": "soon"}, "invalid duration 'soon'", id="not-a-duration"),
        pytest.param("ledger:\n  busy_timeuot_s: 5\n", {}, "did you mean 'busy_timeout_s'", id="typo"),
    ],
)
def test_a_bad_deadline_or_busy_timeout_is_refused_naming_it(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as caught:
        load_settings(write(tmp_path, text), env=env)
    assert expected in str(caught.value)
