"""What a YonBIP tenant holds, read through its list APIs (the query role, bridge.adapter.query).

* ``order``: ``productionorder/list`` rows, one record per order line (``<code>-<lineNo>``):
  material, quantity and unit, the order's status, completed (``completedQuantity``) and stocked
  in (``incomingQuantity``), and the order's ``pubts`` as the row lists it (the order header's,
  which versions the detail the poller delivers; ``""`` when the row has none);
* ``report`` (``finishedreport/list``), ``receipt`` (``storeprorecord/list``), ``issue``
  (``materialout/list``): one record per document line, numbered ``<code>/<line>``, keyed by the
  order line it is linked to (``sourceautoid``: the order line, for an issue the order's component
  line; else ``upcode`` and the line's material, as YonBIP links them), marked with the route's
  key field (``out_sys_id``: ``MES:<report_id>`` when the bridge posted it).

Records are listed for keys (order line ids), a window on ``vouchdate``, or both, paged with
pageIndex/pageSize (the settings' ``page_size`` or 500). Quantities are exact decimal strings of
the JSON values (``Decimal(str(x))``, trailing zeros dropped), never float arithmetic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.yonyou.client import YonyouClient
from adapters.yonyou.errors import ERRORS
from adapters.yonyou.order_lines import split_order_id
from adapters.yonyou.target import YonyouTargetSettings
from bridge.adapter.query import QueryContext, TargetRecord
from bridge.errors import ConfigError, PermanentError

__all__ = ["YonyouQuery", "make_yonyou_query"]

#: kind -> (list API, the lines' name, its quantities: fact name -> line field, the lot field, the material field)
_DOCUMENTS: dict[str, tuple[str, str, dict[str, str], str, str]] = {
    "report": ("/yonbip/mfg/finishedreport/list", "finishedReportDetail",
               {"quantity": "quantity", "qualified": "qualifiedQuantity", "scrap": "scrapQuantity"}, "batchNo",
               "materialCode"),
    "receipt": ("/yonbip/scm/storeprorecord/list", "storeProRecords", {"quantity": "qty"}, "batchno", "product_cCode"),
    "issue": ("/yonbip/scm/materialout/list", "materOuts", {"quantity": "qty"}, "batchno", "product_cCode"),
}
_KINDS = ("order", *_DOCUMENTS)
_ORDERS = "/yonbip/mfg/productionorder/list"


def _decimal(value: Any) -> str:
    if value is None or value == "":
        return "0"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format(number.normalize(), "f") if number.is_finite() else str(number)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _line_no(value: Any) -> str:
    text = _text(value)
    try:
        return str(int(Decimal(text)))
    except ArithmeticError:
        return text


def _codes(keys: Collection[str]) -> set[str]:
    try:
        return {split_order_id(key)[0] for key in keys}
    except PermanentError as exc:
        raise ConfigError(str(exc)) from None


def _window(since: date | None, until: date | None) -> list[dict[str, Any]]:
    found = []
    if since is not None:
        found.append({"field": "vouchdate", "op": "egt", "value1": f"{since.isoformat()} 00:00:00"})
    if until is not None:
        found.append({"field": "vouchdate", "op": "elt", "value1": f"{until.isoformat()} 23:59:59"})
    return found


class _Lines:
    """The order lines and components of the orders read, by their ids, as order line keys."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}
        self.by_material: dict[tuple[str, str], list[str]] = {}
        self.codes: set[str] = set()

    def add(self, row: Mapping[str, Any]) -> str:
        code = _text(row.get("code"))
        key = f"{code}-{_line_no(row.get('OrderProduct_lineNo'))}"
        self.codes.add(code)
        self.by_id[_text(row.get("orderProduct_id"))] = key
        self.by_material.setdefault((code, _text(row.get("OrderProduct_materialCode"))), []).append(key)
        for component in row.get("orderMaterial") or []:
            if isinstance(component, Mapping):
                self.by_id[_text(component.get("id"))] = key
                self.by_material.setdefault((code, "~" + _text(component.get("materialCode"))), []).append(key)
        return key

    def key_of(self, source: str, upcode: str, material: str, issue: bool) -> str:
        if source in self.by_id:
            return self.by_id[source]
        hits = self.by_material.get((upcode, ("~" if issue else "") + material)) or []
        return hits[0] if len(hits) == 1 else ""


class YonyouQuery:
    """Reads one YonBIP tenant."""

    kinds = _KINDS

    def __init__(self, client: Any, key_field: str = "out_sys_id", page_size: int = 500) -> None:
        self.client, self.key_field, self.page_size = client, key_field, max(1, page_size)

    def records(
        self, kind: str, *, keys: Collection[str] = (), since: date | None = None, until: date | None = None
    ) -> list[TargetRecord]:
        if kind not in _KINDS:
            raise ConfigError(f"YonBIP has no record kind {kind!r} (kinds: {', '.join(_KINDS)})")
        if not keys and since is None and until is None:
            raise ConfigError(f"YonBIP {kind} records are listed for keys (order lines) or a window: give keys or since")
        wanted = set(keys)
        if kind == "order":
            return self._orders(wanted, _window(since, until))
        return self._documents(kind, wanted, _window(since, until))

    def _rows(self, path: str, conditions: list[dict[str, Any]], **extra: Any) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        index = 1
        while True:
            reply = self.client.post(path, {"pageIndex": index, "pageSize": self.page_size, **extra,
                                            "simpleVOs": conditions})
            data = (reply.get("data") or {}) if isinstance(reply, Mapping) else {}
            page = [r for r in data.get("recordList") or [] if isinstance(r, Mapping)]
            found += page
            if len(page) < self.page_size or index >= int(data.get("pageCount") or index):
                return found
            index += 1

    def _lines(self, codes: set[str]) -> tuple[_Lines, list[Mapping[str, Any]]]:
        lines = _Lines()
        rows = self._rows(_ORDERS, [{"field": "code", "op": "in", "value1": sorted(codes)}], isShowMaterial=True) if codes else []
        for row in rows:
            lines.add(row)
        return lines, rows

    def _orders(self, wanted: set[str], window: list[dict[str, Any]]) -> list[TargetRecord]:
        codes = _codes(wanted)
        conditions = ([{"field": "code", "op": "in", "value1": sorted(codes)}] if codes else []) + window
        found = []
        for row in self._rows(_ORDERS, conditions):
            key = f"{_text(row.get('code'))}-{_line_no(row.get('OrderProduct_lineNo'))}"
            if wanted and key not in wanted:
                continue
            facts = {"material": _text(row.get("OrderProduct_materialCode")),
                     "quantity": _decimal(row.get("OrderProduct_quantity")),
                     "unit": _text(row.get("OrderProduct_mainUnitName") or row.get("OrderProduct_mainUnit")),
                     "date": _text(row.get("vouchdate")), "status": _text(row.get("status")),
                     "completed": _decimal(row.get("OrderProduct_completedQuantity")),
                     "stocked_in": _decimal(row.get("OrderProduct_incomingQuantity")),
                     "pubts": _text(row.get("pubts"))}
            found.append(TargetRecord("order", key, key, "", facts))
        return found

    def _documents(self, kind: str, wanted: set[str], window: list[dict[str, Any]]) -> list[TargetRecord]:
        path, lines_name, quantities, lot, material = _DOCUMENTS[kind]
        codes = _codes(wanted)
        conditions = ([{"field": "upcode", "op": "in", "value1": sorted(codes)}] if codes else []) + window
        rows = self._rows(path, conditions)

        def line(row: Mapping[str, Any], name: str) -> Any:
            return row.get(f"{lines_name}_{name}", row.get(name))

        orders, _ = self._lines(codes | {_text(line(r, "upcode")) for r in rows} - {""})
        found, seen = [], {}
        for row in rows:
            doc = _text(row.get("code"))
            seen[doc] = seen.get(doc, 0) + 1
            number = f"{doc}/{_line_no(line(row, 'lineNo')) if line(row, 'lineNo') is not None else seen[doc]}"
            key = orders.key_of(_text(line(row, "sourceautoid")), _text(line(row, "upcode")),
                                _text(line(row, material)), kind == "issue")
            if wanted and key not in wanted:
                continue
            facts: dict[str, Any] = {"material": _text(line(row, material)), "lot": _text(line(row, lot)),
                                     "unit": _text(line(row, "mainUnitName") or line(row, "product_unitName")),
                                     "date": _text(row.get("vouchdate")), "status": _text(row.get("status")),
                                     "verifystate": _text(row.get("verifystate"))}
            facts.update({name: _decimal(line(row, field)) for name, field in quantities.items()})
            found.append(TargetRecord(kind, number, key, _text(row.get(self.key_field)), facts))
        return found

    def close(self) -> None:
        self.client.close()


def make_yonyou_query(context: QueryContext) -> YonyouQuery:
    """The query of a Yonyou route (its client settings; the app key and secret from ``context.env``).

    Raises:
        ConfigError: a secret's variable is not set, or the TLS files cannot be loaded.
    """
    settings: YonyouTargetSettings = context.settings
    overrides = getattr(settings, "errors", ())
    errors = ERRORS.with_overrides(overrides, setting=f"route {context.route}: errors") if overrides else ERRORS
    client = YonyouClient(settings, env=context.env, errors=errors)
    return YonyouQuery(client, getattr(settings, "key_field", "out_sys_id"), int(getattr(settings, "page_size", 500)))
