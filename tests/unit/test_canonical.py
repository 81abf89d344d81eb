"""The canonical model: field names are a contract, decimals are strings, schemas export."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bridge.canonical import OrderEnvelope, parse_envelope
from bridge.canonical.schema_export import export_schemas
from bridge.codecs import codec_for
from bridge.mapping import MappingCatalog

from ..conftest import MAPPINGS

ORDER = {
    "schema": "bridge.canonical/v1",
    "message_id": "sap:S4HCLNT100:0000000000430094:order",
    "entity": "order",
    "event": "released",
    "source": {"system": "sap", "instance": "S4HCLNT100", "document_type": "LOIPRO05", "document_id": "1"},
    "version": "20231128083400705437",
    "occurred_at": "2023-11-28T09:34:05+08:00",
    "correlation_id": "c-1",
    "payload": {
        "order_id": "1895938",
        "site": "HZ001",
        "material_id": "M",
        "quantity": {"value": "-2.000", "unit": "EA"},
        "status": "released",
        "operations": [{"operation_id": "0010"}],
        "components": [{"material_id": "C", "quantity": {"value": "1E+2", "unit": "EA"}}],
    },
}


def test_quantities_serialise_as_normalised_decimal_strings():
    dumped = parse_envelope(ORDER).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["payload"]["quantity"] == {"value": "-2", "unit": "EA"}
    assert dumped["payload"]["components"][0]["quantity"]["value"] == "100"
    assert dumped["occurred_at"] == "2023-11-28T09:34:05+08:00"


def test_floats_are_refused_as_quantities():
    bad = json.loads(json.dumps(ORDER))
    bad["payload"]["quantity"]["value"] = 1.5
    with pytest.raises(ValidationError, match="not a float"):
        parse_envelope(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"event": "shipped"}, "event", id="unknown event for the entity"),
        pytest.param({"occurred_at": "2023-11-28T09:34:05"}, "timezone", id="time without offset"),
        pytest.param({"entity": "invoice"}, "entity", id="unknown entity"),
    ],
)
def test_envelope_contract_is_enforced(change, message):
    with pytest.raises(ValidationError, match=message):
        parse_envelope({**ORDER, **change})


def test_unknown_payload_fields_are_errors_so_mapping_typos_surface():
    bad = json.loads(json.dumps(ORDER))
    bad["payload"]["order_idd"] = "x"
    with pytest.raises(ValidationError, match="order_idd"):
        parse_envelope(bad)


def test_contract_field_names_are_present():
    order = OrderEnvelope.model_json_schema(by_alias=True, mode="serialization")
    payload = order["$defs"]["Order"]["properties"]
    for name in (
        "order_id",
        "order_type",
        "site",
        "material_id",
        "quantity",
        "planned_start",
        "planned_end",
        "status",
        "operations",
        "components",
    ):
        assert name in payload


def test_schema_export_writes_one_file_per_entity(tmp_path):
    written = export_schemas(tmp_path)
    assert sorted(p.name for p in written) == [
        "lot.schema.json",
        "material.schema.json",
        "order.schema.json",
        "report.schema.json",
    ]
    report = json.loads((tmp_path / "report.schema.json").read_text())
    assert report["properties"]["entity"]["const"] == "report"
    assert report["$defs"]["Quantity"]["properties"]["value"]["type"] == "string"


@pytest.mark.parametrize(
    "sample",
    ["LOIPRO05_S4HANA_Original.xml", "MATMAS05_3PL_material_master.xml", "BATMAS03_example.xml"],
)
def test_the_wire_json_is_the_json_form_dumped_compactly(sample):
    """Translate sends pydantic's own JSON: the same bytes as json.dumps of the JSON form."""
    catalog = MappingCatalog.load(MAPPINGS)
    [document] = codec_for("sap").decode((MAPPINGS / "sap" / "cases" / sample).read_bytes(), origin=sample)
    [mapping] = catalog.for_document(document.system, document.document_type, document.extension)
    [model] = mapping.apply_models(document)
    wire = model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)
    form = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert wire == json.dumps(form, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
