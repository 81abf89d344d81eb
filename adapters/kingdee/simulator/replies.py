"""The envelopes K/3 Cloud answers in (reference kingdee-yonyou §1.4): a ``ResponseStatus`` with
per-item ``SuccessEntitys`` and ``Errors`` told apart by ``DIndex``, ``ErrorCode`` 500 and a
``MsgCode`` when something failed (a success carries no ``ErrorCode``, as in the real samples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Failure", "Outcome", "failure", "status", "wrapped"]


@dataclass(frozen=True)
class Failure:
    """One item refused: its message, the MsgCode, the field (when a field is at fault)."""

    message: str
    code: int = 11
    field: str | None = ""
    index: int = 0


@dataclass(frozen=True)
class Outcome:
    """One item done: the record's id and number."""

    fid: int
    number: str
    index: int = 0


def status(done: Sequence[Outcome] = (), failed: Sequence[Failure] = (),
           messages: Sequence[str] = ()) -> dict[str, Any]:
    """A ``ResponseStatus``; ``messages`` go to ``SuccessMessages`` (one per item done)."""
    result: dict[str, Any] = {} if not failed else {"ErrorCode": 500}
    result.update({
        "IsSuccess": not failed,
        "Errors": [{"FieldName": f.field, "Message": f.message, "DIndex": f.index} for f in failed],
        "SuccessEntitys": [{"Id": o.fid, "Number": o.number, "DIndex": o.index} for o in done],
        "SuccessMessages": [{"FieldName": None, "Message": m, "DIndex": o.index} for o, m in zip(done, messages, strict=False)],
        "MsgCode": failed[0].code if failed else 0,
    })
    return result


def failure(message: str, code: int, field: str | None = None) -> dict[str, Any]:
    """A whole call refused: ``{"Result": {"ResponseStatus": ...}}``."""
    return {"Result": {"ResponseStatus": status(failed=[Failure(message, code, field)])}}


def wrapped(reply: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """A query's refusal, which the server sends inside a 2-D array."""
    return [[reply]]
