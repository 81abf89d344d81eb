"""Metrics (names, bounded labels, hooks that cannot crash), health endpoints, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from bridge.errors import ConfigError, DecodeError, MappingDefinitionError, TransientError
from bridge.observability import (
    HealthServer,
    Metrics,
    configure_logging,
    current_context,
    error_class_label,
    log_context,
)
from bridge.observability.metrics import OPEN_LABEL_CAP

from ..conftest import ROOT

# -- metrics ------------------------------------------------------------------------------


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def samples(metrics: Metrics) -> set[str]:
    """The scrape's sample lines, without comments and ``_created`` timestamps."""
    body, content_type = metrics.payload()
    assert content_type.startswith("text/plain")
    return {
        line
        for line in body.decode().splitlines()
        if line and not line.startswith("#") and "_created{" not in line
    }


def test_every_metric_is_declared_with_its_type(metrics):
    body = metrics.payload()[0].decode()
    types = {line.split()[2]: line.split()[3] for line in body.splitlines() if line.startswith("# TYPE")}
    types = {name: kind for name, kind in types.items() if not name.endswith("_created")}
    assert types == {
        "bridge_messages_received_total": "counter",
        "bridge_messages_translated_total": "counter",
        "bridge_messages_delivered_total": "counter",
        "bridge_messages_retried_total": "counter",
        "bridge_messages_dead_lettered_total": "counter",
        "bridge_duplicates_skipped_total": "counter",
        "bridge_stale_skipped_total": "counter",
        "bridge_messages_failed_total": "counter",
        "bridge_mapping_reloads_total": "counter",
        "bridge_processing_seconds": "histogram",
        "bridge_inflight_messages": "gauge",
        "bridge_dead_letter_depth": "gauge",
        "bridge_up": "gauge",
        "bridge_discrepancies": "gauge",
        "bridge_mapping_reload_failed": "gauge",
    }


def test_counters_and_gauges_scrape_with_their_fixed_labels(metrics):
    metrics.received("sap", "order", "ingest", n=3)
    metrics.translated("sap", "order")
    metrics.delivered("mes", "order", n=2)
    metrics.retried("deliver", "TransientError")
    metrics.dead_lettered("translate", "MappingError")
    metrics.duplicate_skipped("mes", "lot")
    metrics.stale_skipped("mes", "material")
    metrics.failed("deliver", "dead_lettered")
    metrics.set_dead_letter_depth("bridge.translate.dlq", 7)
    metrics.set_up("broker", True)
    metrics.set_up("database", False)
    assert {
        'bridge_messages_received_total{entity="order",stage="ingest",system="sap"} 3.0',
        'bridge_messages_translated_total{entity="order",system="sap"} 1.0',
        'bridge_messages_delivered_total{entity="order",target="mes"} 2.0',
        'bridge_messages_retried_total{error_class="TransientError",stage="deliver"} 1.0',
        'bridge_messages_dead_lettered_total{error_class="MappingError",stage="translate"} 1.0',
        'bridge_duplicates_skipped_total{entity="lot",target="mes"} 1.0',
        'bridge_stale_skipped_total{entity="material",target="mes"} 1.0',
        'bridge_messages_failed_total{outcome="dead_lettered",stage="deliver"} 1.0',
        'bridge_dead_letter_depth{queue="bridge.translate.dlq"} 7.0',
        'bridge_up{component="broker"} 1.0',
        'bridge_up{component="database"} 0.0',
    } <= samples(metrics)


def test_time_observes_the_block_and_lets_its_error_through(metrics):
    with metrics.time("translate"):
        pass
    with pytest.raises(ZeroDivisionError), metrics.time("translate"):
        _ = 1 / 0
    lines = samples(metrics)
    assert 'bridge_processing_seconds_count{stage="translate"} 2.0' in lines
    assert 'bridge_processing_seconds_bucket{le="0.001",stage="translate"} 2.0' in lines
    assert 'bridge_processing_seconds_bucket{le="30.0",stage="translate"} 2.0' in lines


def test_in_flight_counts_while_the_block_runs(metrics):
    with metrics.in_flight("deliver", n=5):
        assert 'bridge_inflight_messages{stage="deliver"} 5.0' in samples(metrics)
    assert 'bridge_inflight_messages{stage="deliver"} 0.0' in samples(metrics)


@pytest.mark.parametrize(
    ("system", "entity", "stage", "line"),
    [
        pytest.param(
            "SAP", "Order", "INGEST", '{entity="order",stage="ingest",system="sap"}', id="case-folded"
        ),
        pytest.param(None, None, None, '{entity="unknown",stage="unknown",system="unknown"}', id="absent"),
        pytest.param(
            "sap", "invoice", "publish", '{entity="unknown",stage="unknown",system="sap"}', id="unlisted"
        ),
        pytest.param(
            'x"} 1\nevil', "order", "ingest", '{entity="order",stage="ingest",system="unknown"}', id="unsafe"
        ),
        pytest.param(
            "a" * 65, "order", "ingest", '{entity="order",stage="ingest",system="unknown"}', id="too-long"
        ),
    ],
)
def test_label_values_are_clamped(metrics, system, entity, stage, line):
    metrics.received(system, entity, stage)
    assert f"bridge_messages_received_total{line} 1.0" in samples(metrics)


def test_open_labels_stop_growing_at_the_cap(metrics):
    for index in range(OPEN_LABEL_CAP + 10):
        metrics.delivered(f"route-{index}", "order")
    targets = {line.split('target="')[1].split('"')[0] for line in samples(metrics) if "delivered" in line}
    assert len(targets) == OPEN_LABEL_CAP + 1
    assert "other" in targets


def test_known_label_sets_turn_everything_else_into_unknown():
    metrics = Metrics(CollectorRegistry(), systems=["sap"], targets=["mes"], queues=["q.dlq"])
    metrics.received("kingdee", "order", "ingest")
    metrics.delivered("file-audit", "order")
    metrics.set_dead_letter_depth("random", 1)
    lines = samples(metrics)
    assert 'bridge_messages_received_total{entity="order",stage="ingest",system="unknown"} 1.0' in lines
    assert 'bridge_messages_delivered_total{entity="order",target="unknown"} 1.0' in lines
    assert 'bridge_dead_letter_depth{queue="unknown"} 1.0' in lines


class VendorTimeout(TransientError):
    """An adapter's own transient error."""


@pytest.mark.parametrize(
    ("error", "label"),
    [
        pytest.param("DecodeError", "DecodeError", id="known-name"),
        pytest.param("KeyError", "other", id="unknown-name"),
        pytest.param(DecodeError("bad"), "DecodeError", id="exception"),
        pytest.param(VendorTimeout("slow"), "TransientError", id="subclass-of-a-bridge-error"),
        pytest.param(MappingDefinitionError, "MappingDefinitionError", id="class"),
        pytest.param(TimeoutError("x"), "other", id="foreign-exception"),
        pytest.param(None, "unknown", id="absent"),
    ],
)
def test_error_class_label_is_a_bridge_error_name(error, label):
    assert error_class_label(error) == label


def test_a_failing_metric_is_logged_once_and_never_raises(metrics, caplog):
    class Broken:
        def labels(self, *values):
            raise RuntimeError("registry exploded")

    metrics._counters["received"] = Broken()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="bridge.observability.metrics"):
        metrics.received("sap", "order", "ingest")
        metrics.received("sap", "order", "ingest")
        metrics.delivered("mes", "order")  # other metrics keep working
    assert [r.getMessage() for r in caplog.records] == [
        "metric update received failed; further failures are not logged"
    ]
    assert 'bridge_messages_delivered_total{entity="order",target="mes"} 1.0' in samples(metrics)


def test_a_failing_metric_inside_time_does_not_mask_the_pipeline(metrics):
    metrics._seconds = None  # type: ignore[assignment]
    ran = []
    with metrics.time("deliver"):
        ran.append("body")  # no AttributeError from the broken histogram
    assert ran == ["body"]
    with pytest.raises(KeyError, match="the pipeline's own error"), metrics.time("deliver"):
        raise KeyError("the pipeline's own error")  # passes through, not replaced by the metric's


def test_a_missing_multiprocess_directory_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Metrics(CollectorRegistry())


def test_the_default_instance_is_shared():
    assert Metrics.default() is Metrics.default()


WORKER = textwrap.dedent(
    """
    import sys
    import prometheus_client  # imported before the variable is read, as a forked worker would
    from prometheus_client import CollectorRegistry
    from bridge.observability.metrics import Metrics
    metrics = Metrics(CollectorRegistry())
    metrics.received("sap", "order", "ingest", n=int(sys.argv[1]))
    metrics.add_in_flight("deliver", 2)
    metrics.set_up("broker", True)
    """
)
READER = "from bridge.observability.metrics import metrics_payload; print(metrics_payload()[0].decode())"


def test_multiprocess_mode_aggregates_every_worker(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", WORKER, count], env=env, check=True, timeout=60)
    scrape = subprocess.run(
        [sys.executable, "-c", READER], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    assert 'bridge_messages_received_total{entity="order",stage="ingest",system="sap"} 5.0' in scrape
    assert 'bridge_inflight_messages{stage="deliver"} 4.0' in scrape
    assert 'bridge_up{component="broker"} 1.0' in scrape
    assert list(tmp_path.glob("*.db"))


# -- HTTP endpoints -----------------------------------------------------------------------


class Check:
    """A readiness check that fails on demand."""

    def __init__(self) -> None:
        self.error: Exception | None = None

    def __call__(self) -> None:
        if self.error is not None:
            raise self.error


@pytest.fixture
def broker_check() -> Check:
    return Check()


@pytest.fixture
def server(metrics, broker_check) -> Iterator[HealthServer]:
    readiness = {"broker": broker_check, "database": lambda: None}
    with HealthServer("127.0.0.1", 0, readiness, metrics.payload, metrics=metrics) as running:
        yield running


def get(server: HealthServer, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read().decode()


def test_port_zero_picks_a_free_port(server):
    assert server.port > 0


def test_healthz_is_ok_while_the_process_lives(server):
    assert get(server, "/healthz") == (200, "application/json", '{"status": "ok"}')


def test_readyz_reports_each_check_and_turns_503_when_one_fails(server, broker_check, metrics):
    status, _, body = get(server, "/readyz")
    assert (status, json.loads(body)) == (
        200,
        {"status": "ready", "checks": {"broker": "ok", "database": "ok"}},
    )
    assert 'bridge_up{component="broker"} 1.0' in samples(metrics)

    broker_check.error = TransientError("cannot reach amqp://bridge:s3cret@rabbit:5672/")
    status, _, body = get(server, "/readyz")
    assert status == 503
    assert json.loads(body) == {
        "status": "unavailable",
        "checks": {"broker": "TransientError: cannot reach amqp://bridge:***@rabbit:5672/", "database": "ok"},
    }
    assert "s3cret" not in body
    assert 'bridge_up{component="broker"} 0.0' in samples(metrics)
    assert 'bridge_up{component="database"} 1.0' in samples(metrics)


def test_every_scrape_of_metrics_says_whether_broker_and_database_are_up_now(server, broker_check):
    _, _, scrape = get(server, "/metrics")  # no /readyz asked before: the scrape runs the checks
    assert 'bridge_up{component="broker"} 1.0' in scrape
    broker_check.error = TransientError("cannot reach the broker")
    _, _, scrape = get(server, "/metrics")
    assert 'bridge_up{component="broker"} 0.0' in scrape
    assert 'bridge_up{component="database"} 1.0' in scrape


def test_a_hung_check_fails_after_its_timeout(metrics):
    release = threading.Event()
    readiness = {"database": lambda: release.wait(10)}
    with HealthServer("127.0.0.1", 0, readiness, metrics.payload, check_timeout=0.1) as server:
        status, _, body = get(server, "/readyz")
    release.set()
    assert status == 503
    assert json.loads(body)["checks"] == {"database": "timed out after 0.1s"}


def test_metrics_endpoint_serves_prometheus_text(server, metrics):
    metrics.received("sap", "order", "ingest")
    status, content_type, body = get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert 'bridge_messages_received_total{entity="order",stage="ingest",system="sap"} 1.0' in body


@pytest.mark.parametrize("path", ["/", "/health", "/metrics/x"])
def test_other_paths_are_404(server, path):
    assert get(server, path)[0] == 404


def test_stop_releases_the_port(metrics):
    server = HealthServer("127.0.0.1", 0, {}, metrics.payload).start()
    port = server.port
    server.stop()
    with HealthServer("127.0.0.1", port, {}, metrics.payload) as again:
        assert get(again, "/healthz")[0] == 200


# -- logging ------------------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Configure JSON logging into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream)
    yield stream
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_message_context(log_stream):
    log = logging.getLogger("bridge.test")
    with log_context(message_id="sap:1:order", correlation_id="c-42", stage="translate"):
        log.info("translated %s", "LOIPRO", extra={"attempt": 2})
        with log_context(source_system="sap", stage="deliver"):
            log.info("delivered")
    log.info("outside")
    first, nested, outside = lines(log_stream)
    assert list(first)[:4] == ["ts", "level", "logger", "msg"]
    assert first["ts"].endswith("Z")
    assert (first["level"], first["logger"], first["msg"]) == ("INFO", "bridge.test", "translated LOIPRO")
    assert (first["message_id"], first["correlation_id"], first["stage"], first["attempt"]) == (
        "sap:1:order",
        "c-42",
        "translate",
        2,
    )
    assert (nested["stage"], nested["source_system"], nested["correlation_id"]) == ("deliver", "sap", "c-42")
    assert "message_id" not in outside
    assert current_context() == {}


def test_exceptions_are_a_string_field(log_stream):
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        logging.getLogger("bridge.test").exception("failed")
    (line,) = lines(log_stream)
    assert "ZeroDivisionError: division by zero" in line["exc"]


def test_no_password_reaches_a_log_line(log_stream):
    log = logging.getLogger("bridge.test")
    url = "amqp://bridge:s3cret@rabbit:5672/%2F"
    with log_context(message_id="m1", broker=url):
        log.warning("connecting to %s", url, extra={"database": "postgresql://u:pg-pw@db/x"})
        try:
            raise TransientError(f"connection to {url} refused")
        except TransientError:
            log.exception("lost broker")
    text = log_stream.getvalue()
    assert "s3cret" not in text
    assert "pg-pw" not in text
    assert lines(log_stream)[0]["msg"] == "connecting to amqp://bridge:***@rabbit:5672/%2F"


def test_text_format_is_one_readable_line(log_stream):
    configure_logging("INFO", "text", log_stream)
    with log_context(message_id="m1"):
        logging.getLogger("bridge.test").info("hello amqp://a:b@h/")
        logging.getLogger("bridge.test").debug("hidden at INFO")
    (line,) = log_stream.getvalue().splitlines()
    assert line.endswith("INFO     bridge.test: hello amqp://a:***@h/ [message_id=m1]")


def test_configuring_again_replaces_the_bridge_handler(log_stream):
    before = len(logging.getLogger().handlers)
    configure_logging("INFO", "json", log_stream)
    assert len(logging.getLogger().handlers) == before


@pytest.mark.parametrize(("level", "fmt"), [("INFO", "xml"), ("LOUD", "json")])
def test_bad_logging_settings_are_config_errors(level, fmt):
    with pytest.raises(ConfigError):
        configure_logging(level, fmt, io.StringIO())


def test_the_package_exports_what_it_declares():
    import bridge.observability as package

    assert sorted(package.__all__) == sorted(name for name in package.__all__ if hasattr(package, name))
    assert Path(package.__file__).parent.name == "observability"


# -- pika's connection noise --------------------------------------------------------------

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens on port 1: refused at once


def _pika_record(name: str, level: int, msg: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, level, "pika.py", 1, msg, (), exc_info)


@pytest.mark.parametrize(
    ("name", "level", "msg", "exc", "noise"),
    [
        pytest.param(
            "pika.adapters.utils.io_services_utils",
            logging.ERROR,
            "Socket failed to connect: <socket>; error=111 (Connection refused)",
            None,
            True,
            id="socket-failed",
        ),
        pytest.param(
            "pika.adapters.utils.connection_workflow",
            logging.ERROR,
            "AMQP connection workflow failed: %r.",
            None,
            True,
            id="workflow-failed",
        ),
        pytest.param(
            "pika.adapters.blocking_connection",
            logging.ERROR,
            "Error in _create_connection().",
            ConnectionRefusedError(111, "Connection refused"),
            True,
            id="traceback-of-create-connection",
        ),
        pytest.param(
            "pika.adapters.blocking_connection",
            logging.ERROR,
            "Connection workflow failed: %r",
            None,
            True,
            id="blocking-workflow-failed",
        ),
        pytest.param(
            "pika.adapters.base_connection",
            logging.ERROR,
            "Transport indicated EOF.",
            None,
            True,
            id="eof-during-a-restart",
        ),
        pytest.param(
            "pika.connection",
            logging.ERROR,
            "Connection closed while authenticating indicating a probable authentication error",
            None,
            True,
            id="authentication",
        ),
        pytest.param(
            "pika.channel",
            logging.WARNING,
            "Received remote Channel.Close (404): 'NOT_FOUND' on <Channel>",
            None,
            False,
            id="channel-close-is-kept",
        ),
        pytest.param(
            "pika.adapters.blocking_connection",
            logging.WARNING,
            "Published message was returned: ...",
            None,
            False,
            id="returned-message-is-kept",
        ),
        pytest.param(
            "bridge.broker.amqp",
            logging.WARNING,
            "cannot connect to RabbitMQ at %s:%s: %s",
            None,
            False,
            id="the-bridges-own-line-is-kept",
        ),
    ],
)
def test_pika_connection_noise_is_shown_at_debug_only(name, level, msg, exc, noise):
    from bridge.observability.logging import PikaConnectionNoise

    record = _pika_record(name, level, msg, exc)
    assert PikaConnectionNoise(logging.INFO).filter(record) is not noise
    record = _pika_record(name, level, msg, exc)
    assert PikaConnectionNoise(logging.DEBUG).filter(record) is True
    assert record.levelno == (logging.DEBUG if noise else level)
    assert record.levelname == logging.getLevelName(record.levelno)


@settings(max_examples=100, deadline=None)
@given(
    module=st.sampled_from(
        [
            "pika.adapters.utils.connection_workflow",
            "pika.adapters.utils.io_services_utils",
            "pika.adapters.base_connection",
            "pika.adapters.select_connection",
        ]
    ),
    level=st.sampled_from([logging.WARNING, logging.ERROR, logging.CRITICAL]),
    msg=st.text(max_size=80),
    configured=st.sampled_from([logging.INFO, logging.WARNING, logging.ERROR]),
)
def test_nothing_pikas_connection_modules_log_passes_above_debug(module, level, msg, configured):
    from bridge.observability.logging import PikaConnectionNoise

    assert PikaConnectionNoise(configured).filter(_pika_record(module, level, msg)) is False


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["bridge.runtime", "bridge.broker.amqp", "sqlalchemy.engine", "root", "pikachu"]),
    level=st.sampled_from([logging.INFO, logging.WARNING, logging.ERROR]),
    msg=st.text(max_size=80),
)
def test_records_of_other_loggers_pass_unchanged(name, level, msg):
    from bridge.observability.logging import PikaConnectionNoise

    record = _pika_record(name, level, msg + " connection")
    assert PikaConnectionNoise(logging.INFO).filter(record) is True
    assert record.levelno == level


def test_a_reconnecting_connection_logs_one_warning_line_per_attempt(log_stream):
    from bridge.broker.amqp import AmqpConnection

    configure_logging("INFO", "text", log_stream)
    connection = AmqpConnection(DEAD_BROKER, reconnect_max_wait=0.1)
    connection.start()
    try:
        for _ in range(100):
            if log_stream.getvalue().count("\n") >= 2:
                break
            threading.Event().wait(0.05)
    finally:
        connection.close(timeout=5)
    output = log_stream.getvalue()
    lines = output.splitlines()
    assert len(lines) >= 2, output
    for line in lines:
        assert "WARNING  bridge.broker.amqp: cannot connect to RabbitMQ at 127.0.0.1:1: " in line
    assert "Traceback" not in output
    assert "pika" not in output


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["topology", "declare"], id="topology-declare"),
        pytest.param(
            [
                "ingest",
                "--deadline",
                "0s",
                "--source-system",
                "sap",
                str(ROOT / "mappings/sap/cases/BATMAS03_example.xml"),
            ],
            id="ingest",
        ),
        pytest.param(
            [
                "ingest",
                "--deadline",
                "1s",
                "--source-system",
                "sap",
                str(ROOT / "mappings/sap/cases/BATMAS03_example.xml"),
            ],
            id="ingest-waiting",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_command_against_a_dead_broker_prints_only_the_bridges_one_line(tmp_path, command, fmt):
    env = {
        **os.environ,
        "BRIDGE_AMQP_URL": DEAD_BROKER,
        "BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "BRIDGE_MAPPINGS_DIR": str(ROOT / "mappings"),
        "BRIDGE_LOG_FORMAT": fmt,
    }
    env.pop("BRIDGE_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *command],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "pika" not in proc.stderr
    *waiting, line = proc.stderr.splitlines()
    assert "cannot connect to RabbitMQ at 127.0.0.1:1: " in line
    assert line.startswith("bridge: error: ")
    # ingest waits for a broker up to its deadline: one bridge warning per wait, no pika noise
    assert len(waiting) <= (1 if "1s" in command else 0)
    assert all("waiting for the broker" in w for w in waiting)
