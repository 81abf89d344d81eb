"""Integration fixtures: real services, which must be there in CI and may be absent locally.

When a service cannot be reached the test FAILS if the environment variable ``CI`` is ``true``
(a green CI run must mean the integration tests ran) and is skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pika
import pika.exceptions
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true: integration services are required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL (env ``BRIDGE_TEST_DATABASE_URL``, default the local test db)."""
    url = os.environ.get("BRIDGE_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
    except (SQLAlchemyError, ImportError) as exc:
        unavailable(f"PostgreSQL URL {url!r} is unusable: {exc}")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        unavailable(f"PostgreSQL at {engine.url.render_as_string()} is unreachable: {_first_line(exc)}")
    finally:
        engine.dispose()
    return url


def _first_line(exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip()
    return detail.splitlines()[0] if detail else type(exc).__name__


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """URL of a reachable RabbitMQ (env ``BRIDGE_TEST_AMQP_URL``, default guest on localhost)."""
    url = os.environ.get("BRIDGE_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        unavailable(f"AMQP URL is unusable: {exc}")
    params.connection_attempts = 1
    params.socket_timeout = 3
    try:
        pika.BlockingConnection(params).close()
    except pika.exceptions.AMQPError as exc:
        unavailable(f"RabbitMQ at {params.host}:{params.port} is unreachable: {exc!r}")
    return url


@pytest.fixture
def rabbitmq(amqp_url: str) -> str:
    """The broker URL, for tests that need RabbitMQ (fails in CI, skips locally when absent)."""
    return amqp_url


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A throw-away schema ``bridge_<uuid>`` on the test PostgreSQL: (url, schema), dropped afterwards."""
    schema = f"bridge_{uuid.uuid4().hex[:10]}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url, schema
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
