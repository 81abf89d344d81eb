"""YAML loading: hostile files (alias bombs, size, depth, odd scalars) refused in one line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import load_settings
from bridge.errors import ConfigError, MappingDefinitionError
from bridge.mapping import MappingCatalog
from bridge.mapping.loader import load_mapping
from bridge.mapping.lookups import load_lookup_dir, load_lookup_file
from bridge.mapping.yaml_source import (
    DEFAULT_MAX_ALIAS_NODES,
    DEFAULT_MAX_YAML_BYTES,
    MAX_ALIAS_NODES_ENV,
    MAX_YAML_BYTES_ENV,
    load_yaml_file,
)

from ..conftest import DATA, MAPPINGS, ROOT
from .hostile_yaml_driver import header

CORPUS = DATA / "hostile" / "yaml"
CORPUS_FILES = sorted(path for path in CORPUS.iterdir() if path.name != "README.md")
#: Address space of the subprocess that loads the corpus: a bomb that got through would need GBs.
MEMORY_CAP = 1024 * 1024 * 1024


@pytest.fixture(scope="module")
def corpus_outcomes() -> dict[str, tuple[str, str]]:
    """Every corpus file loaded in a subprocess with a capped address space."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.unit.hostile_yaml_driver", str(MEMORY_CAP), *map(str, CORPUS_FILES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return {name: (kind, message) for name, kind, message in map(json.loads, proc.stdout.splitlines())}


def test_the_readme_describes_every_corpus_file():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in CORPUS_FILES:
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path in CORPUS_FILES])
def test_every_hostile_yaml_file_gets_its_one_line_outcome(corpus_outcomes, path: Path):
    fields = header(path)
    kind, message = corpus_outcomes[path.name]
    if fields["expect"] == "ok":
        assert (kind, message) == ("ok", "")
        return
    assert kind == ("ConfigError" if fields["load-as"] == "config" else "MappingDefinitionError")
    assert len(message.splitlines()) == 1, message
    assert message.startswith(str(path)), message
    assert fields["expect"] in message


@pytest.mark.parametrize(
    "name", ["bomb_in_value.yaml", "bomb_in_inline_lookup.yaml", "bomb_lookup_file.yaml", "bomb_config.yaml"]
)
def test_an_alias_bomb_is_refused_at_the_line_of_the_alias_past_the_bound(corpus_outcomes, name):
    _, message = corpus_outcomes[name]
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    line = int(message.split(":")[1])
    assert "*d" in lines[line - 1]  # the level whose aliases pass 10,000 nodes: &e [*d, *d, ...]
    assert f"aliases expand past {DEFAULT_MAX_ALIAS_NODES} nodes at *d" in message


# -- bounds, in process (small inputs: harmless even if a guard regressed) ---------------


def _nested_aliases(levels: int, fan: int) -> tuple[str, int]:
    """A YAML list of ``levels`` anchored lists, each holding ``fan`` aliases of the one before.

    Returns the text and the nodes its aliases add when expanded.
    """
    lines = [f"- &l0 [{', '.join(['x'] * fan)}]"]
    size, added = fan + 1, 0
    for level in range(1, levels):
        lines.append(f"- &l{level} [{', '.join([f'*l{level - 1}'] * fan)}]")
        added += fan * size
        size = 1 + fan * size
    return "\n".join(lines) + "\n", added


@settings(max_examples=60, deadline=None)
@given(levels=st.integers(1, 6), fan=st.integers(1, 6), bound=st.integers(1, 3000))
def test_aliases_load_exactly_up_to_the_bound_and_are_refused_past_it(tmp_path_factory, levels, fan, bound):
    text, added = _nested_aliases(levels, fan)
    path = tmp_path_factory.mktemp("aliases") / "nested.yaml"
    path.write_text(text, encoding="utf-8")
    with mock.patch.dict(os.environ, {MAX_ALIAS_NODES_ENV: str(bound)}):
        if added > bound:
            with pytest.raises(MappingDefinitionError, match=rf"^{path}:\d+: aliases expand past {bound} nodes"):
                load_yaml_file(path)
        else:
            assert load_yaml_file(path) == yaml.safe_load(text)


def test_merge_keys_count_against_the_bound(tmp_path):
    base = "{" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}"
    merges = "\n".join(f"m{i}: {{<<: *base}}" for i in range(250))
    path = tmp_path / "merges.yaml"
    path.write_text(f"base: &base {base}\n{merges}\n", encoding="utf-8")
    with pytest.raises(MappingDefinitionError, match="aliases expand past 10000 nodes at \\*base"):
        load_yaml_file(path)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 4096), limit=st.integers(1, 4096))
def test_a_file_is_refused_exactly_when_it_is_larger_than_the_limit(tmp_path_factory, size, limit):
    path = tmp_path_factory.mktemp("size") / "file.yaml"
    path.write_bytes(b"#" * size)
    if size > limit:
        with pytest.raises(MappingDefinitionError, match=f"larger than the limit of {limit} bytes"):
            load_yaml_file(path, max_bytes=limit)
    else:
        assert load_yaml_file(path, max_bytes=limit) is None


def test_the_size_is_checked_before_reading(tmp_path):
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:  # sparse: 64 GiB on paper, nothing on disk
        stream.truncate(64 * 1024**3)
    with pytest.raises(MappingDefinitionError, match=f"larger than the limit of {DEFAULT_MAX_YAML_BYTES} bytes"):
        load_yaml_file(huge)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda path: path.symlink_to("/dev/zero"), id="dev-zero"),
        pytest.param(os.mkfifo, id="fifo-without-writer"),
        pytest.param(lambda path: path.mkdir(), id="directory"),
    ],
)
def test_what_is_not_a_regular_file_is_refused_without_reading(tmp_path, make):
    path = tmp_path / "odd.yaml"
    make(path)
    with pytest.raises(MappingDefinitionError, match="not a regular file"):
        load_yaml_file(path)


@pytest.mark.parametrize(
    ("kind", "load"),
    [
        pytest.param("mapping", load_mapping, id="mapping"),
        pytest.param("lookup", load_lookup_file, id="lookup"),
        pytest.param("config", lambda path: load_settings(path, env={}), id="config"),
        pytest.param("cases", load_yaml_file, id="test-cases"),
    ],
)
def test_every_kind_of_yaml_file_has_the_size_limit(monkeypatch, tmp_path, kind, load):
    path = tmp_path / f"{kind}.yaml"
    path.write_text("a: 1\n" * 100, encoding="utf-8")
    monkeypatch.setenv(MAX_YAML_BYTES_ENV, "100")
    with pytest.raises(ConfigError, match=f"{kind}.yaml: larger than the limit of 100 bytes .*{MAX_YAML_BYTES_ENV}"):
        load(path)


@pytest.mark.parametrize("value", ["0", "-5", "1MB", "lots"])
@pytest.mark.parametrize("variable", [MAX_YAML_BYTES_ENV, MAX_ALIAS_NODES_ENV])
def test_a_bad_limit_in_the_environment_is_a_config_error(monkeypatch, tmp_path, variable, value):
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"{variable} must be a positive whole number, got '{value}'"):
        load_yaml_file(path)


# YAML's punctuation, tags, directives and the scalars PyYAML fails to build on its own
_YAML_PIECES = st.sampled_from(
    [
        *"ab1:-[]{}&*!|>'\"#%@`,?\n \t\x00\x85\ufeff.",
        *("<<", "&a", "*a", "? ", "--- ", "...", "%YAML 1.1\n", "%TAG ! x\n", "2024-13-45", "0x", "1e9999"),
        *("!!binary ", "!!timestamp ", "!!int ", "!!float ", "!!set ", "!!omap ", "!!pairs ", "!!python/name:x "),
    ]
)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_YAML_PIECES, max_size=60).map("".join))
def test_any_text_loads_or_gives_one_line_naming_the_file(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("any") / "any.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_yaml_file(path)
    except MappingDefinitionError as exc:
        message = str(exc)
        assert message.startswith(f"{path}"), message
        assert len(message.splitlines()) == 1, message


# -- lookup files load like mapping files ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("lookup: x\nvalues:\n  A: [1\n  B: 2\n", "x.yaml:4: invalid YAML: expected ','", id="syntax"),
        pytest.param("lookup: x\nvalues:\n  A: 1\n  A: 2\n", "x.yaml:4: key 'A' appears twice", id="duplicate-key"),
        pytest.param("lookup: x\nvalues:\n  1: a\n  '1': b\n", "x.yaml:4: key '1' appears twice", id="same-key-as-text"),
        pytest.param("lookup: x\nvalues: [A, B]\n", "x.yaml:2: lookup x needs a 'values' mapping", id="values-a-list"),
        pytest.param("lookup: x\n", "x.yaml:1: lookup x needs a 'values' mapping", id="no-values"),
        pytest.param("- a\n- b\n", "x.yaml: a lookup file holds one YAML object", id="a-list"),
        pytest.param("lookup: [a]\nvalues: {}\n", "x.yaml:1: lookup: must be a name", id="name-a-list"),
        pytest.param("lookup: x\nvalues:\n  A: \x07\n", "x.yaml:3: invalid YAML: special character U+0007", id="control-char"),
    ],
)
def test_a_broken_lookup_file_is_one_line_naming_file_and_line(tmp_path, text, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingDefinitionError) as caught:
        load_lookup_file(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert expected in message


def test_the_shipped_lookup_tables_load_as_before():
    tables = load_lookup_dir(MAPPINGS / "lookups")
    assert sorted(tables) == ["sap_languages", "sap_units"]
    assert tables["sap_units"].values["ST"] == "C62"
    assert tables["sap_units"].origin == str(MAPPINGS / "lookups" / "sap_units.yaml")


def test_every_broken_lookup_of_a_folder_is_reported_together(tmp_path):
    folder = tmp_path / "mappings"
    (folder / "lookups").mkdir(parents=True)
    (folder / "lookups" / "a.yaml").write_text("lookup: a\nvalues: {X: [1}\n", encoding="utf-8")
    (folder / "lookups" / "b.yaml").write_text("lookup: b\nvalues:\n  X: 1\n  X: 2\n", encoding="utf-8")
    (folder / "lookups" / "c.yaml").write_text("lookup: a\nvalues: {Y: 1}\n", encoding="utf-8")
    (folder / "lookups" / "d.yaml").write_text("lookup: a\nvalues: {Z: 1}\n", encoding="utf-8")
    with pytest.raises(MappingDefinitionError) as caught:
        MappingCatalog.load(folder)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{folder / 'lookups' / 'a.yaml'}:2: invalid YAML")
    assert lines[1] == f"{folder / 'lookups' / 'b.yaml'}:4: key 'X' appears twice"
    assert lines[2] == f"{folder / 'lookups' / 'd.yaml'}: lookup a is also defined in {folder / 'lookups' / 'c.yaml'}"
