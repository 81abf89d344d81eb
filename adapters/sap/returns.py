"""Read a BAPI's RETURN messages: success, or the typed error SAP's message means.

A lock (``FLG_LOCKED`` set, or SAP's lock texts) is transient whatever its TYPE and is looked
for first, in every message of the reply; then the first TYPE E or A message decides through
the error table (M7 021 retried for a bounded time, M7 053 permanent, other E/A permanent), its
text kept for the dead-letter headers. SAP reports "no error" with TYPE S, I, W or blank
(reference §8.1.2: a blank TYPE with a NUMBER is success).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bridge.adapter.errors import ErrorFacts, ErrorKind, ErrorTable
from bridge.errors import BridgeError, NotSentError, TransientError

__all__ = ["failure_of", "message_text", "messages_of"]

_FAILED = {"E", "A"}


def message_text(row: Mapping[str, Any]) -> str:
    """``E M7 053 Posting only possible in periods ...`` (TYPE, ID, NUMBER, MESSAGE)."""
    parts = (row.get("TYPE"), row.get("ID"), row.get("NUMBER"), row.get("MESSAGE"))
    return " ".join(str(p).strip() for p in parts if p not in (None, ""))


def _facts(row: Mapping[str, Any]) -> ErrorFacts:
    ident, number = str(row.get("ID") or "").strip(), str(row.get("NUMBER") or "").strip()
    flags = frozenset({"FLG_LOCKED"}) if str(row.get("FLG_LOCKED") or "").strip() else frozenset()
    return ErrorFacts(
        message_type=str(row.get("TYPE") or "").strip().upper() or None,
        code=f"{ident}/{number}" if ident and number else None,
        text=str(row.get("MESSAGE") or ""),
        flags=flags,
    )


def _not_sent(error: BridgeError) -> BridgeError:
    return NotSentError(str(error)) if type(error) is TransientError else error


def messages_of(*sources: Any) -> list[Mapping[str, Any]]:
    """The message rows of RETURN structures and tables, in order, empty ones left out."""
    rows: list[Mapping[str, Any]] = []
    for source in sources:
        for row in source if isinstance(source, list) else [source]:
            if isinstance(row, Mapping) and (row.get("TYPE") or row.get("MESSAGE") or row.get("FLG_LOCKED")):
                rows.append(row)
    return rows


def failure_of(
    rows: Iterable[Mapping[str, Any]], errors: ErrorTable, what: str, *, failing_for_s: float = 0.0
) -> BridgeError | None:
    """The error a reply's messages mean, or None when SAP posted. A transient one is a
    :class:`~bridge.errors.NotSentError`: SAP answered, and a BAPI that returns an error posts
    nothing (one call is one LUW)."""
    listed = list(rows)
    for row in listed:
        facts = _facts(row)
        rule = errors.classify(facts)
        if rule is not None and rule.kind is ErrorKind.TRANSIENT and (facts.flags or rule.text):
            return _not_sent(errors.error(facts, f"{what}: {message_text(row)}", failing_for_s=failing_for_s))
    for row in listed:
        facts = _facts(row)
        if facts.message_type in _FAILED:
            return _not_sent(errors.error(facts, f"{what}: {message_text(row)}", failing_for_s=failing_for_s))
    return None
