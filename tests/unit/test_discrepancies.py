"""The ledger keeps what reconciliation found: opened once, refreshed while it stays, resolved
when a run no longer finds it, opened again when it comes back; resolved by hand with who and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.errors import ConfigError
from bridge.ledger import Ledger
from bridge.ledger.discrepancies import Found

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def gap(order: str, delta: str = "-2", kind: str = "quantity_mismatch") -> Found:
    return Found(kind, {"order_id": order, "operation_id": "0010"}, "yield", "30", str(30 + int(delta)), delta, "PCS",
                 ("mes:WR-1", "SCHB0001"))


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    ledger = Ledger.connect("sqlite://")
    yield ledger
    ledger.close()


def test_a_run_opens_a_later_run_refreshes_and_resolves_what_is_gone(ledger: Ledger) -> None:
    store = ledger.discrepancies
    first = store.record_run("quantities", [gap("MO1-1"), gap("MO2-1")], at=T0)
    assert (first.opened, first.still_open, first.resolved) == (2, 0, 0)
    second = store.record_run("quantities", [gap("MO1-1", "-3")], at=T0 + timedelta(hours=1))
    assert (second.opened, second.still_open, second.resolved) == (0, 1, 1)
    [still] = store.list(job="quantities")
    assert (still.key, still.delta, still.first_seen, still.last_seen) == (
        {"order_id": "MO1-1", "operation_id": "0010"}, "-3", T0, T0 + timedelta(hours=1))
    [gone] = store.list(job="quantities", status="resolved")
    assert (gone.key["order_id"], gone.resolved_by) == ("MO2-1", "reconcile run")
    back = store.record_run("quantities", [gap("MO1-1", "-3"), gap("MO2-1")], at=T0 + timedelta(hours=2))
    assert (back.reopened, back.still_open) == (1, 1)
    assert len(store.list(job="quantities")) == 2


def test_another_jobs_run_leaves_this_jobs_discrepancies_alone(ledger: Ledger) -> None:
    ledger.discrepancies.record_run("quantities", [gap("MO1-1")], at=T0)
    ledger.discrepancies.record_run("orders", [], at=T0 + timedelta(hours=1))
    assert len(ledger.discrepancies.list(job="quantities")) == 1


def test_a_kind_and_a_field_tell_two_gaps_of_one_key_apart(ledger: Ledger) -> None:
    result = ledger.discrepancies.record_run("quantities", [gap("MO1-1"), gap("MO1-1", kind="stale")], at=T0)
    assert result.opened == 2


def test_a_discrepancy_is_resolved_by_hand_once_with_who_and_why(ledger: Ledger) -> None:
    ledger.discrepancies.record_run("quantities", [gap("MO1-1")], at=T0)
    [open_one] = ledger.discrepancies.list()
    with pytest.raises(ConfigError, match="reason"):
        ledger.discrepancies.resolve(open_one.id, by="planner", reason=" ")
    done = ledger.discrepancies.resolve(open_one.id, by="planner", reason="scrap booked by hand in the ERP", at=T0)
    assert (done.status, done.resolved_by, done.reason) == ("resolved", "planner", "scrap booked by hand in the ERP")
    with pytest.raises(ConfigError, match="resolved already"):
        ledger.discrepancies.resolve(open_one.id, by="planner", reason="again")
    with pytest.raises(ConfigError, match="no discrepancy 999"):
        ledger.discrepancies.resolve(999, by="planner", reason="x")


def test_many_discrepancies_are_recorded_in_batches(ledger: Ledger) -> None:
    result = ledger.discrepancies.record_run("quantities", (gap(f"MO{n}-1") for n in range(1200)), at=T0)
    assert result.opened == 1200
    assert len(ledger.discrepancies.list(limit=5000)) == 1200


def test_the_cli_lists_and_resolves_with_an_audit_record(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bridge.cli import main

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("BRIDGE_DATABASE_URL", url)
    ledger = Ledger.connect(url)
    ledger.discrepancies.record_run("quantities", [gap("MO1-1")], at=T0)
    ledger.close()
    runner = CliRunner()
    listed = runner.invoke(main, ["reconcile", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert (row["kind"], row["order_id"], row["delta"], row["unit"], row["status"]) == (
        "quantity_mismatch", "MO1-1", "-2", "PCS", "open")
    refused = runner.invoke(main, ["reconcile", "resolve", str(row["id"]), "--reason", " ", "--by", "planner"])
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    done = runner.invoke(main, ["reconcile", "resolve", str(row["id"]), "--reason", "booked by hand", "--by", "planner"])
    assert done.exit_code == 0, done.output
    assert "resolved by planner: booked by hand" in done.output
    table = runner.invoke(main, ["reconcile", "list", "--status", "resolved"])
    assert "MO1-1/0010" in table.output
