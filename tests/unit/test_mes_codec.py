"""The MES codec: canonical envelopes and plain work reports, read from strict JSON only."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.mes.codec import MesCodec
from adapters.mes.json_reader import MAX_DEPTH, load_json, split_array
from bridge.errors import ConfigError, DecodeError

from ..conftest import DATA, MAPPINGS

MES = DATA / "mes"
CASES = MAPPINGS / "mes" / "cases"
CODEC = MesCodec()


def decode_error(data: bytes) -> str:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(data, origin="in.json")
    return str(caught.value)


def test_a_canonical_envelope_is_a_document_already_canonical():
    [document] = CODEC.decode((MES / "report_created.json").read_bytes(), origin="report_created.json")
    assert document.system == "mes"
    assert document.document_type == "canonical.report"
    assert document.document_id == "mes:MES-PLANT1:WR-20240115-0042:report"
    assert document.instance == "MES-PLANT1"
    assert document.version == "20240115063107000000"
    assert document.canonical_entities == ("report", "lot")
    assert document.tree["payload"]["yield_quantity"] == {"value": "95", "unit": "ST"}
    assert document.label == "report_created.json message_id mes:MES-PLANT1:WR-20240115-0042:report"


def test_a_lot_envelope_has_its_own_type():
    [document] = CODEC.decode((MES / "lot_status_changed.json").read_bytes())
    assert document.document_type == "canonical.lot"


def test_an_envelope_of_another_entity_is_typed_canonical_and_left_to_translate():
    [document] = CODEC.decode((MES / "order_released.json").read_bytes())
    assert document.document_type == "canonical"
    assert document.canonical_entities == ("report", "lot")


def test_a_float_in_an_envelope_stays_a_float_so_the_model_refuses_it_by_name():
    [document] = CODEC.decode((MES / "report_invalid.json").read_bytes())
    assert document.tree["payload"]["yield_quantity"]["value"] == 12.5
    assert isinstance(document.tree["payload"]["yield_quantity"]["value"], float)


def test_a_work_report_is_named_by_its_id_and_versioned_by_its_time_in_utc():
    [document] = CODEC.decode((CASES / "work_report_final.json").read_bytes(), origin="wr.json")
    assert document.document_type == "work-report"
    assert document.document_id == "WR-20240115-0042"
    assert document.instance == "MES-PLANT1"
    assert document.version == "20240115063107000000"  # 14:31:07+08:00 in UTC
    assert document.created == ("2024-01-15T14:31:07+08:00",)
    assert document.canonical_entities == ()
    assert document.label == "wr.json report WR-20240115-0042"
    # numbers with a fraction are exact decimals, never floats
    assert document.tree["consumed_lots"][0]["quantity"] == Decimal("190.5")


def test_a_numeric_report_id_is_read_as_text():
    [document] = CODEC.decode((CASES / "work_report_partial_utc.json").read_bytes())
    assert document.document_id == "88412"
    assert document.instance is None


def test_an_array_holds_one_document_per_item():
    documents = CODEC.decode((MES / "feedback_batch.json").read_bytes())
    assert [d.document_type for d in documents] == ["canonical.report", "work-report"]
    identity = CODEC.identify((MES / "feedback_batch.json").read_bytes())
    assert identity.document_types == ("canonical.report", "work-report")


def test_identify_names_what_decode_names():
    data = (CASES / "work_report_final.json").read_bytes()
    identity = CODEC.identify(data, origin="wr.json")
    assert identity.document_types == ("work-report",)
    assert identity.document_id == "WR-20240115-0042"
    assert identity.instance == "MES-PLANT1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"foo": 1, "bar": 2}', 'expected a canonical envelope (an object with "schema": "bridge.canonical/v1") '
         'or a MES work report (an object with "report_id"), got an object with foo, bar'),
        (b'"text"', "$: expected a canonical envelope"),
        (b"[1]", "$[0]: expected a canonical envelope"),
        (b"[]", "$: an empty list holds no document"),
        (b'{"schema": "bridge.canonical/v2", "entity": "report"}', "$.schema: bridge.canonical/v2 is not bridge.canonical/v1"),
        (b'{"report_id": ""}', "$.report_id: the report id must be a non-empty line of text"),
        (b'{"report_id": ["a"]}', "$.report_id: the report id must be a non-empty line of text, got a list of 1"),
        (b'{"report_id": "WR-1", "reported_at": "2024-01-15T14:30:00"}', "$.reported_at: '2024-01-15T14:30:00' has no UTC offset"),
        (b'{"report_id": "WR-1", "reported_at": "yesterday"}', "$.reported_at: 'yesterday' is not an ISO 8601 date-time"),
        (b'{"report_id": "WR-1", "reported_at": 1705300000}', "$.reported_at: expected an ISO 8601 date-time text, got a number"),
    ],
)
def test_a_document_of_neither_kind_is_named_with_its_path(body: bytes, expected: str):
    message = decode_error(body)
    assert message.startswith("in.json: ")
    assert expected in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"report_id": "a", "good": 1, "good": 2}', "$.good: the key appears twice in one object"),
        (b'{"report_id": "a", "consumed_lots": [{"lot": "x"}, {"lot": "y", "lot": "z"}]}',
         "$.consumed_lots[1].lot: the key appears twice"),
        (b'{"report_id": "a", "good": NaN}', "NaN is not a JSON number"),
        (b'{"report_id": "a", "good": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"report_id": "a", "good": 1' + b"0" * 200 + b"}", "a number of 201 characters is longer than 120"),
        (b'{"report_id": "a", "good": 1.' + b"5" * 200 + b"}", "a number of 202 characters is longer than 120"),
        (b'{"report_id": "a\\ud800"}', "$.report_id: a lone surrogate \\ud800"),
        (b'{"report_id": "a", "\\udfff": 1}', "a lone surrogate \\udfff"),
        (b'{"report_id": "a",}', "not JSON: Expecting property name enclosed in double quotes at line 1 column 19"),
        (b'{"report_id": "caf\xe9"}', "not UTF-8: byte 0xE9 at offset 18"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8: byte 0xFF at offset 0"),
        (b"", "not JSON: Expecting value at line 1 column 1"),
    ],
)
def test_json_the_reader_refuses_is_named(body: bytes, expected: str):
    assert expected in decode_error(body)


def test_deep_nesting_is_refused_naming_where():
    deep = b'{"report_id": "a", "x": ' + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"}"
    assert f"nested deeper than {MAX_DEPTH} levels" in decode_error(deep)
    very_deep = b"[" * 100_000 + b"]" * 100_000
    assert "nested deeper than" in decode_error(very_deep)


def test_a_utf8_bom_is_read_past():
    body = b"\xef\xbb\xbf" + (CASES / "work_report_final.json").read_bytes()
    [document] = CODEC.decode(body)
    assert document.document_id == "WR-20240115-0042"


def test_the_size_limit_is_checked_before_parsing(monkeypatch):
    monkeypatch.setenv("BRIDGE_MAX_DOCUMENT_BYTES", "100")
    message = decode_error(b'{"report_id": "' + b"x" * 200 + b'"}')
    assert "larger than the limit of 100 bytes" in message
    with pytest.raises(DecodeError, match="larger than the limit of 10 bytes"):
        load_json(b'{"a": "12345678901"}', max_bytes=10)


def test_sniff_takes_mes_json_only():
    assert CODEC.sniff((MES / "report_created.json").read_bytes())
    assert CODEC.sniff((MES / "feedback_batch.json").read_bytes())
    assert CODEC.sniff(b'\xef\xbb\xbf {"report_id": "1"}')
    assert not CODEC.sniff(b'{"order": 1}')
    assert not CODEC.sniff(b"<?xml version='1.0'?><IDOC/>")
    assert not CODEC.sniff(b"EDI_DC40  100")


def test_the_codec_takes_no_option():
    CODEC.check_options()
    with pytest.raises(ConfigError, match="takes no option \\(got encoding\\)"):
        CODEC.check_options(encoding="gbk")
    with pytest.raises(ConfigError):
        CODEC.decode(b'{"report_id": "1"}', encoding="gbk")


def test_split_array_gives_the_exact_bytes_of_each_item():
    body = b' [ {"a": 1.50} ,\n{"b": [1, {"c": "]"}]}\t]  '
    load_json(body)
    assert list(split_array(body)) == [b'{"a": 1.50}', b'{"b": [1, {"c": "]"}]}']
    original = (MES / "feedback_batch.json").read_bytes()
    parts = list(split_array(original))
    assert [json.loads(p) for p in parts] == json.loads(original)
    assert all(part in original for part in parts)
