"""Every registered transform raises nothing but TransformError, whatever it is given; option
values that would make one fail at run time are refused when the mapping loads."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.model import Segment
from bridge.errors import MappingDefinitionError
from bridge.mapping.scalars import SCALAR_TYPES
from bridge.mapping.transforms import TransformError, all_transforms, check_options, transform_arity

from .mapping_helpers import HEADER, compile_yaml

TRANSFORMS = all_transforms()

ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]

#: Valid option sets per transform; the test below fails when a transform is added without one.
OPTIONS: dict[str, list[dict[str, Any]]] = {
    "alpha": [{}],
    "alpha_pad": [{"length": 12}, {"length": 1}],
    "strip": [{}],
    "upper": [{}],
    "lower": [{}],
    "truncate": [{"length": 3}],
    "to_string": [{}],
    "concat": [{}, {"separator": "/"}],
    "template": [{"format": "{0}-{1}"}, {"format": "{0:>8}|{1:.3}"}, {"format": "{}"}, {"format": "{2}"}],
    "default": [{"value_if_absent": "0001"}],
    "required": [{}],
    "replace": [{"old": "-", "new": ""}],
    "decimal": [{}],
    "decimal_fixed": [{"places": 3}, {"places": 0, "trailing_minus": True}],
    "negate": [{}],
    "integer": [{}],
    "sap_flag": [{}],
    "boolean": [{}],
    "flag_sap": [{}, {"true_value": "1", "false_value": "0"}],
    "sap_date": [{}],
    "sap_datetime": [{"tz": zone} for zone in ZONES],
    "iso_datetime": [{"tz": zone} for zone in ZONES],
    "iso_date": [{}],
    "to_sap_date": [{"tz": zone} for zone in ZONES],
    "to_iso_date": [{"tz": zone} for zone in ZONES],
    "to_sap_time": [{"tz": zone, "separator": sep} for zone in ZONES for sep in ("", ":")],
    "kingdee_bill_no": [{}],
    "kingdee_entry_seq": [{}],
    "kingdee_number": [{}],
    "kingdee_sum": [{}],
    "kingdee_datetime": [{"tz": zone} for zone in ZONES],
    "yonyou_add": [{}],
    "yonyou_date": [{"tz": zone} for zone in ZONES],
    "yonyou_datetime": [{"tz": zone} for zone in ZONES],
    "yonyou_format_datetime": [{"tz": zone} for zone in ZONES],
}

HOSTILE_TEXT = [
    "-5-", "+5-", "1 5", "１２", "٣", "¹²", "1e9999999", "1e-9999999", "1e999999", "NaN", "sNaN", "Infinity",
    "99991231", "240000", "00000000", "24:00:00", "20231211", "2023121²", "０００１２", "X", "",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2023-12-11T08:00:00.1234567", "\ud800",
    "{0.__class__}", "%H", "\x00",
]  # fmt: skip

numbers_text = st.from_regex(r"\A[ +-]?[0-9０１¹]{0,6}\.?[0-9]{0,4}([eE][+-]?[0-9]{1,8})?-?\Z")
sap_dates = st.text(alphabet="0123456789²２", min_size=8, max_size=8)
sap_times = st.text(alphabet="0123456789:¹", min_size=4, max_size=8)
iso_moments = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(-14 * 60, 14 * 60),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**130), max_value=10**130),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
    numbers_text,
    sap_dates,
    sap_times,
    iso_moments,
)
segments = st.builds(
    Segment,
    st.sampled_from(["AUFNR", "E1AFKOL"]),
    st.dictionaries(st.sampled_from(["B", "C"]), st.text(max_size=3), max_size=2),
)
values = st.recursive(
    st.one_of(scalars, segments),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=5,
)


def test_every_registered_transform_has_valid_option_sets_in_this_test():
    assert set(OPTIONS) == set(TRANSFORMS)
    for name, sets in OPTIONS.items():
        for options in sets:
            check_options(TRANSFORMS[name], options)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_property_a_transform_raises_only_transform_error_on_any_input(name, data):
    func = TRANSFORMS[name]
    options = data.draw(st.sampled_from(OPTIONS[name]), label="options")
    low, high = transform_arity(func)
    count = data.draw(st.integers(max(low, 1), high if high is not None else 3), label="inputs")
    args = data.draw(st.lists(values, min_size=count, max_size=count), label="args")
    try:
        result = func(*args, **options)
    except TransformError as exc:
        message = str(exc)
    else:
        message = ""
    assert "Segment(" not in message
    if not message and name not in ("default", "required"):  # these two pass their input on unchanged
        assert result is None or isinstance(result, SCALAR_TYPES), result


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_each_hostile_text_gives_a_value_or_a_transform_error(name):
    func = TRANSFORMS[name]
    low, high = transform_arity(func)
    for options in OPTIONS[name]:
        for value in HOSTILE_TEXT:
            for other in HOSTILE_TEXT if high is None or high > 1 else [None]:
                args = [value, other] if other is not None else [value] * max(low, 1)
                with contextlib.suppress(TransformError):
                    func(*args, **options)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Segment("AUFNR", {"B": "9"}), id="a segment"),
        pytest.param({"B": "9"}, id="a plain object"),
        pytest.param(["1", "2"], id="a list"),
        pytest.param(b"12", id="bytes"),
        pytest.param(Decimal, id="a type"),
    ],
)
@pytest.mark.parametrize(
    "name",
    ["alpha", "strip", "upper", "decimal", "sap_date", "sap_flag", "iso_datetime", "to_sap_date", "to_string"],
)
def test_a_node_given_to_a_transform_is_refused_never_rendered_with_str(name, value):
    func = TRANSFORMS[name]
    options = OPTIONS[name][0]
    with pytest.raises(TransformError, match="not a field") as caught:
        func(value, **options)
    assert "Segment(" not in str(caught.value)


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        pytest.param("{name: alpha_pad, length: '12'}", "option length must be a whole number", id="text length"),
        pytest.param("{name: alpha_pad, length: true}", "option length must be a whole number", id="bool length"),
        pytest.param("{name: alpha_pad, length: 0}", "option length must be from 1 to 4096", id="zero length"),
        pytest.param("{name: truncate, length: -3}", "option length must be from 1", id="negative length"),
        pytest.param("{name: alpha_pad, length: 1000000000}", "from 1 to 4096", id="gigabyte padding"),
        pytest.param("{name: decimal_fixed, places: -1}", "option places must be from 0 to 100", id="places"),
        pytest.param("{name: decimal_fixed, places: 3.5}", "places must be a whole number", id="float places"),
        pytest.param("{name: decimal_fixed, trailing_minus: 'yes'}", "must be true or false", id="flag"),
        pytest.param("{name: flag_sap, true_value: 1}", "option true_value must be text", id="number as text"),
        pytest.param("{name: replace, old: '', new: x}", "option old must not be empty", id="empty old"),
        pytest.param("{name: template, format: '{0.__class__}'}", "names, attributes and indexes", id="attr"),
        pytest.param("{name: template, format: '{0[0]}'}", "names, attributes and indexes", id="index"),
        pytest.param("{name: template, format: '{x}'}", "names, attributes and indexes", id="name"),
        pytest.param("{name: template, format: '{0!r}'}", "conversion !r", id="repr"),
        pytest.param("{name: template, format: '{0:{1}}'}", "format spec", id="nested spec"),
        pytest.param("{name: template, format: '{0:>999999999}'}", "format spec", id="huge width"),
        pytest.param("{name: template, format: '{0:>" + "9" * 5000 + "}'}", "format spec", id="5000-digit width"),
        pytest.param("{name: template, format: '{0'}", "not a template", id="unclosed"),
        pytest.param("{name: iso_datetime, tz: Asia}", "unknown time zone 'Asia'", id="zone folder"),
        pytest.param("{name: iso_datetime, tz: 8}", "option tz must be text", id="zone number"),
    ],
)
def test_option_values_that_cannot_run_are_refused_at_load_with_file_and_line(tmp_path, transform, message):
    fields = f"fields:\n  order_id: {{path: A, transform: {transform}}}\n"
    with pytest.raises(MappingDefinitionError, match=rf"mapping.yaml:\d+: transform \w+: .*{message}"):
        compile_yaml(tmp_path, HEADER + fields)
