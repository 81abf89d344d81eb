"""Ordering of business document versions.

ERP versions arrive as strings: SAP change pointers and IDoc timestamps are long digit strings
(``"20231128083400705437"``), document numbers carry leading zeros (``"0000000000430094"``), and
other systems send free text. All-digit strings compare as numbers of any length, ignoring leading
zeros, so ``"9999" < "20231128083400705437"``; any other string compares in plain string order and
sorts after every all-digit string.
"""

from __future__ import annotations

__all__ = ["is_older", "version_key"]

_DIGITS = 0
_TEXT = 1


def version_key(version: str) -> tuple[int, int, str]:
    """Return a sort key for ``version``.

    All-digit (ASCII) strings become ``(0, number of significant digits, digits)``: comparing the
    length first and then the digits is numeric order for numbers of any size, and leading zeros
    do not count (``"007"`` equals ``"7"``). Anything else becomes ``(1, 0, version)``.

    >>> sorted(["10", "9", "0002", "b", "a"], key=version_key)
    ['0002', '9', '10', 'a', 'b']
    """
    if version.isascii() and version.isdigit():
        significant = version.lstrip("0") or "0"
        return (_DIGITS, len(significant), significant)
    return (_TEXT, 0, version)


def is_older(version: str, other: str) -> bool:
    """Tell whether ``version`` sorts strictly before ``other`` (equal versions are not older).

    >>> is_older("9999", "20231128083400705437")
    True
    >>> is_older("0000000000430094", "430095")
    True
    >>> is_older("007", "7")
    False
    """
    return version_key(version) < version_key(other)
