"""Judging a write's reply row by row: a top-level ``code`` 200 only says the call was processed.

YonBIP's save replies carry ``data.count``, ``sucessCount`` (sic; ``successCount`` accepted too),
``failCount``, ``messages`` and ``infos``; ``infos`` holds either per-row results
(``{"code": "200", "rowNum", "message", "data": {document}}``, finishedreport/save and
productionorder/save) or the saved documents themselves (materialout/save, batchno/save), a list
or a single object (finishedreport/new/save). The official finishedreport/save sample
contradicts itself (``infos[0].code`` 200 with ``sucessCount`` 0 and ``failCount`` 1): such a
reply is ``unclear``, and the document must be read back (detail, or a list by the bridge's own
key) before the write is sent again. A repeated ``resubmitCheckKey`` answered ``100004`` carries
only ``{"id"}``: that is a success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["WriteResult", "write_result"]

Outcome = Literal["ok", "failed", "unclear"]


@dataclass(frozen=True)
class WriteResult:
    """What one write did.

    Attributes:
        outcome: ``ok`` (every row saved), ``failed`` (none), ``unclear`` (the counts and the rows
            disagree, or some rows failed: read the document back).
        documents: the saved documents the reply carries (their ``id`` and ``code``).
        messages: the reply's messages, failures first.
    """

    outcome: Outcome
    documents: tuple[Mapping[str, Any], ...]
    messages: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(str(d["id"]) for d in self.documents if d.get("id") not in (None, ""))


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, Mapping):
        return [str(value.get("message") or "")] if value.get("message") else []
    if isinstance(value, Sequence):
        return [t for item in value for t in _texts(item)]
    return []


def write_result(reply: Mapping[str, Any]) -> WriteResult:
    """The outcome of a write whose reply came back with a success code (see the module doc)."""
    data = reply.get("data")
    if str(reply.get("code")) in ("100004", "10004"):  # the key was used before: its document's id
        documents = (data,) if isinstance(data, Mapping) and data.get("id") is not None else ()
        return WriteResult("ok" if documents else "unclear", documents, tuple(_texts(reply.get("message"))))
    if not isinstance(data, Mapping):
        return WriteResult("unclear", (), ())
    infos = data.get("infos")
    rows = [infos] if isinstance(infos, Mapping) else [r for r in infos or [] if isinstance(r, Mapping)]
    saved, failed_rows = [], 0
    for row in rows:
        if "code" in row and ("rowNum" in row or "data" in row):  # a per-row result
            if str(row["code"]) == "200" and isinstance(row.get("data"), Mapping):
                saved.append(row["data"])
            else:
                failed_rows += 1
        elif row.get("id") not in (None, "", 0):  # the saved document itself
            saved.append(row)
    count = _number(data.get("count"))
    succeeded = _number(data.get("sucessCount", data.get("successCount")))
    failed = _number(data.get("failCount"))
    messages = tuple(_texts(data.get("failInfos")) + _texts(data.get("messages")))
    if failed == 0 and failed_rows == 0 and saved and (succeeded is None or succeeded == len(saved)) \
            and (count is None or count == len(saved)):
        return WriteResult("ok", tuple(saved), messages)
    if not saved and (succeeded in (0, None)) and (failed or failed_rows):
        return WriteResult("failed", (), messages)
    return WriteResult("unclear", tuple(saved), messages)
