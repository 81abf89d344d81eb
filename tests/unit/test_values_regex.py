"""``matches`` runs on RE2: linear time on any text; what RE2 cannot run fails at load."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import MappingDefinitionError, MappingError
from bridge.mapping.conditions import compile_condition
from bridge.mapping.paths import Scope

from .mapping_helpers import HEADER, compile_yaml, document

#: Generous: RE2 takes microseconds here, Python's re takes minutes on the first row.
TIME_LIMIT = 1.0


def holds(pattern: str, value: object) -> bool:
    predicate = compile_condition({"path": "F", "matches": pattern}, "m.yaml:3")
    return predicate({"F": value}, Scope({}, {}))


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        pytest.param("^(a+)+$", "a" * 34 + "!", id="the issue's input"),
        pytest.param("^(a+)+$", "a" * 100_000 + "!", id="100k a"),
        pytest.param("^(a|a)*$", "a" * 50_000 + "!", id="alternation"),
        pytest.param("(a*)*b", "a" * 50_000, id="nested stars"),
        pytest.param("^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", id="OWASP example"),
        pytest.param("(x+x+)+y", "x" * 20_000, id="two plus"),
    ],
)
def test_catastrophic_patterns_run_in_linear_time(pattern, text):
    start = time.perf_counter()
    assert holds(pattern, text) is False
    assert time.perf_counter() - start < TIME_LIMIT


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        pytest.param(r"(a)\1", r"invalid escape sequence: \\1 \(backreferences", id="backreference"),
        pytest.param(r"(?P<n>a)(?P=n)", r"named backreferences", id="named backreference"),
        pytest.param(r"a(?=b)", r"lookahead is not supported", id="lookahead"),
        pytest.param(r"a(?!b)", r"lookahead is not supported", id="negative lookahead"),
        pytest.param(r"(?<=a)b", r"lookbehind is not supported", id="lookbehind"),
        pytest.param(r"(?<!a)b", r"lookbehind is not supported", id="negative lookbehind"),
        pytest.param(r"a++", r"possessive", id="possessive"),
        pytest.param(r"(?>a)", r"invalid perl operator", id="atomic group"),
        pytest.param(r"(?x) a b", r"invalid perl operator: \(\?x", id="verbose flag"),
        pytest.param(r"a\Z", r"write \\z for the end", id="Python end of text"),
        pytest.param(r"\C", r"\\C matches one byte", id="single byte"),
        pytest.param(r"[", r"missing \]", id="unclosed class"),
        pytest.param(r"a{1001}", r"invalid repetition size", id="repetition beyond 1000"),
    ],
)
def test_what_re2_cannot_run_is_refused_at_load_with_file_line_and_reason(tmp_path, capfd, pattern, reason):
    header = HEADER.replace(
        "event: released",
        f"event: {{cases: [{{when: {{path: A, matches: '{pattern}'}}, then: released}}], otherwise: changed}}",
    )
    with pytest.raises(MappingDefinitionError) as caught:
        compile_yaml(tmp_path, header + "fields:\n  order_id: {path: A}\n")
    message = str(caught.value)
    assert re.search(r"mapping\.yaml:5: matches: regular expression .* is refused: ", message), message
    assert re.search(reason, message), message
    assert "RE2" in message
    assert "\n" not in message
    assert capfd.readouterr().err == ""  # RE2 logs nothing of its own to stderr


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        pytest.param(r"^0+1895", "000001895938", True, id="plain search"),
        pytest.param(r"\\C", "a\\C", True, id="an escaped backslash before C is a literal"),
        pytest.param(r"\d", "１", False, id="digits are ASCII only"),
        pytest.param(r"\d", "1", True, id="ASCII digit"),
        pytest.param(r"\p{Han}", "齿轮", True, id="Unicode classes"),
        pytest.param(r"(?i)é", "CAFÉ", True, id="case folding beyond ASCII"),
        pytest.param(r"a$", "a\n", False, id="$ is the end of the text only"),
        pytest.param(r"(?m)a$", "a\nb", True, id="(?m) for line ends"),
        pytest.param(r"^ST$", True, False, id="a boolean compares as true"),
        pytest.param(r"^12", 12.5, True, id="numbers compare as text"),
    ],
)
def test_matches_searches_with_re2_semantics(pattern, text, expected):
    assert holds(pattern, text) is expected


def test_a_value_that_is_not_valid_unicode_is_a_mapping_error():
    with pytest.raises(MappingError, match="path F: the value is not valid Unicode text"):
        holds("a", "a\ud800")


def test_no_pattern_of_a_mapping_reaches_pythons_re(tmp_path, monkeypatch):
    seen: list[object] = []
    original = re._compile  # type: ignore[attr-defined]

    def spy(pattern, flags):
        seen.append(pattern)
        return original(pattern, flags)

    monkeypatch.setattr(re, "_compile", spy)
    re.purge()
    header = HEADER.replace(
        "event: released",
        "event: {cases: [{when: {path: A, matches: 'UNIQUE_(x|y)+_PATTERN'}, then: released}], otherwise: changed}",
    )
    mapping = compile_yaml(tmp_path, header + "fields:\n  order_id: {path: A}\n  site: {path: A}\n")
    [(event, _)] = mapping.map_document(document({"A": "UNIQUE_xy_PATTERN"}))
    assert event == "released"
    assert not [p for p in seen if "UNIQUE_" in str(p)]


TOKENS = ["a", "b", "a+", "a*", "(", ")", "(a|aa)", "|", "?", "+", "*", ".", "^", "$", "[ab]", "[^a]", "{2,5}",
          r"\d", r"\w", r"\1", "(?=", "(?i)", "(?P<x>", ")+", r"\C", r"\z", r"\Z", "中", "(?s)", "++"]  # fmt: skip
texts = st.one_of(
    st.text(max_size=60),
    st.builds(lambda n, tail: "a" * n + tail, st.integers(0, 5000), st.sampled_from(["", "!", "b", "中"])),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join), texts)
def test_property_matches_is_bounded_on_any_pattern_and_text(pattern, text):
    try:
        predicate = compile_condition({"path": "F", "matches": pattern}, "m.yaml:3")
    except MappingDefinitionError as exc:
        message = str(exc)
        assert message.startswith("m.yaml:3: matches: regular expression ")
        assert "\n" not in message
        return
    start = time.perf_counter()
    assert predicate({"F": text}, Scope({}, {})) in (True, False)
    assert time.perf_counter() - start < TIME_LIMIT
