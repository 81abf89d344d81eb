"""The Kingdee and Yonyou loops end to end on the real RabbitMQ, against their simulators.

An order in the ERP -> an Order on the MES exchange, a changed one -> one more event; MES
reports on mes.feedback -> the ERP's bills (report, stock-in, pick), each exactly once and
audited, the order's stocked-in quantity moved exactly once, even when the ERP fails every other
call, loses replies after committing and the bridge is SIGKILLed midway.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from bridge.runtime import Runtime, names_for
from bridge.simulation.faults import FaultSettings

from .erp_loops import LOOPS, settings_for
from .harness import MesTap, bridge_topology, browse, publish_as_the_mes, wait_for, write_config
from .test_fault_tolerance import start_bridge, stop_bridge

pytestmark = pytest.mark.integration

#: per system: an order to add (number, status whose event is `changed`), and its order id
ADDED = {"kingdee": ("MO777001", "2", "MO777001-1"), "yonyou": ("SCDD777001", "0", "SCDD777001-10")}


@pytest.fixture(params=sorted(LOOPS))
def system(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def bridge(settings: Any) -> Iterator[Runtime]:
    runtime = Runtime(settings, roles=("ingest", "translate", "deliver"))
    runtime.start(serve_http=True, connect_wait=10)
    try:
        yield runtime
    finally:
        runtime.stop(timeout=20)


def publish_reports(settings: Any, reports: list[dict[str, Any]]) -> None:
    publish_as_the_mes(names_for(settings).feedback_exchange,
                       [("report." + r["event"], json.dumps(r).encode()) for r in reports])


def test_an_erp_order_reaches_the_mes_a_change_gives_one_event_and_a_report_posts(
    rabbitmq: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, system: str,
) -> None:
    loop = LOOPS[system].start(orders=1)
    for name, value in loop.env().items():
        monkeypatch.setenv(name, value)
    try:
        settings = settings_for(tmp_path, system, loop.source(), loop.route())
        with bridge_topology(settings):
            tap = MesTap(settings)
            tap.declare()
            try:
                with bridge(settings):
                    first: list[dict[str, Any]] = []
                    expected = sorted([*loop.seeded, *loop.order_ids(1)])
                    wait_for(lambda: first.extend(e for _, e, k in tap.drain() if k.startswith("order.")) or
                             len(first) >= len(expected), timeout=30)
                    assert sorted(e["payload"]["order_id"] for e in first) == expected
                    assert {e["event"] for e in first} == {"released"}
                    number, status, order_id = ADDED[system]
                    loop.add_order(number, status)
                    [added] = wait_for(lambda: [e for _, e, k in tap.drain() if k.startswith("order.")], timeout=30)
                    assert (added["payload"]["order_id"], added["event"]) == (order_id, "changed")
                    loop.change_order(number, 25)
                    [changed] = wait_for(lambda: [e for _, e, k in tap.drain() if k.startswith("order.")], timeout=30)
                    assert (changed["payload"]["order_id"], changed["event"]) == (order_id, "changed")
                    assert Decimal(changed["payload"]["quantity"]["value"]) == 25
                    time.sleep(2)  # more polls, past the overlap: nothing comes twice
                    assert [k for _, _, k in tap.drain() if k.startswith("order.")] == []
                    publish_reports(settings, [loop.report("RPT-E2E-1", loop.order_ids(1)[0])])
                    wait_for(lambda: len(loop.posted()) == 3, timeout=30)
            finally:
                tap.delete()
    finally:
        loop.stop()
    assert set(loop.posted().values()) == {1}
    assert loop.stocked_in(loop.order_ids(1)[0]) == Decimal("30")


def test_with_every_other_call_failing_lost_replies_and_a_sigkill_each_report_posts_exactly_once(
    rabbitmq: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, system: str,
) -> None:
    orders = 6
    loop = LOOPS[system].start(orders=orders, faults=FaultSettings(fail_rate=0.5, lose_reply_rate=0.3, seed=11))
    for name, value in loop.env().items():
        monkeypatch.setenv(name, value)
    try:
        settings = settings_for(tmp_path, system, loop.connection(), loop.route(in_flight=8),  # no poller: reports only
                                tiers=tuple(f"{n}s" for n in range(1, 13)), attempts=8)
        config = write_config(settings, tmp_path / "bridge.yaml")
        ids = loop.order_ids(orders)
        reports = [loop.report(f"RPT-K-{n:03d}", ids[n % orders]) for n in range(12)]
        with bridge_topology(settings):
            publish_reports(settings, reports)
            first = start_bridge(config, tmp_path / "bridge-1.log", "--no-http")
            try:
                wait_for(lambda: len(loop.all_bills()) >= 6, timeout=120, interval=0.05)
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            finally:
                if first.poll() is None:
                    first.kill()
            assert len(loop.posted()) < 3 * len(reports), "everything posted before the kill: publish more reports"
            second = start_bridge(config, tmp_path / "bridge-2.log", "--no-http")
            try:
                wait_for(lambda: len(loop.posted()) >= 3 * len(reports), timeout=300, interval=0.2)
                time.sleep(2)  # anything still in flight would post now
            finally:
                assert stop_bridge(second) == 0, (tmp_path / "bridge-2.log").read_text()[-3000:]
    finally:
        loop.stop()
    bills = loop.all_bills()
    assert set(bills.values()) == {1}, [k for k, v in bills.items() if v > 1]
    assert {key for _, key in bills} == {f"MES:{r['payload']['report_id']}" for r in reports}
    for order_id in ids:  # each report's stock-in moved its order exactly once
        assert loop.stocked_in(order_id) == Decimal("30") * sum(r["payload"]["order_id"] == order_id for r in reports)
    log = (tmp_path / "bridge-1.log").read_text() + (tmp_path / "bridge-2.log").read_text()
    assert "dead-lettered" not in log
    for name, secret in loop.env().items():
        if "SECRET" in name or "TOKEN" in name:  # an app key or user names the bridge, like a login
            assert secret not in log, name


def test_a_business_error_is_a_dead_letter_carrying_the_erps_own_words(
    rabbitmq: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, system: str,
) -> None:
    loop = LOOPS[system].start()
    for name, value in loop.env().items():
        monkeypatch.setenv(name, value)
    try:
        settings = settings_for(tmp_path, system, loop.connection(), loop.route())
        names = names_for(settings)
        bad = loop.report("RPT-BAD-1", loop.seeded[0])
        bad["payload"]["produced"][0]["material_id"] = "NO-SUCH-MATERIAL"
        with bridge_topology(settings), bridge(settings):
            publish_reports(settings, [bad])
            dead = wait_for(lambda: browse(names.dead_letter_queue(names.deliver_queue(system))), timeout=30)
    finally:
        loop.stop()
    [(props, body)] = dead
    message = props.headers["x-bridge-error-message"]
    assert "NO-SUCH-MATERIAL" in message, message
    assert json.loads(body)["payload"]["report_id"] == "RPT-BAD-1"
    assert len(loop.all_bills()) == 0
