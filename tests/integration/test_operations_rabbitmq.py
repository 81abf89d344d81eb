"""What operators see of a running bridge: health, readiness, Prometheus metrics, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from bridge.observability.logging import configure_logging
from bridge.observability.metrics import Metrics
from bridge.runtime import Runtime
from tests.polling import free_port

from .harness import CASES, MesTap, bridge_topology, browse, ingest, make_settings, sink_lines, wait_for

pytestmark = pytest.mark.integration



def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_readiness_metrics_and_json_logs_of_a_running_bridge(rabbitmq, tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"http_port": free_port(), "http_host": "127.0.0.1"})
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    metrics = Metrics(CollectorRegistry())
    runtime = Runtime(settings, roles=("translate", "deliver"), metrics=metrics, dead_letter_poll=0.2)
    with bridge_topology(settings):
        tap = MesTap(settings)
        tap.declare()
        runtime.start(serve_http=True, connect_wait=10)
        try:
            port = runtime.health.port
            assert get(port, "/healthz") == (200, json.dumps({"status": "ok"}))
            status, body = get(port, "/readyz")
            assert status == 200
            assert json.loads(body)["checks"] == {"broker": "ok", "database": "ok"}

            ingest(settings, [CASES / "LOIPRO05_S4HANA_Original.xml", CASES / "LOIPRO05_bad_quantity.xml"])
            wait_for(
                lambda: (
                    sink_lines(tmp_path / "sink.jsonl") and browse(f"{settings.broker.prefix}.translate.dlq")
                )
            )
            expected = (
                'bridge_messages_delivered_total{entity="order",target="mes"} 1.0',
                'bridge_messages_delivered_total{entity="order",target="files"} 1.0',
                # the depth of this queue once the poller has seen the letter (it polls on its own
                # clock, so a line for the queue may first show 0)
                f'bridge_dead_letter_depth{{queue="{settings.broker.prefix}.translate.dlq"}} 1.0',
            )

            def scraped() -> str | None:
                text = get(port, "/metrics")[1]
                return text if all(part in text for part in expected) else None

            text = wait_for(scraped)

            assert 'bridge_messages_translated_total{entity="order",system="sap"} 1.0' in text
            assert 'bridge_messages_delivered_total{entity="order",target="mes"} 1.0' in text
            assert 'bridge_messages_delivered_total{entity="order",target="files"} 1.0' in text
            assert (
                'bridge_messages_dead_lettered_total{error_class="MappingError",stage="translate"} 1.0'
                in text
            )
            assert f'bridge_dead_letter_depth{{queue="{settings.broker.prefix}.translate.dlq"}} 1.0' in text
            assert 'bridge_processing_seconds_count{stage="translate"}' in text
            assert 'bridge_up{component="broker"} 1.0' in text

            runtime.connection.close()  # the broker connection goes away
            status, body = get(port, "/readyz")
            assert status == 503
            checks = json.loads(body)["checks"]
            assert checks["database"] == "ok"
            assert checks["broker"] != "ok"
        finally:
            runtime.stop()
            tap.delete()
            logging.getLogger().handlers.clear()

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    [dead] = [line for line in lines if "dead-lettered" in line["msg"]]
    assert dead["message_id"].startswith("sap:AX2012 Manu:0000000000007699:")
    assert dead["correlation_id"] == "sap:AX2012 Manu:0000000000007699"
    assert dead["stage"] == "translate"
    assert dead["level"] == "ERROR"
    assert "guest:guest" not in stream.getvalue()
