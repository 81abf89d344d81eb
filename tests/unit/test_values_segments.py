"""A path read as one value that reaches a segment, object or list is a MappingError naming
mapping, field and path and saying it is a segment, not a field: never the node's ``str()``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.model import Segment
from bridge.errors import MappingError
from bridge.mapping.lookups import LookupTable

from .mapping_helpers import HEADER, compile_yaml, document

UNITS = {"units": LookupTable("units", {"208277437": "x"})}


def order_tree(aufnr: object) -> dict[str, object]:
    """``<E1AFKOL><AUFNR>...</AUFNR><WERKS>HZ01</WERKS></E1AFKOL>`` as the decoders build it."""
    header = Segment("E1AFKOL", {"WERKS": "HZ01", "GAMNG": "1"})
    header["AUFNR"] = aufnr
    return {"E1AFKOL": [header]}


#: ``<AUFNR>208277437<B>9</B></AUFNR>``: AUFNR became a segment with a child B.
MIXED = [Segment("AUFNR", {"B": "9"})]

CONSTRUCTS = {
    "path": "{path: E1AFKOL.AUFNR}",
    "transform": "{path: E1AFKOL.AUFNR, transform: alpha}",
    "first_of": "{first_of: [E1AFKOL.AUFNR, E1AFKOL.WERKS]}",
    "args": "{transform: {name: concat, separator: /}, args: [E1AFKOL.WERKS, E1AFKOL.AUFNR]}",
    "template": '{template: "{E1AFKOL.WERKS}-{E1AFKOL.AUFNR}"}',
    "concat": "{concat: [E1AFKOL.WERKS, E1AFKOL.AUFNR]}",
    "lookup": "{path: E1AFKOL.AUFNR, lookup: units}",
    "equals": "{test: {path: E1AFKOL.AUFNR, equals: '208277437'}}",
    "in": "{test: {path: E1AFKOL.AUFNR, not_in: ['1']}}",
    "matches": "{test: {path: E1AFKOL.AUFNR, matches: '^2'}}",
    "greater_than": "{test: {path: E1AFKOL.AUFNR, greater_than: 0}}",
    "when": "{when: {path: E1AFKOL.AUFNR, equals: x}, value: y}",
    "parent": "{path: $root.E1AFKOL.AUFNR}",
}


def compile_field(tmp_path, expression: str):
    fields = f"fields:\n  order_id: {expression}\n  site: {{path: E1AFKOL.WERKS}}\n"
    return compile_yaml(tmp_path, HEADER + fields, UNITS)


@pytest.mark.parametrize("construct", list(CONSTRUCTS))
@pytest.mark.parametrize(
    ("node", "what"),
    [
        pytest.param(MIXED, r"a segment \(AUFNR, with B\)", id="XML field with a child element"),
        pytest.param({"B": "9"}, r"a segment \(an object with B\)", id="JSON object"),
        pytest.param([{"B": "9"}], r"a segment \(an object with B\)", id="list of objects"),
        pytest.param([["208277437"]], "a list of 1 items", id="list in a list"),
    ],
)
def test_a_node_where_a_field_was_expected_is_a_mapping_error(tmp_path, construct, node, what):
    mapping = compile_field(tmp_path, CONSTRUCTS[construct])
    with pytest.raises(MappingError) as caught:
        mapping.map_document(document(order_tree(node), origin="order.xml"))
    message = str(caught.value)
    assert "mapping test.order" in message
    assert "field order_id" in message
    assert "path " in message
    assert "E1AFKOL.AUFNR" in message
    assert "not a field" in message
    assert re.search(what, message), message
    assert "Segment(" not in message
    assert "children=" not in message


def test_exists_still_tests_segments(tmp_path):
    mapping = compile_field(tmp_path, "{test: {path: E1AFKOL.AUFNR, exists: true}}")
    [(_, payload)] = mapping.map_document(document(order_tree(MIXED)))
    assert payload["order_id"] is True


def test_a_field_value_is_still_read_when_the_field_is_text(tmp_path):
    mapping = compile_field(tmp_path, CONSTRUCTS["template"])
    [(_, payload)] = mapping.map_document(document(order_tree("208277437")))
    assert payload["order_id"] == "HZ01-208277437"


def test_a_reverse_mapping_refuses_an_object_where_the_envelope_should_hold_a_value(tmp_path):
    text = """\
mapping: test.report.out
version: 1
source: {entity: report}
target: {system: sap, document: Z_CONFIRM}
fields:
  ORDER: {path: payload.order_id, transform: {name: alpha_pad, length: 12}}
"""
    mapping = compile_yaml(tmp_path, text)
    envelope = {"entity": "report", "message_id": "m-1", "payload": {"order_id": {"value": "4711"}}}
    with pytest.raises(MappingError, match=r"field ORDER, path payload.order_id: this is a segment"):
        mapping.render(envelope)


nodes = st.recursive(
    st.builds(Segment, st.sampled_from(["AUFNR", "B"]), st.dictionaries(st.sampled_from("BCD"), st.text(max_size=3))),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=2),
        st.dictionaries(st.sampled_from("BCD"), inner, min_size=0, max_size=2),
    ),
    max_leaves=4,
)


@settings(max_examples=60, deadline=None)
@given(construct=st.sampled_from(sorted(set(CONSTRUCTS) - {"when"})), node=nodes)
def test_property_no_node_ever_becomes_a_value(tmp_path_factory, construct, node):
    """Segments, objects and lists nested any way (the first element of a list is a node too)."""
    mapping = compile_field(tmp_path_factory.mktemp("m"), CONSTRUCTS[construct])
    with pytest.raises(MappingError, match="not a field") as caught:
        mapping.map_document(document(order_tree(node)))
    assert "Segment(" not in str(caught.value)
