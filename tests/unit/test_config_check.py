"""``bridge config check``: a configuration validated as ``bridge run`` would at start-up, and the
effective settings printed as YAML with every secret masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bridge.cli import main
from bridge.cli_config import effective_settings

from ..conftest import MAPPINGS

CONFIG = f"""\
amqp_url: amqp://bridge:amqp-s3cret@rabbit:5672/%2F
database_url: postgresql+psycopg://bridge:db-s3cret@db:5432/bridge
mappings_dir: {MAPPINGS}
broker:
  prefetch: 50
  batch_size: 50
sources:
  sap:
    timezone: Asia/Shanghai
routes:
  - name: mes
    sink: mes
    events: ["#"]
  - name: sap
    sink: sap
    events: ["report.*"]
    url: ${{SAP_URL}}
    user_env: SAP_USER
    password_env: SAP_PASSWORD
"""


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["config", "check", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("BRIDGE_CONFIG", "BRIDGE_AMQP_URL", "BRIDGE_DATABASE_URL", "BRIDGE_MAPPINGS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAP_URL", "https://sapuser:url-s3cret@sap.example:44300")
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if getattr(h, "bridge_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.yaml"
    path.write_text(CONFIG)
    return path


def test_the_effective_settings_are_printed_as_yaml_with_every_secret_masked(config: Path) -> None:
    code, out, err = check("--config", str(config))
    assert code == 0, err
    assert "s3cret" not in out + err
    shown = yaml.safe_load(out)
    assert shown["amqp_url"] == "amqp://bridge:***@rabbit:5672/%2F"
    assert shown["database_url"] == "postgresql+psycopg://bridge:***@db:5432/bridge"
    sap = shown["routes"][1]
    assert sap["url"] == "https://sapuser:***@sap.example:44300"  # from ${SAP_URL}
    assert (sap["user_env"], sap["password_env"]) == ("***", "***")
    # effective: the defaults the file left out, the adapter's among them
    assert (shown["broker"]["prefetch"], shown["broker"]["delivery_limit"]) == (50, 10)
    assert sap["sap_client"] == "100"
    assert shown["sources"]["sap"]["timezone"] == "Asia/Shanghai"
    [summary] = err.splitlines()
    assert summary.startswith(f"configuration OK ({config}): 1 source, 2 routes, ")
    assert summary.endswith(" mappings")


def test_secrets_from_the_environment_are_masked_too(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGE_AMQP_URL", "amqp://ops:env-s3cret@rabbit-2:5672/%2F")
    secret = tmp_path / "database_url"
    secret.write_text("postgresql+psycopg://ops:file-s3cret@db-2:5432/bridge\n")
    monkeypatch.setenv("BRIDGE_DATABASE_URL_FILE", str(secret))
    code, out, err = check("--config", str(config))
    assert code == 0, err
    assert "s3cret" not in out + err
    shown = yaml.safe_load(out)
    assert shown["amqp_url"] == "amqp://ops:***@rabbit-2:5672/%2F"
    assert shown["database_url"] == "postgresql+psycopg://ops:***@db-2:5432/bridge"


class Dumped:
    """Settings that dump as ``data`` (no routes or sources for adapters to read)."""

    routes: tuple[Any, ...] = ()
    sources: dict[str, Any] = {}  # noqa: RUF012 - read only

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def model_dump(self, mode: str) -> dict[str, Any]:
        return self.data


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        pytest.param("password", "pw-1", "***", id="password"),
        pytest.param("client_secret", "s-1", "***", id="secret"),
        pytest.param("access_token", "t-1", "***", id="token"),
        pytest.param("app_key_env", "YONYOU_APP_KEY", "***", id="_env"),
        pytest.param("client_key_file", "/run/secrets/key", "***", id="_file"),
        pytest.param("token_env", None, None, id="unset stays unset"),
        pytest.param("url", "https://u:pw-2@erp/api?password=pw-3", "https://u:***@erp/api?password=***", id="url"),
        pytest.param("timeout_s", 30.0, 30.0, id="not a secret"),
    ],
)
def test_what_counts_as_a_secret(key: str, value: Any, shown: Any) -> None:
    assert effective_settings(Dumped({"routes": [{"nested": {key: value}}]})) == {"routes": [{"nested": {key: shown}}]}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            "broker:\n  prefetch: 0\n",
            "bridge: error: invalid configuration: broker.prefetch = 0 (in {path}:3): "
            "Input should be greater than or equal to 1",
            id="bad value",
        ),
        pytest.param(
            "routes:\n  - name: x\n    sink: sap\n    events: ['#']\n    url: ${NOPE_URL}\n",
            "bridge: error: routes[0].url: ${{NOPE_URL}} is not set (set NOPE_URL or NOPE_URL_FILE, or write "
            "${{NOPE_URL:-default}})",
            id="unset variable",
        ),
        pytest.param(
            "amqp_url: amqp://u:typo-s3cret@rabbit/\nbrokr: {}\n",
            "bridge: error: invalid configuration: brokr = {{}} (in {path}:3): unknown setting (did you mean 'broker'?)",
            id="unknown key",
        ),
    ],
)
def test_a_configuration_error_is_printed_as_the_bridge_prints_it_and_exits_2(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(f"mappings_dir: {MAPPINGS}\n" + content)  # so the lines named are one further
    code, out, err = check("--config", str(path))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [expected.format(path=path)]
    assert "s3cret" not in err


def test_the_mappings_are_checked_as_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MAPPINGS_DIR", str(tmp_path / "nowhere"))
    code, out, err = check()
    assert code == 2
    assert out == ""
    assert err == f"bridge: error: mappings folder {tmp_path / 'nowhere'} does not exist (set --mappings or BRIDGE_MAPPINGS_DIR)\n"


def test_without_a_file_the_built_in_defaults_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MAPPINGS_DIR", str(MAPPINGS))
    code, out, err = check()
    assert code == 0, err
    assert yaml.safe_load(out)["amqp_url"] == "amqp://guest:***@localhost:5672/%2F"
    assert err.startswith("configuration OK (built-in defaults): 0 sources, 1 route, ")


def test_a_missing_configuration_file_is_a_configuration_error(tmp_path: Path) -> None:
    code, _out, err = check("--config", str(tmp_path / "none.yaml"))
    assert code == 2
    assert err == f"bridge: error: configuration file {tmp_path / 'none.yaml'} does not exist\n"
