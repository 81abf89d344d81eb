"""Nothing bound to the MES exchange on the real broker: each event is retried and dead-lettered
naming its own event, and the route warns once (issue 7, section 5)."""

from __future__ import annotations

import logging

import pytest

from bridge.broker.messages import Headers

from .harness import CASES, bridge_topology, browse, ingest, make_settings, running, wait_for

pytestmark = pytest.mark.integration

SAMPLES = {
    "LOIPRO05_S4HANA_Original.xml": "order.released",
    "BATMAS03_example.xml": "lot.changed",
    "MATMAS05_DMC_R1CH01007_raw.xml": "material.upserted",
}


def test_with_no_queue_bound_to_the_mes_exchange_each_event_names_itself_and_the_route_warns_once(
    rabbitmq, tmp_path, caplog
):
    settings = make_settings(tmp_path).model_copy(
        update={"routes": make_settings(tmp_path).routes[:1]}  # the mes route only, and no MES tap
    )
    exchange = settings.broker.mes_exchange
    dead_letters = f"{settings.broker.prefix}.deliver.mes.dlq"
    with caplog.at_level(logging.DEBUG, logger="bridge"), bridge_topology(settings), running(settings):
        ingest(settings, [CASES / name for name in SAMPLES])
        letters = wait_for(lambda: len(browse(dead_letters)) == 3 and browse(dead_letters), timeout=60)

    reasons = {
        f"{props.headers[Headers.ENTITY]}.{props.headers[Headers.EVENT]}": props.headers[Headers.ERROR_MESSAGE]
        for props, _body in letters
    }
    assert reasons == {
        event: f"retries exhausted after 2 delayed attempt(s): unroutable: no queue is bound for {exchange}/{event} (NO_ROUTE)"
        for event in SAMPLES.values()
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("bridge")]
    [warning] = warnings
    assert warning.startswith("route mes: unroutable: no queue is bound for ")
    for event in SAMPLES.values():
        assert f"{exchange}/{event}" in warning
    assert sum(r.getMessage().startswith("will retry: unroutable") for r in caplog.records) == 6  # at DEBUG
