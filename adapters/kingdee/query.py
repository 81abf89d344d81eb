"""What a K/3 Cloud data center holds, read with ExecuteBillQuery (the query role, bridge.adapter.query).

* ``order``: PRD_MO entry rows, one record per row (``<FBillNo>-<FSeq>``): material, quantity and
  unit, the bill's FDocumentStatus and the row's FStatus, reported (FRepQuaQty) and stocked in
  (FStockInQuaQty);
* ``report`` (PRD_MORPT), ``receipt`` (PRD_INSTOCK), ``issue`` (PRD_PickMtrl): one record per
  entry row, numbered ``<FBillNo>/<FSeq>``, keyed by the order row it names (FMoBillNo,
  FMoEntrySeq), marked with the route's key field (``MES:<report_id>`` when the bridge posted it).

Records are listed for keys (order ids), a window on FDate, or both. Quantities are the exact
decimal strings of the JSON numbers the server sent (the client parses them as Decimal; trailing
zeros dropped), paged
with StartRow/Limit (the settings' ``page_size`` or 2000 rows a page).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from adapters.kingdee.bill_calls import split_order_id
from adapters.kingdee.target import KingdeeTargetSettings
from bridge.adapter.query import QueryContext, TargetRecord
from bridge.errors import ConfigError, PermanentError

__all__ = ["KingdeeQuery", "make_kingdee_query"]

#: kind -> (form, the quantities it carries: fact name -> field)
_BILLS: dict[str, tuple[str, dict[str, str]]] = {
    "report": ("PRD_MORPT", {"quantity": "FQuaQty", "finished": "FFinishQty", "scrap": "FScrapQty"}),
    "receipt": ("PRD_INSTOCK", {"quantity": "FRealQty"}),
    "issue": ("PRD_PickMtrl", {"quantity": "FActualQty"}),
}
_KINDS = ("order", *_BILLS)
_ORDER_FIELDS = ("FBillNo", "FTreeEntity_FSeq", "FDate", "FDocumentStatus", "FStatus", "FMaterialId.FNumber", "FQty",
                 "FUnitId.FNumber", "FRepQuaQty", "FStockInQuaQty", "FModifyDate")
_BILL_FIELDS = ("FBillNo", "FEntity_FSeq", "FDate", "FDocumentStatus", "FMoBillNo", "FMoEntrySeq",
                "FMaterialId.FNumber", "FLot.FNumber", "FUnitID.FNumber")


def _decimal(value: Any) -> str:
    """The exact decimal string of a JSON number (never through a float's arithmetic), without
    trailing zeros (``30.0`` -> ``30``, ``75.250`` -> ``75.25``)."""
    if value is None or value == "":
        return "0"
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number.is_finite() else str(number)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _seq(value: Any) -> str:
    text = _text(value)
    try:
        return str(int(Decimal(text)))
    except ArithmeticError:
        return text


def _quoted(value: str) -> str:
    if "'" in value or "\n" in value:
        raise ConfigError(f"{value!r} cannot be looked up in K/3 Cloud (a quote or line break)")
    return f"'{value}'"


def _orders(keys: Collection[str], bill_field: str, seq_field: str) -> str:
    """``(bill = 'MO1' AND seq = 1) OR ...`` for the order ids ``keys``."""
    parts = []
    for key in sorted(set(keys)):
        try:
            bill, seq = split_order_id(key)
        except PermanentError as exc:
            raise ConfigError(str(exc)) from None
        parts.append(f"({bill_field} = {_quoted(bill)} AND {seq_field} = {seq})")
    return "(" + " OR ".join(parts) + ")"


def _window(since: date | None, until: date | None) -> list[str]:
    found = []
    if since is not None:
        found.append(f"FDate >= '{since.isoformat()}'")
    if until is not None:
        found.append(f"FDate < '{(until + timedelta(days=1)).isoformat()}'")
    return found


class KingdeeQuery:
    """Reads one K/3 Cloud data center."""

    kinds = _KINDS

    def __init__(self, client: Any, key_field: str = "FDescription", page_size: int = 2000) -> None:
        self.client, self.key_field, self.page_size = client, key_field, max(1, page_size)

    def records(
        self, kind: str, *, keys: Collection[str] = (), since: date | None = None, until: date | None = None
    ) -> list[TargetRecord]:
        if kind not in _KINDS:
            raise ConfigError(f"K/3 Cloud has no record kind {kind!r} (kinds: {', '.join(_KINDS)})")
        if not keys and since is None and until is None:
            raise ConfigError(f"K/3 Cloud {kind} records are listed for keys (order ids) or a window: give keys or since")
        if kind == "order":
            return self._orders(keys, since, until)
        return self._bills(kind, keys, since, until)

    def _rows(self, form: str, fields: tuple[str, ...], conditions: list[str], order: str) -> list[dict[str, Any]]:
        names = ",".join(fields)
        found: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self.client.execute_bill_query(form, names, filter_string=" AND ".join(conditions),
                                                  order_string=order, start_row=start, limit=self.page_size)
            found += [dict(zip(fields, row + [None] * (len(fields) - len(row)), strict=True)) for row in page]
            if len(page) < self.page_size:
                return found
            start += len(page)

    def _orders(self, keys: Collection[str], since: date | None, until: date | None) -> list[TargetRecord]:
        conditions = ([_orders(keys, "FBillNo", "FTreeEntity_FSeq")] if keys else []) + _window(since, until)
        found = []
        for row in self._rows("PRD_MO", _ORDER_FIELDS, conditions, "FID ASC, FTreeEntity_FSeq ASC"):
            number = f"{_text(row['FBillNo'])}-{_seq(row['FTreeEntity_FSeq'])}"
            facts = {"material": _text(row["FMaterialId.FNumber"]), "quantity": _decimal(row["FQty"]),
                     "unit": _text(row["FUnitId.FNumber"]), "date": _text(row["FDate"]),
                     "document_status": _text(row["FDocumentStatus"]), "status": _text(row["FStatus"]),
                     "reported": _decimal(row["FRepQuaQty"]), "stocked_in": _decimal(row["FStockInQuaQty"]),
                     "modified": _text(row["FModifyDate"])}
            found.append(TargetRecord("order", number, number, "", facts))
        return found

    def _bills(self, kind: str, keys: Collection[str], since: date | None, until: date | None) -> list[TargetRecord]:
        form, quantities = _BILLS[kind]
        fields = (*_BILL_FIELDS, self.key_field, *quantities.values())
        conditions = ([_orders(keys, "FMoBillNo", "FMoEntrySeq")] if keys else []) + _window(since, until)
        found = []
        for row in self._rows(form, fields, conditions, "FID ASC, FEntity_FSeq ASC"):
            facts: dict[str, Any] = {"form": form, "material": _text(row["FMaterialId.FNumber"]),
                                     "lot": _text(row["FLot.FNumber"]), "unit": _text(row["FUnitID.FNumber"]),
                                     "date": _text(row["FDate"]), "status": _text(row["FDocumentStatus"])}
            facts.update({name: _decimal(row[field]) for name, field in quantities.items()})
            order = f"{_text(row['FMoBillNo'])}-{_seq(row['FMoEntrySeq'])}" if _text(row["FMoBillNo"]) else ""
            number = f"{_text(row['FBillNo'])}/{_seq(row['FEntity_FSeq'])}"
            found.append(TargetRecord(kind, number, order, _text(row[self.key_field]), facts))
        return found

    def close(self) -> None:
        self.client.close()


def make_kingdee_query(context: QueryContext) -> KingdeeQuery:
    """The query of a Kingdee route (its connection settings; secrets from ``context.env``).

    Raises:
        ConfigError: a secret's variable is not set, or the TLS files cannot be loaded.
    """
    settings: KingdeeTargetSettings = context.settings
    client = settings.client(f"route {context.route}", context.env)
    return KingdeeQuery(client, getattr(settings, "key_field", "FDescription"), int(getattr(settings, "page_size", 2000)))
