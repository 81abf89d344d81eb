"""``sources.<system>.encoding`` declares a source's file encoding, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import EXIT_CONFIG, main
from bridge.codecs import codec_for
from bridge.config import load_settings
from bridge.errors import ConfigError, DecodeError
from bridge.source_options import codec_options

ROOT = Path(__file__).resolve().parents[2]
GBK_FILE = ROOT / "tests" / "data" / "hostile" / "flat" / "gbk_chinese_texts.txt"
WE60 = ROOT / "tests" / "data" / "sap" / "we60"


def _config(tmp_path: Path, sap: str) -> Path:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"mappings_dir: {ROOT / 'mappings'}\n"
        "amqp_url: amqp://guest:guest@127.0.0.1:9/\n"  # nothing listens: a start would fail on it
        f"sources:\n  sap:\n    definitions: [{WE60}]\n{sap}",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("line", "declared"),
    [("    encoding: gbk\n", "gbk"), ("    encoding: 8400\n", "8400"), ("    encoding: '8400'\n", "8400")],
)
def test_the_declared_encoding_reaches_the_codec(tmp_path: Path, line: str, declared: str) -> None:
    settings = load_settings(_config(tmp_path, line), env={})
    options = codec_options(settings)["sap"]
    assert options["encoding"] == declared
    (document,) = codec_for("sap").decode(GBK_FILE.read_bytes(), origin=GBK_FILE.name, **options)
    texts = [op["LTXA1"] for op in document.tree["E1ZOPR"]]
    assert texts == ["装配篮子", "焊接"]


def test_without_a_declared_encoding_gbk_bytes_are_refused_not_guessed(tmp_path: Path) -> None:
    options = codec_options(load_settings(_config(tmp_path, ""), env={}))["sap"]
    assert "encoding" not in options
    with pytest.raises(DecodeError, match="line 3"):
        codec_for("sap").decode(GBK_FILE.read_bytes(), origin=GBK_FILE.name, **options)


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("    encoding: 9999\n", "encoding '9999': not a SAP code page number"),
        ("    encoding: klingon\n", "unknown encoding 'klingon'"),
        ("    encoding: utf-16\n", "utf-16"),
    ],
)
def test_a_wrong_encoding_is_a_config_error_naming_the_setting(tmp_path: Path, line: str, named: str) -> None:
    settings = load_settings(_config(tmp_path, line), env={})
    with pytest.raises(ConfigError) as caught:
        codec_options(settings)
    assert str(caught.value).startswith("sources.sap: ")
    assert named in str(caught.value)


def test_ingest_refuses_a_wrong_encoding_before_connecting(tmp_path: Path) -> None:
    config = _config(tmp_path, "    encoding: 9999\n")
    result = CliRunner().invoke(main, ["ingest", "--config", str(config), "--source-system", "sap", "--deadline", "0s", str(GBK_FILE)])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert result.stderr.startswith("bridge: error: sources.sap: encoding '9999'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_ingest_encoding_flag_is_checked_and_named(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    result = CliRunner().invoke(
        main, ["ingest", "--config", str(config), "--source-system", "sap", "--deadline", "0s", "--encoding", "nope", str(GBK_FILE)]
    )
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "--encoding" in result.stderr
    assert "nope" in result.stderr


def test_keys_of_a_source_belong_to_its_adapter_which_names_a_wrong_one_at_load(tmp_path: Path) -> None:
    config = _config(tmp_path, "    encodng: gbk\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    message = str(caught.value)
    assert "sources.sap.encodng" in message
    assert "unknown setting" in message
    assert "bridge.yaml:6)" in message


def test_keys_for_a_system_without_an_adapter_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text("sources:\n  plm:\n    timezone: UTC\n    encoding: gbk\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.plm: encoding: no adapter for system 'plm'"):
        load_settings(config, env={})
    config.write_text("sources:\n  plm:\n    timezone: UTC\n", encoding="utf-8")
    assert load_settings(config, env={}).sources["plm"].timezone == "UTC"  # a zone needs no adapter
