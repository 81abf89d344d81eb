"""CLI manners (issue 11): files and folders alike, skipped non-documents, progress and summary
on stderr only, ``--dry-run``, quiet one-shot logging, ``--version``.

Nothing here needs RabbitMQ: ingest runs on the stub broker (``StubRuntime``) or not at all
(``--dry-run``), the dead-letter commands on the stub's dead-letter store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import bridge.broker.dlq_rabbitmq
import bridge.cli_kit
import bridge.runtime
from bridge.broker.dlq import dead_letter_queues
from bridge.broker.messages import Headers, OutMessage
from bridge.broker.stub import StubBroker, StubDeadLetterStore
from bridge.cli import main
from bridge.cli_kit import Progress, configure_one_shot_logging
from bridge.config import load_settings
from bridge.runtime import names_for, topology_for

from ..conftest import MAPPINGS
from .test_ingest_cli import StubRuntime

CASES = MAPPINGS / "sap" / "cases"
ORDER = "LOIPRO05_S4HANA_Original.xml"
YONYOU_ORDER = MAPPINGS / "yonyou" / "cases" / "productionorder_detail_reply.json"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("BRIDGE_MAPPINGS_DIR", str(MAPPINGS))
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if getattr(h, "bridge_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A README, a real SAP order, a Yonyou reply (JSON), a hidden file and a note."""
    docs = tmp_path / "docs"
    (docs / "yonyou").mkdir(parents=True)
    (docs / "README.md").write_text("# What these files are\n")
    (docs / ORDER).write_bytes((CASES / ORDER).read_bytes())
    (docs / "yonyou" / YONYOU_ORDER.name).write_bytes(YONYOU_ORDER.read_bytes())
    (docs / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return docs


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("bridge: error:")]


# -- translate ----------------------------------------------------------------------------------


def test_translate_over_a_folder_writes_pure_json_lines_and_skips_what_is_not_a_document(folder: Path) -> None:
    code, out, err = cli("translate", str(folder))
    assert code == 0, err
    envelopes = [json.loads(line) for line in out.splitlines()]  # every stdout line is JSON
    assert {e["message_id"].split(":")[0] for e in envelopes} == {"sap", "yonyou"}
    assert f"skipped {folder / 'README.md'}: not a document (a .md file)" in err.splitlines()
    assert ".DS_Store" not in err  # hidden files are left out, not reported
    assert err.splitlines()[-1] == f"2 documents, {len(envelopes)} events, 1 skipped, 0 failed"


def test_a_file_whose_content_no_codec_recognises_is_skipped_naming_why(folder: Path) -> None:
    (folder / "notes.txt").write_text("call the plant on Monday\n")
    code, _out, err = cli("translate", "--source-system", "sap", str(folder))
    assert code == 0, err
    assert f"skipped {folder / 'notes.txt'}: not a document (not recognised by the sap codec)" in err
    assert err.splitlines()[-1].endswith(", 3 skipped, 0 failed")  # README, notes, the Yonyou JSON


def test_strict_refuses_a_folder_with_a_file_that_is_not_a_document(folder: Path) -> None:
    code, out, err = cli("translate", "--strict", str(folder))
    assert code == 1
    assert out == ""
    assert error_lines(err) == [
        f"bridge: error: {folder / 'README.md'}: not a document (a .md file); --strict refuses it"
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param("README.md", b"# notes\n", "format not recognised", id="not a document"),
        pytest.param("missing.xml", None, "cannot read file", id="missing"),
    ],
)
def test_a_named_file_that_is_no_document_is_one_error_line(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = cli("translate", str(path))
    assert code == 1
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith((f"bridge: error: {path}", f"bridge: error: {name}"))
    assert expected in line
    assert "Traceback" not in err


def test_a_failed_file_in_a_folder_is_counted_and_the_others_still_translate(folder: Path) -> None:
    _code, good, _err = cli("translate", str(folder))
    (folder / "LOIPRO05_bad_quantity.xml").write_bytes((CASES / "LOIPRO05_bad_quantity.xml").read_bytes())
    code, out, err = cli("translate", str(folder))
    assert code == 1
    assert out == good
    [line] = error_lines(err)
    assert "LOIPRO05_bad_quantity.xml" in line
    assert err.splitlines()[-1].endswith(" 1 skipped, 1 failed")


def test_one_file_needs_no_summary() -> None:
    code, out, err = cli("translate", str(CASES / ORDER))
    assert code == 0
    assert len(out.splitlines()) == 1
    assert err == ""


def test_progress_is_drawn_on_stderr_only_when_it_is_a_terminal(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = cli("translate", str(folder))
    assert code == 0
    assert "\r" not in err  # not a terminal: no counter

    monkeypatch.setattr(bridge.cli_kit, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(bridge.cli_kit, "PROGRESS_AFTER_S", 0.0)
    code, out, err = cli("translate", str(folder))
    assert code == 0
    assert "\rtranslate: 2/2 files (100%)" in err
    assert all(json.loads(line) for line in out.splitlines())  # stdout untouched by the counter
    assert err.splitlines()[-1].strip("\r ").endswith("1 skipped, 0 failed")


def test_a_log_line_takes_the_counter_off_the_terminal_line_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bridge.cli_kit, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(bridge.cli_kit, "PROGRESS_AFTER_S", 0.0)
    configure_one_shot_logging()
    with Progress("ingest", 2) as progress:
        progress.advance("a.xml")
        logging.getLogger("bridge.pipeline.deadline").warning("waiting for the broker")
    counter = "ingest: 1/2 files (50%) a.xml"
    assert capsys.readouterr().err == (
        f"\r{counter}\r{' ' * len(counter)}\rbridge: warning: waiting for the broker\n"
    )


# -- ingest -------------------------------------------------------------------------------------


@pytest.fixture
def stub_runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[StubRuntime]:
    monkeypatch.setattr(bridge.runtime, "Runtime", StubRuntime)
    StubRuntime.ledger_path = tmp_path / "ledger.sqlite"
    StubRuntime.start_failures = 0
    StubRuntime.broker_down_for = 0.0
    StubRuntime.last = None
    return StubRuntime


def test_ingest_of_a_folder_publishes_only_its_documents(folder: Path, stub_runtime: type[StubRuntime]) -> None:
    code, out, err = cli("ingest", "--source-system", "sap", str(folder))
    assert code == 0, err
    assert [line.split("\t")[2] for line in out.splitlines()] == [ORDER]
    assert f"skipped {folder / 'README.md'}: not a document (a .md file)" in err
    assert f"skipped {folder / 'yonyou' / YONYOU_ORDER.name}: not a document (not recognised by the sap codec)" in err
    assert err.splitlines()[-1].startswith("1 document(s) ingested and confirmed by the broker in ")
    assert err.splitlines()[-1].endswith(" s, 2 skipped")
    assert stub_runtime.last is not None
    assert stub_runtime.last.broker.depth("bridge.translate") == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--strict", "{folder}"],
            [
                "{folder}/README.md: not a document (a .md file); --strict refuses it",
                f"{{folder}}/yonyou/{YONYOU_ORDER.name}: not a document (not recognised by the sap codec); "
                "--strict refuses it",
            ],
            id="strict",
        ),
        pytest.param(["{folder}/README.md"], ["{folder}/README.md: not a document (a .md file)"], id="named README"),
        pytest.param(
            ["{folder}/missing.xml"], ["{folder}/missing.xml: cannot read file: No such file or directory"], id="missing"
        ),
    ],
)
def test_ingest_refuses_before_publishing_anything(
    folder: Path, stub_runtime: type[StubRuntime], args: list[str], expected: list[str]
) -> None:
    code, out, err = cli("ingest", "--source-system", "sap", *(a.format(folder=folder) for a in args))
    assert code == 1
    assert out == ""
    assert error_lines(err) == [f"bridge: error: {line.format(folder=folder)}" for line in expected]
    assert "Traceback" not in err
    assert stub_runtime.last is None  # never connected


class NoRuntime:
    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a dry run connects to nothing")


def test_ingest_dry_run_says_what_would_be_published_and_touches_nothing(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge.runtime, "Runtime", NoRuntime)
    ledger = tmp_path / "ledger.sqlite"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{ledger}")
    monkeypatch.setenv("BRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")  # nothing listens there
    (folder / "MATMAS05_3PL_material_master.idoc").write_bytes((CASES / "MATMAS05_3PL_material_master.idoc").read_bytes())
    code, out, err = cli("ingest", "--dry-run", "--source-system", "sap", str(folder))
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows == [
        ["sap:S4HCLNT100:0000000000430094:3b79fb3e3b5c", "sap.LOIPRO05", ORDER, "1 event"],
        [rows[1][0], "sap.MATMAS05", "MATMAS05_3PL_material_master.idoc", "1 event"],
    ]
    assert "bridge: warning: " in err  # the flat file's doubts, as translate prints them
    assert err.splitlines()[-1] == (
        "dry run: 2 documents would be published (2 events, 0 dead letters), 2 skipped; "
        "nothing was published, no ledger was written"
    )
    assert not ledger.exists()


def test_ingest_dry_run_names_what_translate_would_dead_letter(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge.runtime, "Runtime", NoRuntime)
    bad = "LOIPRO05_bad_quantity.xml"
    code, out, err = cli("ingest", "--dry-run", "--source-system", "sap", str(folder / ORDER), str(CASES / bad))
    assert code == 1
    assert out.splitlines()[1].split("\t")[2:] == [bad, "dead letter"]
    [line] = error_lines(err)
    assert "value '2,00'" in line
    assert line.endswith("(translate would dead-letter it)")
    assert "(1 event, 1 dead letter)" in err.splitlines()[-1]


# -- dead letters -------------------------------------------------------------------------------


@pytest.fixture
def dead_letters(monkeypatch: pytest.MonkeyPatch) -> StubBroker:
    """Three dead letters of the translate queue (default settings) on a stub broker that
    ``bridge dlq`` reads through the stub's dead-letter store."""
    settings = load_settings(env={})
    names = names_for(settings)
    broker = StubBroker()
    broker.declare(topology_for(settings))
    for n, error in enumerate(("MappingError", "MappingError", "DecodeError"), start=1):
        headers = {
            Headers.SOURCE_SYSTEM: "sap",
            Headers.DOCUMENT_TYPE: "LOIPRO05",
            Headers.STAGE: "translate",
            Headers.ERROR_CLASS: error,
            Headers.ERROR_MESSAGE: f"problem {n}",
            Headers.ORIGINAL_EXCHANGE: names.inbound_exchange,
            Headers.ORIGINAL_ROUTING_KEY: "sap.LOIPRO05",
            Headers.ORIGINAL_QUEUE: names.translate_queue,
        }
        broker.channel().publish(
            [OutMessage(names.dead_letter_exchange, names.translate_queue, b"<x/>", f"m{n}", "raw", f"c{n}", headers)]
        )

    @contextmanager
    def store(_url: str) -> Iterator[StubDeadLetterStore]:
        held = StubDeadLetterStore(broker)
        try:
            yield held
        finally:
            held.close()

    monkeypatch.setattr(bridge.broker.dlq_rabbitmq, "RabbitDeadLetterStore", store)
    return broker


def queued(broker: StubBroker) -> dict[str, list[str | None]]:
    settings = load_settings(env={})
    return {q: [d.message_id for d in broker.messages(q)] for q in dead_letter_queues(topology_for(settings))}


def test_dlq_replay_dry_run_lists_what_would_be_replayed_and_changes_nothing(dead_letters: StubBroker) -> None:
    before = queued(dead_letters)
    code, out, err = cli("dlq", "replay", "--error-class", "MappingError", "--dry-run")
    assert code == 0, err
    assert out.splitlines() == [
        "would replay m1 -> bridge.inbound/sap.LOIPRO05",
        "would replay m2 -> bridge.inbound/sap.LOIPRO05",
    ]
    assert err.splitlines()[-1] == "2 dead letter(s) would be replayed (dry run: nothing was changed)"
    assert queued(dead_letters) == before
    assert dead_letters.depth("bridge.translate") == 0


def test_dlq_purge_dry_run_lists_what_would_be_purged_and_changes_nothing(dead_letters: StubBroker) -> None:
    before = queued(dead_letters)
    code, out, err = cli("dlq", "purge", "--all", "--dry-run")
    assert code == 0, err
    assert out.splitlines() == ["would purge m1", "would purge m2", "would purge m3"]
    assert err.splitlines()[-1] == "3 dead letter(s) would be purged (dry run: nothing was changed)"
    assert queued(dead_letters) == before


def test_a_dry_run_still_needs_a_filter_or_all(dead_letters: StubBroker) -> None:
    code, _out, err = cli("dlq", "purge", "--dry-run")
    assert code == 2
    assert "purge needs a filter" in err


# -- logging --------------------------------------------------------------------------------------


REPLAYED_LOG = "bridge: info: replayed dead letter m1 from bridge.translate.dlq to bridge.inbound/sap.LOIPRO05 (by "


@pytest.mark.parametrize(
    ("args", "logged"),
    [
        pytest.param(["dlq", "replay", "--id", "m1"], 0, id="default"),
        pytest.param(["--verbose", "dlq", "replay", "--id", "m1"], 1, id="global --verbose"),
        pytest.param(["dlq", "replay", "--id", "m1", "-v"], 1, id="command -v"),
    ],
)
def test_one_shot_commands_log_info_only_when_verbose(dead_letters: StubBroker, args: list[str], logged: int) -> None:
    code, out, err = cli(*args)
    assert code == 0, err
    assert out.splitlines() == ["replayed m1 -> bridge.inbound/sap.LOIPRO05"]
    assert '{"ts"' not in err  # never JSON log lines
    assert err.splitlines()[-1] == "1 dead letter(s) replayed"
    assert len([line for line in err.splitlines() if line.startswith(REPLAYED_LOG)]) == logged
    assert len(err.splitlines()) == 1 + logged


def test_a_one_shot_command_still_shows_warnings_as_a_person_reads_them(
    folder: Path, stub_runtime: type[StubRuntime]
) -> None:
    stub_runtime.start_failures = 1
    code, _out, err = cli("ingest", "--source-system", "sap", "--deadline", "30s", str(folder / ORDER))
    assert code == 0, err
    [warning] = [line for line in err.splitlines() if "waiting for the broker" in line]
    assert warning.startswith("bridge: warning: ")


@pytest.mark.parametrize(
    ("settings_level", "verbose", "level"),
    [
        pytest.param("INFO", False, logging.WARNING, id="INFO setting: warnings only"),
        pytest.param("DEBUG", False, logging.WARNING, id="DEBUG setting: warnings only"),
        pytest.param("ERROR", False, logging.ERROR, id="a stricter setting stands"),
        pytest.param("ERROR", True, logging.INFO, id="verbose"),
        pytest.param("DEBUG", True, logging.DEBUG, id="verbose with DEBUG setting"),
    ],
)
def test_the_level_of_a_one_shot_command(settings_level: str, verbose: bool, level: int) -> None:
    with click.Context(main) as ctx:
        ctx.meta["bridge.verbose"] = verbose
        configure_one_shot_logging(settings_level)
    assert logging.getLogger().level == level


class LoggingRuntime:
    """``bridge run``'s runtime, replaced: it logs one INFO line and stops at once."""

    def __init__(self, settings: Any, roles: Any, metrics: Any) -> None:
        self.settings = settings

    def start(self, *, serve_http: bool) -> None:
        logging.getLogger("bridge.runtime").info("bridge started")

    def wait(self) -> None:
        return None


def test_bridge_run_keeps_its_json_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import bridge.supervisor

    monkeypatch.setattr(bridge.runtime, "Runtime", LoggingRuntime)
    monkeypatch.setattr(bridge.supervisor, "install_signal_handlers", lambda runtime: None)
    code, _out, err = cli("run", "--no-http")
    assert code == 0, err
    [line] = [json.loads(line) for line in err.splitlines() if "bridge started" in line]
    assert (line["level"], line["logger"], line["msg"]) == ("INFO", "bridge.runtime", "bridge started")


# -- version --------------------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    code, out, _err = cli("--version")
    assert code == 0
    assert out == f"bridge, version {version('erp-mes-bridge')}\n"
