"""Properties of the IDoc-XML reader and writer over generated IDoc trees and hostile input.

1. Any IDoc tree (SAP's ``/NS/`` names, values with CJK, XML specials and leading blanks),
   written by ``write_idoc_xml`` with or without the SOAP namespace and ``SEGMENT`` attributes,
   several IDOCs to a document, reads back equal through ``SapCodec().decode_idocs``.
2. Arbitrary bytes and mutated real documents give IDocs or a one-line ``BridgeError``, never
   another exception, through the decoder and through the whole offline path
   (``Translator`` over the repository's mappings), so that mapping transforms see what the
   decoder makes of hostile input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_codec import write_idoc_xml
from bridge.errors import BridgeError
from bridge.mapping import MappingCatalog
from bridge.translate import Translator

from ..conftest import MAPPINGS

DATA = Path(__file__).parents[1] / "data"
CODEC = SapCodec()
XML_SAMPLES = sorted((DATA / "sap" / "xml").glob("*.xml")) + sorted((MAPPINGS / "sap" / "cases").glob("*.xml"))
RESERVED = {"IDOC", "EDI_DC40"}

# -- generated trees ---------------------------------------------------------------------------

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PLAIN = st.builds(str.__add__, st.sampled_from(_UPPER), st.text(_UPPER + "0123456789_", max_size=11))
_NAMESPACED = st.builds(
    "/{}/{}".format, st.text(_UPPER + "0123456789", min_size=1, max_size=6), _PLAIN
)  # SAP's namespaced names, e.g. /RB04/YP3_E1EDK01_XML (written as _-RB04_-YP3_E1EDK01_XML)
NAMES = st.one_of(_PLAIN, _PLAIN, _NAMESPACED).filter(lambda n: n not in RESERVED)

# Characters XML 1.0 can carry (no C0 controls, no surrogates, no U+FFFE/U+FFFF); CR would be
# normalised to LF by any XML parser, so it is left out like the other controls.
_CHARS = st.one_of(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
    st.sampled_from("&<>\"' 装配篮子焊接小心轻放ÄÖüß€"),
    st.just("\t"),
)


def _valid_value(text: str) -> str:
    return text.rstrip()


VALUES = st.one_of(
    st.text(_CHARS, min_size=1, max_size=20),
    st.builds("  {}".format, st.text(_CHARS, min_size=1, max_size=10)),  # leading blanks are data
    st.sampled_from(["00000000", "0000000000430094", "1.000", "-5", "&amp;", "<B>9</B>", "a]]>b", "装配篮子"]),
).map(_valid_value).filter(bool)


@st.composite
def segments(draw: st.DrawFn, depth: int = 0) -> Segment:
    segment = Segment(draw(NAMES))
    all_names = draw(st.lists(NAMES, max_size=8, unique=True))  # a field and a child type never share a name
    split = draw(st.integers(0, len(all_names)))
    names = all_names[:split]
    child_names = [] if depth >= 3 else all_names[split:][:3]
    for name in names:
        segment[name] = draw(VALUES)
    for name in child_names:
        for _ in range(draw(st.integers(1, 2))):
            child = draw(segments(depth + 1))
            child.segment_type = name
            segment.add_child(child)
    return segment


@st.composite
def idocs(draw: st.DrawFn, idoc_type: str, extension: str | None, with_idoctyp: bool) -> IDoc:
    control = {
        "TABNAM": "EDI_DC40",
        "DOCNUM": f"{draw(st.integers(1, 10**15)):016d}",
        "MESTYP": draw(NAMES),
        "SNDPRN": draw(VALUES),
        "CREDAT": "20240315",
    }
    if with_idoctyp:
        control["IDOCTYP"] = idoc_type
    if extension:
        control["CIMTYP"] = extension
    extra = draw(st.dictionaries(NAMES.filter(lambda n: n not in control), VALUES, max_size=3))
    idoc = IDoc(control=control | extra, idoc_type=idoc_type, extension=extension)
    top = draw(st.lists(segments(), max_size=4))
    for segment in top:
        idoc.root.add_child(segment)
    return idoc


def shape(segment: Segment) -> list[Any]:
    """Child segments in document order, recursively (``==`` on segments ignores order across types)."""
    return [(c.segment_type, c.fields(), shape(c)) for c in segment.children]


def same(a: IDoc, b: IDoc) -> bool:
    return (a.control, a.idoc_type, a.extension, a.tree(), shape(a.root)) == (
        b.control,
        b.idoc_type,
        b.extension,
        b.tree(),
        shape(b.root),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    idoc_type=NAMES,
    extension=st.one_of(st.none(), NAMES),
    soap=st.booleans(),
    attributes=st.booleans(),
)
def test_generated_idoc_trees_read_back_equal(
    data: st.DataObject, idoc_type: str, extension: str | None, soap: bool, attributes: bool
) -> None:
    assume(extension != idoc_type)
    count = 1 if soap else data.draw(st.integers(1, 3), label="idocs")
    written = [data.draw(idocs(idoc_type, extension, with_idoctyp=True), label="idoc") for _ in range(count)]
    document = write_idoc_xml(written, soap_namespace=soap, segment_attributes=attributes)
    read = CODEC.decode_idocs(document, origin="generated.xml")
    assert len(read) == count
    for again, idoc in zip(read, written, strict=True):
        assert same(again, idoc), (again.tree(), idoc.tree())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), idoc_type=NAMES, attributes=st.booleans())
def test_without_idoctyp_the_root_element_names_the_basic_type(
    data: st.DataObject, idoc_type: str, attributes: bool
) -> None:
    idoc = data.draw(idocs(idoc_type, None, with_idoctyp=False), label="idoc")
    (again,) = CODEC.decode_idocs(write_idoc_xml([idoc], segment_attributes=attributes), origin="x.xml")
    assert same(again, idoc)


# -- hostile input ------------------------------------------------------------------------------


def decoded_or_one_line_error(data: bytes) -> list[IDoc] | BridgeError:
    """IDocs or the typed error; any other exception propagates and fails the test."""
    try:
        return CODEC.decode_idocs(data, origin="fuzz.xml")
    except BridgeError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert message.startswith("fuzz.xml: "), message
        return exc


_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><LOIPRO05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">'
SNIPPETS = [
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"<",
    b"</",
    b">",
    b"&",
    b"&#0;",
    b"&#x110000;",
    b"&bogus;",
    b"]]>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"<?pi?>",
    b"<!DOCTYPE x>",
    b'<!ENTITY e SYSTEM "file:///etc/passwd">',
    b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>',
    b"<B>9</B>",
    b' SEGMENT="1"',
    b' xmlns="urn:sap-com:document:sap:idoc:soap:messages"',
    b"<IDOC>",
    b"</IDOC>",
    b"<EDI_DC40/>",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="bogus"?>',
    "装配".encode(),
    "装配".encode("gbk"),
    b"9" * 60,
    b"\r\n",
]


@settings(max_examples=400, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=2000).map(lambda b: b"<" + b),
        st.binary(max_size=2000).map(lambda b: _XML_HEAD + b),
        st.lists(st.sampled_from(SNIPPETS), max_size=30).map(lambda parts: _XML_HEAD + b"".join(parts)),
    )
)
def test_arbitrary_bytes_give_idocs_or_a_one_line_bridge_error(data: bytes) -> None:
    decoded_or_one_line_error(data)


MUTATION = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "snippet", "truncate", "duplicate"]),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=255),
    st.sampled_from(SNIPPETS),
)


def mutated(data: bytes, mutations: list[tuple[str, int, int, bytes]]) -> bytes:
    buf = bytearray(data)
    for op, where, byte, snippet in mutations:
        at = where % (len(buf) + 1)
        if op == "replace" and at < len(buf):
            buf[at] = byte
        elif op == "insert":
            buf.insert(at, byte)
        elif op == "delete":
            del buf[at : at + 1 + byte % 16]
        elif op == "snippet":
            buf[at:at] = snippet
        elif op == "truncate":
            del buf[at:]
        else:  # a slice of the document repeated: duplicated elements, split tags
            buf[at:at] = buf[at : at + 1 + byte * 4]
    return bytes(buf)


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from(XML_SAMPLES),
    mutations=st.lists(MUTATION, min_size=1, max_size=6),
    encoding=st.sampled_from([None, "utf-16", "utf-16-le", "utf-32", "gbk"]),
)
def test_mutated_real_documents_give_idocs_or_a_one_line_bridge_error(
    sample: Path, mutations: list[tuple[str, int, int, bytes]], encoding: str | None
) -> None:
    data = mutated(sample.read_bytes(), mutations)
    if encoding:  # the same document re-encoded (declaration kept: it then lies, or not)
        data = data.decode("utf-8", "replace").encode(encoding, "replace")
    decoded_or_one_line_error(data)


# -- the whole offline path ---------------------------------------------------------------------

TRANSLATOR = Translator(MappingCatalog.load(MAPPINGS), source_system="sap")
CASE_SAMPLES = sorted((MAPPINGS / "sap" / "cases").glob("*.xml"))
HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [
            "9" * 40,
            "0.1234567890123456789012345678901",
            "1e-9999999",
            "1e999999",
            "1e9999999",
            "-5-",
            "+5-",
            "1 5",
            "¹",
            "00000²",
            "１２３",
            "NaN",
            "-Infinity",
            "99991231",
            "240000",
            "00000000",
            "20240230",
            "装配篮子",
            "&amp;&lt;",
            "&#0;",
            "A" * 300,
        ]
    ),
    st.text(_CHARS, max_size=12),
    st.from_regex(r"[-+ ]?[0-9¹²³０-９]{0,40}([.,][0-9]{0,40})?([eE][-+]?[0-9]{1,9})?[-+ ]?", fullmatch=True),
)


def _fields_of(data: bytes) -> list[tuple[int, int]]:
    """Spans of the text of leaf elements (``<F>text</F>``) in a document."""
    import re

    return [m.span(1) for m in re.finditer(rb"<[A-Za-z_][\w.-]*>([^<]*)</[A-Za-z_][\w.-]*>", data)]


def translation_error(data: bytes) -> BridgeError | None:
    """Translate (decode, map, serialise); the typed error if there is one, anything else propagates."""
    try:
        for document in TRANSLATOR.decode(data, "fuzz.xml"):
            assert all("\n" not in w for w in document.warnings)
            for envelope in TRANSLATOR.map_document(document):
                json.dumps(envelope, ensure_ascii=False)
    except BridgeError as exc:
        return exc
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(CASE_SAMPLES),
    picks=st.lists(st.tuples(st.integers(min_value=0), HOSTILE_VALUES), min_size=1, max_size=5),
    mutations=st.lists(MUTATION, max_size=2),
)
def test_hostile_values_and_mutations_through_the_translator_give_output_or_a_one_line_error(
    sample: Path, picks: list[tuple[int, str]], mutations: list[tuple[str, int, int, bytes]]
) -> None:
    data = sample.read_bytes()
    for where, value in picks:  # one field's text at a time, offsets found afresh
        spans = _fields_of(data)
        start, end = spans[where % len(spans)]
        text = value.replace("&", "&amp;").replace("<", "&lt;") if "&" not in value[:1] else value
        data = data[:start] + text.encode("utf-8") + data[end:]
    error = translation_error(mutated(data, mutations))
    assert error is None or "\n" not in str(error), str(error)


@pytest.mark.parametrize("sample", CASE_SAMPLES, ids=lambda p: p.name)
def test_every_case_sample_translates_unmutated(sample: Path) -> None:
    """The mutation test's baseline: each sample does reach the mapping layer."""
    documents = TRANSLATOR.decode(sample.read_bytes(), sample.name)
    assert documents
    error = translation_error(sample.read_bytes())
    if "_bad_" in sample.name or "_missing_" in sample.name:  # refused on purpose, on one line
        assert error is not None
        assert "\n" not in str(error)
    else:
        assert error is None, str(error)
