"""The mapping language: what each construct produces and how mistakes are reported."""

from __future__ import annotations

import pytest

from bridge.errors import MappingDefinitionError, MappingError, ValidationError
from bridge.mapping.lookups import LookupTable

from .mapping_helpers import HEADER, compile_yaml, document

TREE = {
    "EDI_DC40": [{"DOCNUM": "0000000000000042", "CREDAT": "20231128", "CRETIM": "093405"}],
    "E1AFKOL": [
        {
            "AUFNR": "000001895938",
            "WERKS": "HZ01",
            "MATNR": "000000000000004711",
            "GAMNG": "12.500",
            "GMEIN": "ST",
            "GSTRS": "20231204",
            "GSUZS": "164653",
            "E1JSTKL": [{"STAT": "I0001"}, {"STAT": "I0002"}],
            "E1AFFLL": [
                {
                    "E1AFVOL": [
                        {
                            "VORNR": "0010",
                            "ARBPL": "WC1",
                            "E1RESBL": [{"MATNR": "A", "BDMNG": "1", "MEINS": "ST"}],
                        },
                        {
                            "VORNR": "0020",
                            "E1RESBL": [
                                {"MATNR": "B", "BDMNG": "2", "MEINS": "KG"},
                                {"MATNR": "C", "BDMNG": "3", "MEINS": "KG", "XLOEK": "X"},
                            ],
                        },
                    ]
                }
            ],
        }
    ],
}

BASE_FIELDS = """\
fields:
  order_id: {path: E1AFKOL.AUFNR, transform: alpha}
  site: {path: E1AFKOL.WERKS}
  material_id: {first_of: [E1AFKOL.MATNR_LONG, E1AFKOL.MATNR], transform: alpha}
  quantity:
    fields:
      value: {path: E1AFKOL.GAMNG, transform: decimal}
      unit: {path: E1AFKOL.GMEIN, lookup: units, on_missing: pass}
  status: {value: released}
"""

UNITS = {"units": LookupTable("units", {"ST": "C62", "KG": "KGM"})}


def compile_order(tmp_path, extra: str = "", fields: str = BASE_FIELDS):
    return compile_yaml(tmp_path, HEADER + fields + extra, UNITS)


def test_paths_transforms_and_lookups_build_the_payload(tmp_path):
    mapping = compile_order(tmp_path)
    [(event, payload)] = mapping.map_document(document(TREE))
    assert event == "released"
    assert payload == {
        "order_id": "1895938",
        "site": "HZ01",
        "material_id": "4711",
        "quantity": {"value": "12.5", "unit": "C62"},
        "status": "released",
    }


def test_foreach_reaches_children_of_each_element_and_their_parents(tmp_path):
    extra = """\
  components:
    foreach: E1AFKOL.E1AFFLL.E1AFVOL.E1RESBL
    filter: {path: XLOEK, not_equals: X}
    fields:
      material_id: {path: MATNR}
      operation_id: {path: $parent.VORNR}
      item_no: {path: $index}
      quantity: {fields: {value: {path: BDMNG, transform: decimal}, unit: {path: MEINS}}}
  operations:
    foreach: E1AFKOL.E1AFFLL.E1AFVOL
    fields:
      operation_id: {path: VORNR}
      work_center: {path: ARBPL}
      site: {path: $root.E1AFKOL.WERKS}
"""
    mapping = compile_order(tmp_path, extra)
    [(_, payload)] = mapping.map_document(document(TREE))
    assert payload["components"] == [
        {"material_id": "A", "operation_id": "0010", "item_no": 1, "quantity": {"value": "1", "unit": "ST"}},
        {"material_id": "B", "operation_id": "0020", "item_no": 2, "quantity": {"value": "2", "unit": "KG"}},
    ]
    assert payload["operations"] == [
        {"operation_id": "0010", "work_center": "WC1", "site": "HZ01"},
        {"operation_id": "0020", "site": "HZ01"},
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        pytest.param(
            "{path: E1AFKOL.E1JSTKL.STAT, equals: I0002}", "released", id="any repeated value equals"
        ),
        pytest.param("{path: E1AFKOL.E1JSTKL.STAT, in: [I0045, I0046]}", "changed", id="none in the list"),
        pytest.param("{path: E1AFKOL.E1JSTKL.STAT, not_equals: I0076}", "released", id="no value equals"),
        pytest.param("{path: E1AFKOL.FTRMI, exists: false}", "released", id="absent field"),
        pytest.param("{path: E1AFKOL.AUFNR, matches: '^0+1895'}", "released", id="regular expression"),
        pytest.param("{path: E1AFKOL.GAMNG, greater_than: 12}", "released", id="decimal comparison"),
        pytest.param(
            "{all: [{path: E1AFKOL.WERKS, equals: HZ01}, {not: {path: E1AFKOL.GMEIN, equals: ST}}]}",
            "changed",
            id="all and not",
        ),
    ],
)
def test_event_is_chosen_by_conditions_on_source_data(tmp_path, condition, expected):
    header = HEADER.replace(
        "event: released", f"event: {{cases: [{{when: {condition}, then: released}}], otherwise: changed}}"
    )
    mapping = compile_yaml(tmp_path, header + BASE_FIELDS, UNITS)
    [(event, _)] = mapping.map_document(document(TREE))
    assert event == expected


def test_when_default_required_template_and_key(tmp_path):
    extra = """\
  order_type: {path: E1AFKOL.AUART, default: PP01}
  planned_start: {transform: sap_datetime, args: [E1AFKOL.GSTRS, E1AFKOL.GSUZS]}
  planned_end: {when: {path: E1AFKOL.GLTRS, exists: true}, path: E1AFKOL.GLTRS}
  operations:
    foreach: E1AFKOL.E1AFFLL.E1AFVOL
    fields:
      operation_id: {template: "{$root.E1AFKOL.WERKS}/{VORNR}"}
"""
    mapping = compile_order(tmp_path, extra)
    [(_, payload)] = mapping.map_document(document(TREE))
    assert payload["order_type"] == "PP01"
    assert payload["planned_start"] == "2023-12-04T16:46:53+08:00"
    assert "planned_end" not in payload
    assert [op["operation_id"] for op in payload["operations"]] == ["HZ01/0010", "HZ01/0020"]


def test_apply_builds_a_valid_envelope_with_a_deterministic_id(tmp_path):
    mapping = compile_order(tmp_path)
    [envelope] = mapping.apply(document(TREE, created=("20231128", "093405"), version="7"))
    assert envelope["message_id"] == "sap:ERPCLNT100:0000000000000042:order"
    assert envelope["occurred_at"] == "2023-11-28T09:34:05+08:00"
    assert envelope["version"] == "7"
    assert envelope["source"] == {
        "system": "sap",
        "instance": "ERPCLNT100",
        "document_type": "TEST01",
        "document_id": "0000000000000042",
    }
    assert mapping.apply(document(TREE, created=("20231128", "093405"), version="7")) == [envelope]


def test_a_value_the_mapping_cannot_convert_names_mapping_field_path_and_value(tmp_path):
    tree = {"E1AFKOL": [{**TREE["E1AFKOL"][0], "GAMNG": "12,5"}]}
    mapping = compile_order(tmp_path)
    with pytest.raises(MappingError) as caught:
        mapping.map_document(document(tree, origin="order.xml"))
    message = str(caught.value)
    assert "order.xml DOCNUM 0000000000000042" in message
    assert "mapping test.order" in message
    assert "mapping.yaml" in message
    assert "field quantity.value" in message
    assert "path E1AFKOL.GAMNG" in message
    assert "value '12,5'" in message


def test_an_error_inside_a_list_names_the_item(tmp_path):
    extra = """\
  components:
    foreach: E1AFKOL.E1AFFLL.E1AFVOL.E1RESBL
    fields:
      material_id: {path: MATNR}
      quantity: {fields: {value: {path: BDMNG, transform: decimal}, unit: {path: MEINS, lookup: units}}}
"""
    tree = {"E1AFKOL": [{**TREE["E1AFKOL"][0]}]}
    tree["E1AFKOL"][0]["E1AFFLL"] = [
        {"E1AFVOL": [{"E1RESBL": [{"MATNR": "A", "BDMNG": "1", "MEINS": "XX"}]}]}
    ]
    mapping = compile_order(tmp_path, extra)
    with pytest.raises(
        MappingError,
        match=r"field components\[0\]\.quantity\.unit, path MEINS, value 'XX': no entry in lookup table units",
    ):
        mapping.map_document(document(tree))


def test_required_value_missing_is_a_mapping_error(tmp_path):
    fields = BASE_FIELDS.replace(
        "site: {path: E1AFKOL.WERKS}", "site: {path: E1AFKOL.WERKS2, required: true}"
    )
    mapping = compile_order(tmp_path, fields=fields)
    with pytest.raises(MappingError, match="field site, path E1AFKOL.WERKS2: required value is missing"):
        mapping.map_document(document(TREE))


def test_an_invalid_canonical_object_is_a_validation_error(tmp_path):
    fields = BASE_FIELDS.replace("  site: {path: E1AFKOL.WERKS}\n", "")
    mapping = compile_order(tmp_path, fields=fields)
    with pytest.raises(ValidationError, match=r"payload\.site: Field required"):
        mapping.apply(document(TREE))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            "  x: {path: A, transform: no_such}\n",
            r"mapping.yaml:\d+: unknown transform 'no_such'",
            id="unknown transform",
        ),
        pytest.param(
            "  x: {path: A, lookup: nope}\n",
            r"mapping.yaml:\d+: unknown lookup table 'nope'",
            id="unknown lookup",
        ),
        pytest.param(
            "  x: {path: A, transform: {name: alpha_pad}}\n",
            "transform alpha_pad needs option length",
            id="missing option",
        ),
        pytest.param(
            "  x: {path: A, transform: {name: alpha, width: 3}}\n",
            "transform alpha has no option width",
            id="unknown option",
        ),
        pytest.param(
            "  x: {path: A, value: 1}\n", "an expression has one source, found path, value", id="two sources"
        ),
        pytest.param("  x: {transform: alpha}\n", "an expression needs one source", id="no source"),
        pytest.param("  x: {path: A..B}\n", "empty step", id="malformed path"),
        pytest.param(
            "  x: {path: A, colour: red}\n",
            r"fields/x: Additional properties are not allowed \('colour'",
            id="schema",
        ),
        pytest.param("  x: {transform: sap_datetime, args: [A, B, C]}\n", "takes 1 to 2 input", id="arity"),
        pytest.param(
            "  x: {path: A, filter: {path: B, exists: true}}\n", "only go with foreach", id="foreach-only key"
        ),
    ],
)
def test_mapping_mistakes_fail_at_load_naming_file_and_line(tmp_path, fields, message):
    with pytest.raises(MappingDefinitionError, match=message):
        compile_order(tmp_path, fields="fields:\n" + fields)


def test_unknown_event_constant_fails_at_load(tmp_path):
    header = HEADER.replace("event: released", "event: shipped")
    with pytest.raises(MappingDefinitionError, match="order has no event 'shipped'"):
        compile_yaml(tmp_path, header + BASE_FIELDS, UNITS)


def test_unsupported_language_version_is_refused(tmp_path):
    with pytest.raises(MappingDefinitionError, match="version 2 is not supported"):
        compile_yaml(tmp_path, HEADER.replace("version: 1", "version: 2") + BASE_FIELDS, UNITS)


def test_each_produces_one_entity_per_element_with_item_keys(tmp_path):
    text = """\
mapping: test.materials
version: 1
source: {system: sap, documents: [TEST01]}
target: {entity: material}
event: upserted
each: rows
fields:
  material_id: {path: id}
  base_unit: {value: EA}
"""
    mapping = compile_yaml(tmp_path, text)
    envelopes = mapping.apply(document({"rows": [{"id": "M1"}, {"id": "M2"}]}))
    assert [e["message_id"] for e in envelopes] == [
        "sap:ERPCLNT100:0000000000000042:material:M1",
        "sap:ERPCLNT100:0000000000000042:material:M2",
    ]


def test_reverse_mapping_renders_a_payload_from_an_envelope(tmp_path):
    text = """\
mapping: test.report.out
version: 1
source: {entity: report, timezone: Asia/Shanghai}
target: {system: sap, document: Z_CONFIRM}
fields:
  ORDER: {path: payload.order_id, transform: {name: alpha_pad, length: 12}}
  QTY: {path: payload.yield_quantity.value, transform: {name: decimal_fixed, places: 3}}
  UNIT: {path: payload.yield_quantity.unit, lookup: {table: units, invert: true}}
  DONE: {path: payload.finished_at, transform: to_sap_date}
"""
    mapping = compile_yaml(tmp_path, text, UNITS)
    envelope = {
        "entity": "report",
        "event": "created",
        "payload": {
            "order_id": "4711",
            "yield_quantity": {"value": "2", "unit": "KGM"},
            "finished_at": "2023-12-11T20:00:00Z",
        },
    }
    assert mapping.render(envelope) == {
        "ORDER": "000000004711",
        "QTY": "2.000",
        "UNIT": "KG",
        "DONE": "20231212",
    }
