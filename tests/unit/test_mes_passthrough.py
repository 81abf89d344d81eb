"""Canonical pass-through outside the broker: ``bridge translate`` validates an envelope the MES
codec read and passes it on, and names every invalid field, as the translate stage does."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from adapters.mes.codec import MesCodec
from bridge.cli import main
from bridge.errors import ConfigError, ValidationError
from bridge.translate import Translator

from ..conftest import DATA, MAPPINGS

MES = DATA / "mes"



@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.create(mappings_dir=MAPPINGS, source_system="mes")


def test_offline_translation_passes_an_envelope_through(translator: Translator):
    data = (MES / "feedback_batch.json").read_bytes()
    envelopes = [e for d in translator.decode(data, "batch.json") for e in translator.map_document(d)]
    assert [e["source"]["document_type"] for e in envelopes] == ["work_report", "work-report"]
    sent = json.loads(data)[0]
    # as sent, in its canonical form: the model's defaults filled in, nothing else changed
    sent["payload"].update(final=False, produced=[], consumed=[])
    assert envelopes[0] == sent
    assert envelopes[1]["payload"]["yield_quantity"] == {"value": "12.25", "unit": "ST"}


def test_offline_translation_names_every_invalid_field(translator: Translator):
    [document] = translator.decode((MES / "report_invalid.json").read_bytes(), "report_invalid.json")
    with pytest.raises(ValidationError) as caught:
        translator.map_document(document)
    message = str(caught.value)
    assert message.startswith("report_invalid.json message_id mes:MES-PLANT1:WR-20240115-0099:report: ")
    assert "payload.order_id: required" in message
    assert "payload.yield_quantity.value: a quantity must be a decimal string, not a float (precision) (got 12.5)" in message


def test_an_envelope_without_an_entity_is_named():
    [document] = MesCodec().decode(b'{"schema": "bridge.canonical/v1", "message_id": "x"}', origin="e.json")
    translator = Translator.create(mappings_dir=MAPPINGS, source_system="mes")
    with pytest.raises(ValidationError, match="entity: missing"):
        translator.map_document(document)


def test_a_codec_for_an_unknown_system_is_still_a_config_error():
    with pytest.raises(ConfigError, match="known: kingdee, mes, sap, yonyou"):
        Translator.create(mappings_dir=MAPPINGS, source_system="nosuch")


def test_bridge_translate_names_every_invalid_field_of_an_envelope_file():
    result = CliRunner().invoke(main, ["translate", "--mappings", str(MAPPINGS), str(MES / "report_invalid.json")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        "report_invalid.json: not a valid canonical report: payload.order_id: required; "
        "payload.yield_quantity.value: a quantity must be a decimal string, not a float (precision) (got 12.5); "
        "payload.shift: not a field of the canonical model"
    ) in result.output


def test_bridge_translate_maps_a_work_report_file_found_by_its_shape():
    result = CliRunner().invoke(
        main, ["translate", "--mappings", str(MAPPINGS), str(MAPPINGS / "mes" / "cases" / "work_report_final.json")]
    )
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert json.loads(line)["payload"]["consumed"][0]["lot_id"] == "B-4711"
