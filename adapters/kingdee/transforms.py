"""Mapping transforms for K/3 Cloud payloads (all named ``kingdee_*``), brought by the Kingdee
adapter (:data:`TRANSFORMS`). Like every transform, each raises only
:class:`~bridge.mapping.scalars.TransformError` on bad input.

What the built-ins already do is not repeated here: ``decimal`` reads View's JSON numbers
(``9551.0``, read as exact decimals by the codec) into canonical text, ``iso_datetime`` reads
View's zone-less times in the source's zone, ``strip`` drops K/3 Cloud's one-blank "empty"
texts (``Lot_Text: " "``), and a ``foreach`` over ``Name`` with ``key: Key`` picks the texts of
``[{"Key": 2052, "Value": ".."}]`` by locale.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

from adapters.kingdee.bill_calls import split_order_id
from adapters.kingdee.formats import KingdeeNumber
from bridge.canonical.types import MAX_DECIMAL_DIGITS
from bridge.errors import PermanentError
from bridge.mapping.numbers import canonical_number, read_number
from bridge.mapping.scalars import TransformError
from bridge.mapping.scalars import scalar_text as _text
from bridge.mapping.times import in_zone, parse_iso_date

__all__ = [
    "TRANSFORMS",
    "kingdee_bill_no",
    "kingdee_datetime",
    "kingdee_entry_seq",
    "kingdee_number",
    "kingdee_sum",
]

# Sums are exact: a result needing more digits than the canonical model carries is refused
# (Inexact), never rounded. Twice the canonical digits leaves room for the exponent spread.
_EXACT_SUM = Context(prec=2 * MAX_DECIMAL_DIGITS, traps=[Inexact, InvalidOperation])


def kingdee_number(value: Any) -> KingdeeNumber | None:
    """A decimal that the ``kingdee-json`` format writes as an exact JSON number
    (``"9551"`` -> ``9551``, ``"0.1"`` -> ``0.1``); compared as its text in mapping tests.

    YAML: ``FQuaQty: {path: yield_quantity.value, transform: kingdee_number}``
    """
    text = canonical_number(value)
    return KingdeeNumber(text) if text is not None else None


def kingdee_sum(*values: Any) -> KingdeeNumber | None:
    """The exact sum of the present inputs (absent ones count as nothing; all absent is absent),
    as :func:`kingdee_number`: ``"0.1"`` + ``"0.2"`` is ``0.3``, never ``0.30000000000000004``.

    YAML: ``FFinishQty: {transform: kingdee_sum, args: [yield_quantity.value, scrap_quantity.value]}``
    """
    total: Decimal | None = None
    for value in values:
        found = read_number(value)
        if found is None:
            continue
        try:
            total = found[0] if total is None else _EXACT_SUM.add(total, found[0])
        except Inexact:
            raise TransformError(f"the sum of {', '.join(map(repr, values))} cannot be carried exactly") from None
    return kingdee_number(total) if total is not None else None


def _split(value: Any) -> tuple[str, int] | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return split_order_id(text)
    except PermanentError as exc:
        raise TransformError(str(exc)) from None


def kingdee_bill_no(value: Any) -> str | None:
    """The PRD_MO bill number of an order id ``<BillNo>-<Seq>`` (the last ``-`` splits:
    ``MID-225123101-1`` -> ``MID-225123101``); an order id of another form is refused.

    YAML: ``FMoBillNo: {path: $root.payload.order_id, transform: kingdee_bill_no}``
    """
    found = _split(value)
    return found[0] if found is not None else None


def kingdee_entry_seq(value: Any) -> int | None:
    """The PRD_MO entry row (``Seq``) of an order id ``<BillNo>-<Seq>`` as a number
    (``MO25017346-2`` -> ``2``); an order id of another form is refused.

    YAML: ``FMoEntrySeq: {path: $root.payload.order_id, transform: kingdee_entry_seq}``
    """
    found = _split(value)
    return found[1] if found is not None else None


def kingdee_datetime(value: Any, *, tz: str = "UTC") -> str | None:
    """An ISO date or date-time as K/3 Cloud's local ``yyyy-MM-dd HH:mm:ss`` in ``tz`` (the
    mapping's zone: K/3 Cloud stores server-local times). A time with an offset is converted;
    one without is taken as already local; a date alone is its midnight. Fractions of a second
    are dropped (K/3 Cloud's bill dates keep whole seconds).

    YAML: ``FDate: {first_of: [payload.posting_date, payload.finished_at], transform: kingdee_datetime}``
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:
        return f"{parse_iso_date(text).isoformat()} 00:00:00"
    return in_zone(text, tz).strftime("%Y-%m-%d %H:%M:%S")


TRANSFORMS: dict[str, Callable[..., Any]] = {
    "kingdee_number": kingdee_number,
    "kingdee_sum": kingdee_sum,
    "kingdee_bill_no": kingdee_bill_no,
    "kingdee_entry_seq": kingdee_entry_seq,
    "kingdee_datetime": kingdee_datetime,
}
