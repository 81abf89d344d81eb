"""Character encodings of flat IDoc files: Python codec names and SAP code page numbers.

A SAP file port writes a flat IDoc in UTF-8 only when the port's *Unicode format* is set;
otherwise in its code page (GBK for a Chinese plant, ISO-8859-1 for a Western European one), so
the integrator declares it per source system (``sources.<system>.encoding``) or with
``--encoding``. Either spelling is accepted: a Python codec name (``gbk``, ``latin-1``) or a SAP
code page number (``8400``, ``1100``), as SAP's transactions (WE21, SCP, TCP00) show it.

Only ASCII-compatible, stateless encodings can carry a flat IDoc: its records are laid out in
fixed ASCII columns (``EDI_DC40``, SEGNUM...). UTF-16/32, EBCDIC and ISO-2022 are refused.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bridge.errors import ConfigError

__all__ = ["DEFAULT_ENCODING", "SAP_CODE_PAGES", "FlatEncoding", "flat_encoding"]

#: SAP code page number -> Python codec. Sources (checked, not from memory):
#: help.sap.com "Languages, Code Pages, and Conversions" (1100 = ISO 8859-1, 1800 = ISO 8859-8,
#: 8000 = Shift JIS, 8300 = Traditional Chinese, 8400 = Simplified Chinese, 8500 = Korean /
#: Microsoft 949, 8600 = Thai TIS 620-2533); help.sap.com "Preconfigured Code Pages" (RFC:
#: East European 1401, Cyrillic 1500, Turkish 1610, Greek 1700, all ISO 8859 based);
#: help.sap.com 4.7 "Code Page" (English: server 1100, Windows front end 1160, which has the
#: trademark sign ISO 8859-1 lacks, i.e. Windows-1252; Polish: 1401 / front end 1404 =
#: Windows-1250); SAP Note 432922 "Support of GB-18030 (SAP-8401)"; SAP Note 628299 (8400 is
#: GB 2312 (EUC-GB); GBK, its superset, decodes it exactly); SAP's note on Cyrillic code pages
#: (1500 ISO-8859-5, 1503 IBM 866, 1504 Windows-1251, 4110 UTF-8); ABAP glossary "SAP code page
#: number" (UTF-16: 4102 big endian, 4103 little endian). 8300 is Big5 (reference notes
#: sap-idoc-soap.md §1.2). Unverified numbers (e.g. 8700 Arabic, 1900 Baltic) are left out:
#: give their Python codec name instead.
SAP_CODE_PAGES: dict[str, str] = {
    "1100": "latin-1",
    "1160": "cp1252",
    "1401": "iso8859-2",
    "1404": "cp1250",
    "1500": "iso8859-5",
    "1503": "cp866",
    "1504": "cp1251",
    "1610": "iso8859-9",
    "1700": "iso8859-7",
    "1800": "iso8859-8",
    "4102": "utf-16-be",
    "4103": "utf-16-le",
    "4110": "utf-8",
    "8000": "shift_jis",
    "8300": "big5",
    "8400": "gbk",
    "8401": "gb18030",
    "8500": "cp949",
    "8600": "tis-620",
}

DEFAULT_ENCODING = "utf-8"
"""What a flat file is read as when no encoding is declared (a Unicode file port)."""

_CODEC_EXAMPLES = "utf-8, gbk, latin-1, cp1252, big5, shift_jis"
_EXAMPLES = f"{_CODEC_EXAMPLES}, or SAP code page 4110, 8400, 8300, 8000, 1100, 1160"
_STATEFUL = ("iso2022", "hz", "utf-7")  # escape sequences switch the meaning of ASCII bytes
_ASCII = bytes(range(0x20, 0x7F)) + b"\t\r\n"

Kind = Literal["utf-8", "single-byte", "multi-byte"]


@dataclass(frozen=True, slots=True)
class FlatEncoding:
    """A declared encoding, checked and classified.

    Attributes:
        declared: the name as the integrator wrote it (``8400``, ``GBK``), for messages.
        codec: the Python codec (``gbk``).
        kind: ``utf-8`` (field positions count characters), ``single-byte`` (bytes and
            characters coincide) or ``multi-byte`` (positions count bytes: a GBK Chinese
            character takes two columns).
    """

    declared: str
    codec: str
    kind: Kind

    @property
    def label(self) -> str:
        """``gbk`` or ``gbk (SAP code page 8400)`` for messages."""
        return self.codec if self.declared.lower() == self.codec else f"{self.codec} ({self.declared})"


def flat_encoding(name: str | int | None) -> FlatEncoding:
    """The encoding a flat IDoc file is declared in (UTF-8 when ``name`` is empty).

    Args:
        name: a Python codec name (``gbk``, ``latin-1``, ``utf-8``) or a SAP code page number
            (``8400``, as text or integer).

    Raises:
        ConfigError: an unknown name (the message lists examples), or an encoding that cannot
            carry a flat IDoc (UTF-16/32, EBCDIC, ISO-2022).
    """
    return _resolve(str(name).strip() if name not in (None, "") else DEFAULT_ENCODING)


@lru_cache(maxsize=64)
def _resolve(declared: str) -> FlatEncoding:
    number = (declared.lstrip("0") or "0") if declared.isascii() and declared.isdigit() else None
    if number is not None:
        codec_name = SAP_CODE_PAGES.get(number.rjust(4, "0"))
        if codec_name is None:
            raise ConfigError(
                f"encoding {declared!r}: not a SAP code page number the bridge knows "
                f"({', '.join(SAP_CODE_PAGES)}); give a Python codec name instead (e.g. {_CODEC_EXAMPLES})"
            )
        what = f"{codec_name} (SAP code page {number})"
    else:
        codec_name = declared
        what = declared
    try:
        codec = codecs.lookup(codec_name).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise ConfigError(f"unknown encoding {declared!r} (examples: {_EXAMPLES})") from None
    try:
        sample = _ASCII.decode(codec)
    except LookupError:  # a bytes-to-bytes codec such as base64
        raise ConfigError(f"encoding {declared!r} is not a text encoding (examples: {_EXAMPLES})") from None
    except UnicodeError:
        sample = ""
    if sample != _ASCII.decode("ascii") or codec.startswith(_STATEFUL):
        raise ConfigError(
            f"encoding {what} cannot carry a flat IDoc file: its records are laid out in ASCII "
            f"columns and {codec} does not keep ASCII as single bytes (SAP file ports write "
            f"UTF-8 or an ASCII-based code page: {_EXAMPLES})"
        )
    if number is not None:
        declared = f"SAP code page {number}"
    if codec in ("utf-8", "utf-8-sig"):
        return FlatEncoding(declared, "utf-8", "utf-8")
    # every byte is one character in a single-byte code page; a multi-byte one pairs some
    single = len(bytes(range(256)).decode(codec, "replace")) == 256
    return FlatEncoding(declared, codec, "single-byte" if single else "multi-byte")
