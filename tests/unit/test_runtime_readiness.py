"""``/readyz`` of ``bridge run --workers N``: the parent checks the broker, the ledger database and
its children, with the same redacted 503 body as a single process (issue 7, section 5).

Before, the parent only checked that its children were alive: a broker or database that every
worker had lost still answered 200.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import Settings
from bridge.errors import TransientError
from bridge.observability.http import HealthServer
from bridge.runtime import broker_check
from bridge.supervisor import ParentReadiness, children_check

SECRET = "s3cret-pw"


class Child:
    """A worker process stand-in: ``poll()`` is None while it runs."""

    def __init__(self, pid: int, code: int | None = None) -> None:
        self.pid = pid
        self.code = code

    def poll(self) -> int | None:
        return self.code


class Connection:
    """An AmqpConnection stand-in."""

    def __init__(self, connected: bool, last_error: str | None = None) -> None:
        self.connected = connected
        self.last_error = last_error


def database(error: str | None) -> Callable[[], None]:
    def ping() -> None:
        if error is not None:
            raise TransientError(error)

    return ping


def readyz(checks: dict[str, Callable[[], object]]) -> tuple[int, dict[str, Any], str]:
    with HealthServer("127.0.0.1", 0, checks, check_timeout=2.0) as server:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/readyz", timeout=5) as response:
                body = response.read().decode()
                return response.status, json.loads(body), body
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
            return exc.code, json.loads(body), body


def parent_checks(connection: Connection, ping: Callable[[], None], children: list[Child]) -> dict[str, Callable[[], object]]:
    return {
        "broker": broker_check(connection),  # type: ignore[arg-type]
        "database": ping,
        "workers": children_check(children),  # type: ignore[arg-type]
    }


@pytest.mark.parametrize(
    ("connection", "db_error", "children", "failing"),
    [
        pytest.param(Connection(True), None, [Child(11), Child(12)], {}, id="all-ready"),
        pytest.param(
            Connection(False, "Connection refused"),
            None,
            [Child(11), Child(12)],
            {"broker": "ConnectionError: Connection refused"},
            id="issue-broker-down-children-alive",
        ),
        pytest.param(
            Connection(True),
            f"ledger: ping: database unavailable (connection to postgresql://bridge:{SECRET}@db:5432/bridge refused)",
            [Child(11), Child(12)],
            {"database": "TransientError: ledger: ping: database unavailable (connection to postgresql://bridge:***@db:5432/bridge refused)"},
            id="issue-database-down-children-alive",
        ),
        pytest.param(
            Connection(True),
            None,
            [Child(11), Child(12, code=-9)],
            {"workers": "RuntimeError: worker process(es) [12] exited"},
            id="a-child-exited",
        ),
    ],
)
def test_the_parent_checks_broker_database_and_children_with_a_redacted_503(
    connection: Connection, db_error: str | None, children: list[Child], failing: dict[str, str]
) -> None:
    status, body, text = readyz(parent_checks(connection, database(db_error), children))
    expected = {"broker": "ok", "database": "ok", "workers": "ok"} | failing
    assert body == {"status": "unavailable" if failing else "ready", "checks": expected}
    assert status == (503 if failing else 200)
    assert SECRET not in text


def test_the_parents_body_has_the_single_process_shape_plus_its_workers() -> None:
    single = readyz({"broker": broker_check(Connection(False, "lost")), "database": database(None)})  # type: ignore[arg-type]
    parent = readyz(parent_checks(Connection(False, "lost"), database(None), [Child(11)]))
    assert single[0] == parent[0] == 503
    assert parent[1]["checks"] == single[1]["checks"] | {"workers": "ok"}
    assert parent[1]["status"] == single[1]["status"]


@settings(max_examples=100, deadline=None)
@given(
    broker_up=st.booleans(),
    db_error=st.one_of(st.none(), st.text(min_size=1, max_size=30)),
    exited=st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_ready_exactly_when_broker_database_and_every_child_are_and_no_secret_shows(
    broker_up: bool, db_error: str | None, exited: list[bool]
) -> None:
    children = [Child(100 + n, -9 if dead else None) for n, dead in enumerate(exited)]
    error = None if db_error is None else f"{db_error} postgresql://bridge:{SECRET}@db/bridge"
    connection = Connection(broker_up, None if broker_up else f"amqp://bridge:{SECRET}@mq:5672 refused")
    ok, checks = HealthServer("127.0.0.1", 0, parent_checks(connection, database(error), children)).ready()
    assert ok is (broker_up and db_error is None and not any(exited))
    assert set(checks) == {"broker", "database", "workers"}
    assert (checks["broker"] == "ok") is broker_up
    assert (checks["database"] == "ok") is (db_error is None)
    assert (checks["workers"] == "ok") is not any(exited)
    assert SECRET not in json.dumps(checks)


def test_the_parent_opens_its_own_broker_connection_and_ledger_handle(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "amqp_url": f"amqp://bridge:{SECRET}@127.0.0.1:1/%2F",  # nothing listens there
            "database_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
            "broker": {"reconnect_max_wait_s": 1},
        }
    )
    readiness = ParentReadiness(settings, [Child(11)])  # type: ignore[list-item]
    try:
        status, body, text = readyz(readiness.start())
    finally:
        readiness.close()
    assert status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["workers"] == "ok"
    assert body["checks"]["broker"].startswith("ConnectionError: ")
    assert SECRET not in text
