"""The bridge end to end on the real RabbitMQ: ingest -> translate -> deliver."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bridge.broker.messages import Headers
from bridge.runtime import topology_for

from .harness import (
    CASES,
    MesTap,
    bridge_topology,
    browse,
    ingest,
    make_settings,
    running,
    sink_lines,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def tap_for(rabbitmq):
    taps = []

    def make(settings):
        tap = MesTap(settings)
        tap.declare()
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        tap.delete()


# direct: translate hands events to deliver in-process (the default when both run in one
# process); queued: every event crosses the canonical exchange and the route's queue.
DELIVERY_PATHS = pytest.mark.parametrize("direct", [True, False], ids=["direct", "queued"])


@DELIVERY_PATHS
def test_an_idoc_file_becomes_a_canonical_event_on_mes_events(tmp_path, tap_for, direct):
    settings = make_settings(tmp_path, direct_delivery=direct)
    with bridge_topology(settings):
        tap = tap_for(settings)
        with running(settings):
            [raw_id] = ingest(settings, [CASES / "LOIPRO05_S4HANA_Original.xml"])
            [(props, envelope, routing_key)] = wait_for(tap.drain)
    assert raw_id.startswith("sap:S4HCLNT100:0000000000430094:")
    assert routing_key == "order.released"
    assert props.message_id == "sap:S4HCLNT100:0000000000430094:order"
    assert props.correlation_id == "sap:S4HCLNT100:0000000000430094"
    assert props.type == "order.released"
    assert props.delivery_mode == 2
    assert envelope["payload"]["order_id"] == "1895938"
    assert envelope["payload"]["operations"][0]["work_center"] == "D2O_ASSY"
    lines = wait_for(lambda: sink_lines(tmp_path / "sink.jsonl"))
    assert [line["message_id"] for line in lines] == ["sap:S4HCLNT100:0000000000430094:order"]


def test_flat_and_xml_idocs_both_reach_the_mes(tmp_path, tap_for):
    settings = make_settings(tmp_path)
    with bridge_topology(settings):
        tap = tap_for(settings)
        with running(settings):
            ingest(settings, [CASES / "MATMAS05_3PL_material_master.idoc", CASES / "BATMAS03_example.xml"])
            got: list = []
            wait_for(lambda: got.extend(tap.drain()) or len(got) >= 2, timeout=30)
    assert sorted(rk for _, _, rk in got) == ["lot.changed", "material.upserted"]


def test_duplicates_and_stale_versions_are_skipped(tmp_path, tap_for):
    settings = make_settings(tmp_path)
    newer = CASES / "LOIPRO05_S4HANA_Original.xml"
    older = tmp_path / "older.xml"
    older.write_bytes(
        newer.read_bytes()
        .replace(b"<DOCNUM>0000000000430094</DOCNUM>", b"<DOCNUM>0000000000430001</DOCNUM>")
        .replace(b"<SERIAL>20231128083400705437</SERIAL>", b"<SERIAL>20231101000000000000</SERIAL>")
    )
    with bridge_topology(settings):
        tap = tap_for(settings)
        with running(settings) as runtime:
            ingest(settings, [newer])
            wait_for(lambda: sink_lines(tmp_path / "sink.jsonl"))
            ingest(settings, [newer])  # re-ingested: the same raw id
            ingest(settings, [older])  # an older version of the same order
            wait_for(lambda: runtime.ledger.journal("sap:S4HCLNT100:0000000000430001:order"), timeout=20)
            wait_for(
                lambda: any(
                    e.status == "stale"
                    for e in runtime.ledger.journal("sap:S4HCLNT100:0000000000430001:order")
                )
            )
            got = tap.drain()
    assert [props.message_id for props, _, _ in got] == ["sap:S4HCLNT100:0000000000430094:order"]
    assert [line["message_id"] for line in sink_lines(tmp_path / "sink.jsonl")] == [
        "sap:S4HCLNT100:0000000000430094:order"
    ]


@DELIVERY_PATHS
def test_a_transient_sink_failure_is_retried_and_then_succeeds(tmp_path, tap_for, direct):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the sink wants a folder")  # the sink cannot create out/sink.jsonl
    settings = make_settings(tmp_path, direct_delivery=direct)
    settings = settings.model_copy(
        update={"routes": (settings.routes[1].model_copy(update={"path": blocker / "sink.jsonl"}),)}
    )
    names_queue = f"{settings.broker.prefix}.deliver.files"
    with bridge_topology(settings), running(settings):
        ingest(settings, [CASES / "MATMAS05_DMC_S1SP02677_finished.xml"])
        # in-process retries fail, so the event waits in the first retry queue (1 s) and comes back
        wait_for(
            lambda: browse(f"{names_queue}.retry.1s") or browse(f"{names_queue}.retry.2s"),
            timeout=15,
            interval=0.05,
        )
        blocker.unlink()
        lines = wait_for(lambda: sink_lines(blocker / "sink.jsonl"), timeout=20)
        assert browse(f"{names_queue}.dlq") == []
    assert [line["payload"]["material_id"] for line in lines] == ["S1SP02677"]


def test_a_mapping_error_is_dead_lettered_with_its_story_in_the_headers(tmp_path, tap_for):
    settings = make_settings(tmp_path)
    with bridge_topology(settings), running(settings):
        ingest(settings, [CASES / "LOIPRO05_bad_quantity.xml"])
        dlq = f"{settings.broker.prefix}.translate.dlq"
        [(props, body)] = wait_for(lambda: browse(dlq), timeout=20)
    headers = props.headers
    assert props.message_id.startswith("sap:AX2012 Manu:0000000000007699:")
    assert props.correlation_id == "sap:AX2012 Manu:0000000000007699"
    assert headers[Headers.STAGE] == "translate"
    assert headers[Headers.ERROR_CLASS] == "MappingError"
    assert "value '2,00'" in headers[Headers.ERROR_MESSAGE]
    assert headers[Headers.MAPPING].startswith("sap.loipro.order")
    assert headers[Headers.FIELD] == "quantity.value"
    assert headers[Headers.ATTEMPTS] == 1
    assert headers[Headers.ORIGINAL_EXCHANGE] == f"{settings.broker.prefix}.inbound"
    assert headers[Headers.ORIGINAL_ROUTING_KEY] == "sap.LOIPRO05"
    assert headers[Headers.FIRST_FAILURE]
    assert headers[Headers.LAST_FAILURE]
    assert headers[Headers.SOURCE_SYSTEM] == "sap"
    assert headers[Headers.DOCUMENT_ID] == "0000000000007699"
    assert body == (CASES / "LOIPRO05_bad_quantity.xml").read_bytes()


def test_a_dead_letter_is_replayed_after_the_mapping_is_fixed(tmp_path, tap_for):
    from bridge.broker import dlq as dead_letters
    from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

    mappings = tmp_path / "mappings"
    shutil.copytree(Path(CASES).parents[1], mappings)
    mapping_file = mappings / "sap" / "matmas_material.yaml"
    original = mapping_file.read_text()
    # a "mistake" an integrator might make: the unit table has no EA and the lookup is strict
    mapping_file.write_text(
        original.replace(
            "{path: E1MARAM.MEINS, lookup: sap_units, on_missing: pass, required: true}",
            "{path: E1MARAM.MEINS, lookup: sap_units, required: true}",
        )
    )
    settings = make_settings(tmp_path).model_copy(update={"mappings_dir": mappings})
    with bridge_topology(settings):
        tap = tap_for(settings)
        with running(settings):
            ingest(settings, [CASES / "MATMAS05_DMC_S1SP02677_finished.xml"])
            wait_for(lambda: browse(f"{settings.broker.prefix}.translate.dlq"), timeout=20)
        mapping_file.write_text(original)  # the fix
        with running(settings):
            with RabbitDeadLetterStore(settings.amqp_url) as store:
                queues = dead_letters.dead_letter_queues(topology_for(settings))
                replayed = dead_letters.replay(store, queues, dead_letters.DeadLetterFilter(), by="test")
            assert len(replayed) == 1
            [(props, envelope, routing_key)] = wait_for(tap.drain, timeout=20)
            assert browse(f"{settings.broker.prefix}.translate.dlq") == []
    assert routing_key == "material.upserted"
    assert envelope["payload"]["base_unit"] == "EA"
    assert replayed[0].id.startswith("sap:file:")  # no DOCNUM: the raw id is the content hash
    assert props.message_id.endswith(":material")
