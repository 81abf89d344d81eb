"""What ingest takes from a document for AMQP short strings stays within AMQP's limits.

The routing key, message id, correlation id and type of a message are AMQP short strings (255
bytes at most); pika refuses a longer one in its I/O thread, so one document with a 300-character
IDOCTYP or DOCNUM made ``bridge ingest`` fail and retry until its deadline (found by
``bench/fuzz_decoders.py``' values through ``identify``). Such a document is now ingested under
its file hash as ``unknown``, and the translate stage says what is wrong with it.
"""

from __future__ import annotations

import pika.spec
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sap.codec import SapCodec
from bridge.pipeline.ingest import identify

from ..conftest import MAPPINGS

ORDER = (MAPPINGS / "sap" / "cases" / "LOIPRO05_DMC_nonSAP_ERP.xml").read_bytes()
CODEC = SapCodec()


def with_control(idoctyp: str, docnum: str, sndprn: str) -> bytes:
    def esc(text: str) -> bytes:
        return text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8")

    data = ORDER.replace(b"<DOCNUM>0000000000007699</DOCNUM>", b"<DOCNUM>" + esc(docnum) + b"</DOCNUM>")
    data = data.replace(b"<SNDPRN>AX2012 Manu</SNDPRN>", b"<SNDPRN>" + esc(sndprn) + b"</SNDPRN>")
    return data.replace(b"<MESTYP>LOIPRO</MESTYP>", b"<MESTYP>LOIPRO</MESTYP><IDOCTYP>" + esc(idoctyp) + b"</IDOCTYP>")


def encodes_for_amqp(data: bytes) -> None:
    document = identify(data, system="sap", origin="order.xml", codec=CODEC, options={})
    pika.spec.Basic.Publish(exchange="bridge.inbound", routing_key=document.routing_key).encode()
    pika.spec.BasicProperties(
        message_id=document.message_id,
        correlation_id=document.correlation_id,
        type=f"raw.{document.system}.{document.document_type}",
    ).encode()


def test_a_300_character_idoctyp_is_ingested_as_unknown_under_the_file_hash() -> None:
    document = identify(with_control("X" * 300, "1" * 300, "S4HCLNT100"), system="sap", origin="o.xml", codec=CODEC, options={})
    assert document.document_type == "unknown"
    assert document.message_id.startswith("sap:file:")
    assert document.document_id == ""


def test_ordinary_ids_are_kept() -> None:
    document = identify(with_control("LOIPRO05", "0000000000007699", "AX2012 Manu"), system="sap", origin="o.xml", codec=CODEC, options={})
    assert (document.document_type, document.document_id) == ("LOIPRO05", "0000000000007699")
    assert document.message_id.startswith("sap:AX2012 Manu:0000000000007699:")


TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufffe\uffff"), min_size=1, max_size=300),
    st.integers(1, 400).map(lambda n: "装" * n),
    st.integers(1, 400).map(lambda n: "X" * n),
)


@settings(max_examples=150, deadline=None)
@given(idoctyp=TEXT, docnum=TEXT, sndprn=TEXT)
def test_whatever_the_control_record_holds_the_message_encodes(idoctyp: str, docnum: str, sndprn: str) -> None:
    encodes_for_amqp(with_control(idoctyp, docnum, sndprn))
