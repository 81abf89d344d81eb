"""The document size limit is checked before a document is read, wherever documents enter.

A 500 MB file (sparse: it costs no disk) is refused by ``translate``, ``idoc show`` and
``ingest`` with one line naming the file, its size, the limit and the variable that raises it,
and the refusing process stays small: the bytes are never read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import bridge.limits
from adapters.sap import xml_codec
from bench.memory import probe
from bridge.cli import _ingest_batches, main
from bridge.errors import ConfigError, DecodeError
from bridge.limits import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, max_document_bytes, read_document, read_stream

from ..conftest import MAPPINGS, ROOT

SAMPLE = MAPPINGS / "sap" / "cases" / "MATMAS05_3PL_material_master.xml"
HUGE = 500 * 1000 * 1000
#: What refusing a 500 MB file may cost above the interpreter with the same modules loaded.
SMALL_PEAK = 16 * 1024 * 1024


@pytest.fixture
def huge_file(tmp_path: Path) -> Path:
    path = tmp_path / "huge.xml"
    with path.open("wb") as stream:
        stream.write(b"<?xml version='1.0'?><MATMAS05><IDOC>")
        stream.truncate(HUGE)  # sparse: no disk, no page cache
    return path


@pytest.fixture(autouse=True)
def _default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_limit_is_50_mib_by_default_and_the_codec_names_still_work() -> None:
    assert max_document_bytes() == DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    assert xml_codec.max_document_bytes is bridge.limits.max_document_bytes
    assert xml_codec.check_size is bridge.limits.check_size
    assert (xml_codec.DEFAULT_MAX_BYTES, xml_codec.MAX_BYTES_ENV) == (DEFAULT_MAX_BYTES, MAX_BYTES_ENV)


def test_a_file_above_the_limit_is_refused_with_one_line_naming_file_size_limit_and_variable(huge_file: Path) -> None:
    with pytest.raises(DecodeError) as caught:
        read_document(huge_file)
    message = str(caught.value)
    assert "\n" not in message
    assert str(huge_file) in message
    assert f"{HUGE} bytes" in message
    assert f"limit of {DEFAULT_MAX_BYTES} bytes" in message
    assert MAX_BYTES_ENV in message


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["translate", "--mappings", str(MAPPINGS)], id="translate"),
        pytest.param(["idoc", "show"], id="idoc-show"),
        pytest.param(["ingest", "--source-system", "sap"], id="ingest"),
    ],
)
def test_each_command_refuses_a_500_mb_file_unread(huge_file: Path, command: list[str]) -> None:
    code, out, err = run(*command, str(huge_file))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith(f"bridge: error: {huge_file}: document is {HUGE} bytes, larger than the limit of")
    assert MAX_BYTES_ENV in err


@pytest.mark.parametrize("command", [["translate", "--mappings", str(MAPPINGS)], ["idoc", "show"]], ids=["translate", "idoc-show"])
def test_refusing_a_500_mb_file_costs_no_memory(huge_file: Path, command: list[str]) -> None:
    refused = probe("run", [*command, str(huge_file)])
    assert refused.code == 1, refused.stderr
    assert "larger than the limit" in refused.stderr
    baseline = probe("imports", refused.modules)
    assert refused.peak - baseline.peak < SMALL_PEAK, (
        f"refusing cost {(refused.peak - baseline.peak) / 2**20:.1f} MiB above the "
        f"{baseline.peak / 2**20:.1f} MiB baseline"
    )


def test_ingest_refuses_before_publishing_anything(tmp_path: Path, huge_file: Path) -> None:
    files = [SAMPLE, huge_file]
    with pytest.raises(DecodeError, match="huge.xml: document is 500000000 bytes"):
        _ingest_batches(files)


def test_ingest_batches_are_bounded_by_count_and_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bridge.cli

    monkeypatch.setattr(bridge.cli, "INGEST_BATCH", 3)
    monkeypatch.setattr(bridge.cli, "INGEST_BATCH_BYTES", 250)
    files = []
    for n, size in enumerate([100, 100, 100, 10, 10, 10, 10, 300, 5]):
        path = tmp_path / f"{n}.xml"
        path.write_bytes(b"x" * size)
        files.append(path)
    batches = _ingest_batches(files)
    assert [[int(p.stem) for p in batch] for batch in batches] == [[0, 1], [2, 3, 4], [5, 6], [7], [8]]


def test_the_environment_variable_sets_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = SAMPLE.stat().st_size
    monkeypatch.setenv(MAX_BYTES_ENV, str(size - 1))
    code, out, err = run("translate", "--mappings", str(MAPPINGS), str(SAMPLE))
    assert (code, out) == (1, "")
    assert f"document is {size} bytes, larger than the limit of {size - 1} bytes" in err
    code, _, err = run("idoc", "show", str(SAMPLE))
    assert code == 1
    assert f"larger than the limit of {size - 1} bytes" in err
    monkeypatch.setenv(MAX_BYTES_ENV, str(size))
    code, out, err = run("translate", "--mappings", str(MAPPINGS), str(SAMPLE))
    assert code == 0, err
    assert out


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1e6", "12 MB", "x" * 200])
def test_a_bad_limit_is_a_one_line_configuration_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, value)
    with pytest.raises(ConfigError, match=MAX_BYTES_ENV) as caught:
        max_document_bytes()
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 150
    for command in (["translate", "--mappings", str(MAPPINGS)], ["idoc", "show"]):
        code, out, err = run(*command, str(SAMPLE))
        assert (code, out) == (2, "")
        assert err.count("\n") == 1, err
        assert err.startswith(f"bridge: error: {MAX_BYTES_ENV} must be a positive number of bytes")


def test_a_huge_limit_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "9" * 30)
    assert max_document_bytes() == int("9" * 30)
    code, _, err = run("idoc", "show", str(SAMPLE))
    assert code == 0, err


def test_a_pipe_is_read_at_most_one_byte_past_the_limit() -> None:
    read, write = os.pipe()
    written: list[int] = []

    def feed() -> None:
        stream = os.fdopen(write, "wb", buffering=0)
        try:
            for _ in range(100):
                stream.write(b"x" * 1000)
                written.append(1000)
        except BrokenPipeError:
            pass
        finally:
            stream.close()

    thread = threading.Thread(target=feed)
    thread.start()
    too_many = r"pipe: document is more than 5000 bytes, larger than the limit of 5000"
    with os.fdopen(read, "rb") as stream, pytest.raises(DecodeError, match=too_many):
        read_stream(stream, 5000, source="pipe")
    thread.join()
    assert sum(written) < 100 * 1000  # the reader stopped; the writer was cut off


def test_standard_input_is_bounded_and_read_whole_within_the_limit(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    env = {**os.environ, MAX_BYTES_ENV: str(len(data) - 1)}
    command = [sys.executable, "-m", "bridge.cli", "translate", "--mappings", str(MAPPINGS), "/dev/stdin"]
    refused = subprocess.run(command, input=data, capture_output=True, env=env, cwd=ROOT, check=False)
    assert refused.returncode == 1
    assert f"more than {len(data) - 1} bytes, larger than the limit" in refused.stderr.decode()
    env[MAX_BYTES_ENV] = str(len(data))
    taken = subprocess.run(command, input=data, capture_output=True, env=env, cwd=ROOT, check=False)
    assert taken.returncode == 0, taken.stderr.decode()
    assert b'"material_id"' in taken.stdout


def test_a_file_that_grows_after_it_was_measured_is_still_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.xml"
    path.write_bytes(b"x" * 3000)
    real_fstat = os.fstat

    class Shrunk:
        def __init__(self, info: os.stat_result) -> None:
            self._info = info

        def __getattr__(self, name: str) -> object:
            return 10 if name == "st_size" else getattr(self._info, name)

    monkeypatch.setattr(bridge.limits.os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    assert read_document(path, 5000) == b"x" * 3000  # read on past the stale size
    with pytest.raises(DecodeError, match="more than 2000 bytes"):
        read_document(path, 2000)


def test_a_directory_or_a_missing_file_is_a_decode_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match=f"{tmp_path}: cannot read file: Is a directory"):
        read_document(tmp_path)
    with pytest.raises(DecodeError, match="nope.xml: cannot read file: No such file or directory"):
        read_document(tmp_path / "nope.xml")
