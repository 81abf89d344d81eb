"""Running the real bridge against the real RabbitMQ in tests: unique names, clean-up, sinks."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

from bridge.broker.declare import declare_topology, delete_topology, open_blocking
from bridge.config import Settings
from bridge.redaction import REVEAL_SECRETS
from bridge.runtime import Runtime, names_for, topology_for
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
CASES = MAPPINGS / "sap" / "cases"
AMQP_URL = os.environ.get("BRIDGE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def unique_prefix() -> str:
    """A name prefix no other test run uses."""
    return f"t{uuid.uuid4().hex[:10]}"


def make_settings(
    tmp_path: Path, *, prefix: str | None = None, database_url: str | None = None, **broker: Any
) -> Settings:
    """Settings for one test: own prefix, MES and feedback exchanges, SQLite ledger in tmp_path, fast retries."""
    prefix = prefix or unique_prefix()
    broker_settings = {
        "prefix": prefix,
        "mes_exchange": f"{prefix}.mes.events",
        "feedback_exchange": f"{prefix}.mes.feedback",
        "retry_tiers": ["1s", "2s"],
        "delivery_limit": 5,
        "batch_wait_ms": 5,
        "in_process_attempts": 2,
        "confirm_timeout_s": 10,
        "reconnect_max_wait_s": 2,
        "heartbeat_s": 10,
    }
    broker_settings.update(broker)
    return Settings.model_validate(
        {
            "amqp_url": AMQP_URL,
            "database_url": database_url or f"sqlite:///{tmp_path / 'ledger.sqlite'}",
            "http_port": 0,
            "mappings_dir": str(MAPPINGS),
            "log_format": "text",
            "broker": broker_settings,
            "routes": [
                {"name": "mes", "sink": "mes", "events": ["#"]},
                {
                    "name": "files",
                    "sink": "file",
                    "events": ["order.*", "material.*"],
                    "path": str(tmp_path / "sink.jsonl"),
                },
            ],
        }
    )


class MesTap:
    """A queue bound to the test's MES exchange, to read what the MES would receive."""

    def __init__(self, settings: Settings) -> None:
        self.exchange = settings.broker.mes_exchange
        self.queue = f"{settings.broker.prefix}.test.mes-tap"

    def declare(self) -> None:
        connection = open_blocking(AMQP_URL)
        try:
            channel = connection.channel()
            channel.exchange_declare(self.exchange, "topic", durable=True)
            channel.queue_declare(self.queue, durable=True)
            channel.queue_bind(self.queue, self.exchange, "#")
        finally:
            connection.close()

    def drain(self) -> list[tuple[pika.spec.BasicProperties, dict[str, Any], str]]:
        """Every message now in the tap (properties, envelope, routing key), removed."""
        connection = open_blocking(AMQP_URL)
        got = []
        try:
            channel = connection.channel()
            while True:
                method, props, body = channel.basic_get(self.queue, auto_ack=True)
                if method is None:
                    break
                got.append((props, json.loads(body), method.routing_key))
        finally:
            connection.close()
        return got

    def delete(self) -> None:
        connection = open_blocking(AMQP_URL)
        try:
            connection.channel().queue_delete(self.queue)
        finally:
            connection.close()


def write_config(settings: Settings, path: Path) -> Path:
    """The settings as a YAML file (for ``bridge run`` processes and CLI commands)."""
    import yaml

    data = settings.model_dump(mode="json", context=REVEAL_SECRETS)  # the child needs the real URLs
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def queue_depth(name: str) -> int:
    """Messages ready in a queue."""
    connection = open_blocking(AMQP_URL)
    try:
        return connection.channel().queue_declare(name, passive=True).method.message_count
    finally:
        connection.close()


def browse(name: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    """Read a queue's messages without removing them."""
    connection = open_blocking(AMQP_URL)
    try:
        channel = connection.channel()
        got = []
        while True:
            method, props, body = channel.basic_get(name, auto_ack=False)
            if method is None:
                break
            got.append((props, body))
        channel.close()  # unacked messages go back to the queue
        return got
    finally:
        connection.close()



@contextmanager
def bridge_topology(settings: Settings) -> Iterator[None]:
    """Declare the test's topology and MES tap; delete all of it afterwards."""
    plan = topology_for(settings)
    declare_topology(AMQP_URL, plan)
    try:
        yield
    finally:
        delete_topology(AMQP_URL, plan)


@contextmanager
def running(settings: Settings, roles: tuple[str, ...] = ("translate", "deliver")) -> Iterator[Runtime]:
    """An in-process bridge runtime, stopped at the end."""
    runtime = Runtime(settings, roles=roles)
    runtime.start(serve_http=False, connect_wait=10)
    try:
        yield runtime
    finally:
        runtime.stop(timeout=20)


def ingest(settings: Settings, files: list[Path], system: str = "sap") -> list[str]:
    """Ingest files through a short-lived runtime; the message ids."""
    with running(settings, roles=("ingest",)) as runtime:
        ingestor = runtime.ingestor()
        documents = ingestor.prepare([(f.read_bytes(), f.name) for f in files], system)
        ingestor.ingest(documents)
        return [d.message_id for d in documents]


def sink_lines(path: Path) -> list[dict[str, Any]]:
    """Envelopes written by a file sink."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def publish_as_the_mes(exchange: str, messages: list[tuple[str, bytes]]) -> None:
    """Confirmed, mandatory, persistent: what a careful MES does."""
    connection = open_blocking(AMQP_URL)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for index, (routing_key, body) in enumerate(messages):
            channel.basic_publish(
                exchange,
                routing_key,
                body,
                pika.BasicProperties(
                    delivery_mode=2, message_id=f"mes-{index}", content_type="application/json"
                ),
                mandatory=True,
            )
    finally:
        connection.close()


__all__ = [
    "AMQP_URL",
    "CASES",
    "MAPPINGS",
    "MesTap",
    "bridge_topology",
    "browse",
    "ingest",
    "make_settings",
    "names_for",
    "publish_as_the_mes",
    "queue_depth",
    "running",
    "sink_lines",
    "unique_prefix",
    "wait_for",
]
