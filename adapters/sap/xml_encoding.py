"""Which encoding an XML document's bytes are in, and UTF-16/32 documents as UTF-8.

XML 1.0 Appendix F: a byte order mark, else the first four bytes (``<?xm`` in UTF-16 or
UTF-32 without a BOM), say the encoding family; the XML declaration names the rest, and the
parser reads those itself. UTF-16 and UTF-32 documents (Windows tools and some middleware
write UTF-16) are decoded strictly and handed on as UTF-8 with the declaration rewritten, so
one parser path, one DTD check and one sniffer serve every document; bytes that are not valid
in the encoding are refused with the byte offset.
"""

from __future__ import annotations

import codecs
import re

from adapters.sap.errors import IDocError

__all__ = ["as_utf8", "text_head", "wide_encoding"]

# Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE", "utf-32-be"),
    (codecs.BOM_UTF8, "UTF-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE", "utf-16-be"),
)
# "<" (or "<?xm") without a BOM, Appendix F.1.
_BOMLESS = (
    (b"<\x00\x00\x00", "UTF-32 LE", "utf-32-le"),
    (b"\x00\x00\x00<", "UTF-32 BE", "utf-32-be"),
    (b"<\x00?\x00", "UTF-16 LE", "utf-16-le"),
    (b"\x00<\x00?", "UTF-16 BE", "utf-16-be"),
)
_DECLARED_ENCODING = re.compile(r"""\A(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")


def wide_encoding(data: bytes) -> tuple[str, str, int] | None:
    """``(label, python codec, BOM length)`` for a UTF-16/32 document, ``None`` for any other.

    Leading whitespace before a BOM-less ``<`` counts: ``" \\x00<\\x00"`` is UTF-16 too.
    """
    for bom, label, codec in _BOMS:
        if data.startswith(bom):
            return None if codec == "utf-8" else (label, codec, len(bom))
    head = data[:64]
    for pattern, label, codec in _BOMLESS:
        if head.startswith(pattern):
            return label, codec, 0
    if len(head) >= 4 and b"\x00" in head[:4]:
        for _, label, codec in _BOMLESS:
            try:
                text = head[: len(head) // 4 * 4].decode(codec)
            except UnicodeDecodeError:
                continue
            if text.lstrip().startswith("<"):
                return label, codec, 0
    return None


def as_utf8(data: bytes, *, source: str | None = None) -> bytes:
    """The document as UTF-8 bytes: UTF-16/32 decoded strictly, the declaration saying UTF-8.

    Other documents are returned as they are (the parser reads their declared encoding).

    Raises:
        DecodeError: bytes invalid in the document's UTF-16/32 encoding, naming it and the offset.
    """
    wide = wide_encoding(data)
    if wide is None:
        return data
    label, codec, bom = wide
    try:
        text = data[bom:].decode(codec)
    except UnicodeDecodeError as exc:
        raise IDocError(
            f"XML document in {label} has bytes that are not valid {label} at byte offset "
            f"{bom + exc.start}: {exc.reason}",
            source=source,
        ) from None
    return _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text, count=1).encode("utf-8")


def text_head(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes as UTF-8, for sniffing: UTF-16/32 heads are transcoded
    leniently (a cut character does not matter there), a UTF-8 BOM is dropped."""
    wide = wide_encoding(data)
    if wide is None:
        return data[:size].removeprefix(codecs.BOM_UTF8)
    _, codec, bom = wide
    return data[bom : bom + size * 4].decode(codec, errors="replace").encode("utf-8")[:size]
