"""Every file of tests/data/hostile/xml gets the outcome its manifest (expected.yaml) names.

An entry is ``ok`` (decoded; ``same_as`` another file's IDocs, ``idocs`` how many, ``absent`` texts
no field may hold) or ``error`` (a ``BridgeError`` on one line that starts with the file name and
holds each given substring); ``translate_error`` gives substrings of the one-line error the
offline translator gives for a file that decodes. ``xfail: <reason>`` marks a known problem (strict: the test fails
once it is fixed, so the entry must then be updated). ``*.gz`` files are decompressed first
(a huge document need not be committed huge).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc, Segment
from bridge.errors import BridgeError
from bridge.mapping import MappingCatalog
from bridge.translate import Translator

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
CORPUS = DATA / "hostile" / "xml"
MANIFEST: dict[str, Any] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
NOT_CASES = {"README.md", "expected.yaml"}
CODEC = SapCodec()


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def values(segment: Segment) -> list[str]:
    found = list(segment.fields().values())
    for child in segment.children:
        found += values(child)
    return found


def shape(segment: Segment) -> list[Any]:
    return [(c.segment_type, c.fields(), shape(c)) for c in segment.children]


def same(a: IDoc, b: IDoc) -> bool:
    return (a.control, a.idoc_type, a.extension, shape(a.root)) == (b.control, b.idoc_type, b.extension, shape(b.root))


def test_every_corpus_file_has_an_expectation_and_a_readme_line() -> None:
    files = {p.name for p in CORPUS.iterdir()} - NOT_CASES
    assert files == set(MANIFEST)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [name for name in sorted(files) if f"`{name}`" not in readme] == []


def _params(xfail: bool = True) -> list[Any]:
    params = []
    for name, entry in sorted(MANIFEST.items()):
        marks = [pytest.mark.xfail(reason=entry["xfail"], strict=True)] if xfail and "xfail" in entry else []
        params.append(pytest.param(name, entry, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("name", "entry"), _params())
def test_each_hostile_xml_file_gets_its_expected_outcome(name: str, entry: dict[str, Any]) -> None:
    data = read(CORPUS / name)
    if "error" in entry:
        with pytest.raises(BridgeError) as caught:
            CODEC.decode_idocs(data, origin=name)
        message = str(caught.value)
        assert "\n" not in message, message
        assert message.startswith(f"{name}: "), message
        says = entry["error"] if isinstance(entry["error"], list) else [entry["error"]]
        for part in says:
            assert part in message, message
        assert len(message) < 500, message
        return
    idocs = CODEC.decode_idocs(data, origin=name)
    assert len(idocs) == entry.get("idocs", 1)
    if "same_as" in entry:
        expected = CODEC.decode_idocs(read(DATA / entry["same_as"]))
        assert len(idocs) == len(expected)
        assert all(same(a, b) for a, b in zip(idocs, expected, strict=True))
    texts = [v for idoc in idocs for v in [*idoc.control.values(), *values(idoc.root)]]
    for absent in entry.get("absent", []):
        assert not any(absent in text for text in texts), absent


TRANSLATOR = Translator(MappingCatalog.load(MAPPINGS), source_system="sap")


@pytest.mark.parametrize(("name", "entry"), _params(xfail=False))
def test_each_hostile_xml_file_translates_or_gets_a_one_line_error(name: str, entry: dict[str, Any]) -> None:
    """The whole offline path: what the decoder makes of the file is safe for the mappings too."""
    try:
        for document in TRANSLATOR.decode(read(CORPUS / name), name):
            TRANSLATOR.map_document(document)
    except BridgeError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert len(message) < 1000, message
        if "error" not in entry:  # decoded fine: only the mapping may refuse, naming the document
            assert message.startswith(name), message
        says = entry.get("translate_error", [])
        for part in says if isinstance(says, list) else [says]:
            assert part in message, message
    else:
        assert "translate_error" not in entry
