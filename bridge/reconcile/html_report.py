"""The reconciliation report (对账报告) as one HTML page, for the production planner.

:func:`render_html` turns a run's report into a single self-contained HTML5 page: inline CSS,
no JavaScript, no external resource (fonts, images, scripts), so it can be mailed, archived or
opened from a file share as it is, and printed on A4 landscape. Every value is HTML-escaped:
order ids, refs and actions come from ERPs and MES and may hold ``<script>``.

The page: a header (job, description, the two sides, the window, the run's times), a summary
(records and pairs, discrepancies per kind, what the ledger and the repairs did), then one
section per order, sorted by order id (numbers in an id compare as numbers), the discrepancies
without an order last under "other". Each section is a table, one row per discrepancy:

=============  ==============================================================================
key            the key fields other than ``order_id`` (operation, material, lot, ...), and the id
what differs   the field for a value mismatch, else the kind in words ("missing in ERP")
<source>       the source side's value and unit, its ref below
<target>       the target side's value and unit, its ref below
delta          target - source, in class ``delta`` (red background for a quantity mismatch)
status         open or resolved (by whom, why)
seen           first and last seen
bridge action  what the bridge did about it (the ``action`` text)
=============  ==============================================================================

Each row is ``<tr class="discrepancy kind-<kind> status-<status>" data-id="<id>">``. With no
discrepancy the page says "no discrepancies: the sides agree".

The input, a plain mapping (as JSON would give it)::

    {"job": "quantities",                        # the reconciliation job's name
     "description": "MES reports vs SAP confirmations",
     "source": "mes", "target": "erp",           # side names; they label columns and kinds
     "started_at": "2026-12-04T18:00:00+00:00",  # ISO 8601
     "finished_at": "2026-12-04T18:00:42+00:00",
     "window": {"since": "2026-11-04", "until": "2026-12-04"},   # or None: no window
     "summary": {"source_records": 120, "target_records": 118, "pairs": 117, "matched": 115,
                 "missing_in_target": 2, "missing_in_source": 1, "quantity_mismatch": 1,
                 "unit_mismatch": 0, "stale": 0,
                 "opened": 3, "still_open": 1, "reopened": 0, "resolved": 2, "repaired": 1},
     "discrepancies": [
        {"id": 7, "job": "quantities",
         "kind": "quantity_mismatch",  # | missing_in_target | missing_in_source | unit_mismatch | stale
         "order_id": "430094", "operation_id": "0010",  # the job's business key fields;
         "material_id": None, "lot_id": None,           # others absent or None
         "field": "yield",                              # or None
         "source": {"value": "12", "unit": "PCS", "ref": "report R-1"},      # or None
         "target": {"value": "11", "unit": "PCS", "ref": "0000001114/00000001"},  # or None
         "delta": "-1", "unit": "PCS",                  # or None
         "status": "open",                              # | resolved
         "first_seen": "2026-12-03T18:00:00+00:00", "last_seen": "2026-12-04T18:00:00+00:00",
         "action": "re-sent report R-1 to sap (repair)",  # or "left open: ...", or None
         "resolved_by": None, "reason": None}]}

Optional, as :mod:`bridge.reconcile.report` gives them: a discrepancy's ``detail`` (the why in
words: versions of a stale pair, units that do not convert), shown under "what differs", and its
``resolved_at``; the run's ``notes`` (a list of strings), shown under the header. Any other
top-level entry of a discrepancy with a value is taken as a key field too (a job may key by plant
or work center); missing entries show as a dash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = ["render_html"]

KINDS = ("missing_in_target", "missing_in_source", "quantity_mismatch", "unit_mismatch", "stale")
_KEY_ORDER = ("operation_id", "material_id", "lot_id")
# the entries of a discrepancy that are not its business key
_NOT_KEY = frozenset({
    "id", "job", "kind", "order_id", "field", "source", "target", "delta", "unit", "status", "first_seen",
    "last_seen", "action", "resolved_by", "reason", "resolved_at", "refs", "detail", "source_value",
    "target_value", "fingerprint",
})
_DASH = "—"

_CSS = """
@page { size: A4 landscape; margin: 10mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; padding: 16px 20px; max-width: 1360px; color: #1d2329; background: #fff;
  font: 13px/1.4 "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC",
  Helvetica, Arial, sans-serif; }
h1 { font-size: 21px; margin: 0 0 2px; font-weight: 600; }
h1 .job { font-family: ui-monospace, "DejaVu Sans Mono", Consolas, monospace; font-weight: 600; }
h2 { font-size: 15px; margin: 0 0 6px; font-weight: 600; }
h2 .count { font-size: 12px; font-weight: normal; color: #5b6670; margin-left: 8px; }
.zh { color: #5b6670; font-weight: normal; }
header { border-bottom: 2px solid #1d2329; padding-bottom: 8px; margin-bottom: 12px; }
header .description { margin: 0 0 8px; font-size: 14px; color: #38424b; }
dl.meta { display: grid; grid-template-columns: repeat(4, auto); justify-content: start;
  column-gap: 28px; row-gap: 2px; margin: 0; }
dl.meta div { white-space: nowrap; }
dl.meta dt { display: inline; color: #5b6670; }
dl.meta dt::after { content: ":"; }
dl.meta dd { display: inline; margin: 0 0 0 4px; font-weight: 600; }
.summary { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 8px; align-items: flex-start; }
.summary table { border-collapse: collapse; min-width: 230px; }
.summary caption { text-align: left; font-weight: 600; padding: 0 0 3px; }
.summary th, .summary td { border: 1px solid #c9d0d6; padding: 3px 8px; }
.summary th { text-align: left; font-weight: normal; background: #f3f5f7; }
.summary td { text-align: right; font-variant-numeric: tabular-nums; min-width: 52px; }
.summary tr.nonzero td { font-weight: 700; color: #9b1c1c; }
.summary tr.total th, .summary tr.total td { border-top: 2px solid #1d2329; font-weight: 600; }
p.overview { margin: 6px 0 14px; font-size: 14px; }
p.no-discrepancies { margin: 18px 0; padding: 10px 14px; border: 1px solid #7fb88f;
  background: #eef8f0; color: #1e5a2e; font-size: 15px; font-weight: 600; }
section.order { margin: 0 0 16px; break-inside: auto; }
table.discrepancies { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.discrepancies thead { display: table-header-group; }
table.discrepancies th { text-align: left; font-weight: 600; font-size: 12px; background: #e8ecef;
  border-bottom: 1px solid #8a959e; padding: 4px 6px; vertical-align: bottom; }
table.discrepancies td { border-bottom: 1px solid #d5dbe0; padding: 4px 6px; vertical-align: top;
  overflow-wrap: anywhere; }
table.discrepancies tr { break-inside: avoid; }
col.c-key { width: 11%; } col.c-what { width: 12%; } col.c-side { width: 12%; } col.c-delta { width: 7%; }
col.c-status { width: 10%; } col.c-seen { width: 12%; } col.c-action { width: 24%; }
td.key .id { color: #5b6670; font-size: 11px; }
.mono, td.value .v, td.delta, td.key .k { font-family: ui-monospace, "DejaVu Sans Mono", Consolas, monospace; }
td.value .ref { display: block; color: #5b6670; font-size: 11px; }
td.value.absent { color: #8a959e; font-style: italic; }
td.delta { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.kind-quantity_mismatch td.delta { background: #f8d0d0; color: #8a1111; font-weight: 700; }
tr.kind-quantity_mismatch.status-resolved td.delta { background: #f6e4e4; color: #8a5a5a; }
td.key .whole { color: #5b6670; font-style: italic; }
tr.discrepancy td:first-child { border-left: 4px solid #8a959e; }
tr.kind-missing_in_target td:first-child, tr.kind-missing_in_source td:first-child { border-left-color: #c2410c; }
tr.kind-quantity_mismatch td:first-child { border-left-color: #b91c1c; }
tr.kind-unit_mismatch td:first-child { border-left-color: #a16207; }
tr.kind-stale td:first-child { border-left-color: #1d4ed8; }
.what { font-weight: 600; }
.what .detail { display: block; font-weight: normal; color: #5b6670; font-size: 11px; }
.badge { display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 11px; font-weight: 600; white-space: nowrap;
  border: 1px solid; }
tr.status-open .badge { color: #9b1c1c; border-color: #e3a1a1; background: #fdf0f0; }
tr.status-resolved .badge { color: #1e5a2e; border-color: #9cc9a8; background: #eef8f0; }
tr.status-resolved td { color: #5b6670; }
.resolution { display: block; font-size: 11px; color: #5b6670; }
td.seen { font-size: 12px; white-space: nowrap; }
td.seen .label { color: #5b6670; }
td.action.none { color: #8a959e; }
ul.notes { margin: 6px 0 0; padding-left: 18px; color: #38424b; }
footer { margin-top: 18px; border-top: 1px solid #c9d0d6; padding-top: 4px; color: #5b6670; font-size: 11px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  section.order h2 { break-after: avoid; }
}
"""

_KIND_WORDS = {
    "missing_in_target": ("missing in {target}", "{target}缺失"),
    "missing_in_source": ("missing in {source}", "{source}缺失"),
    "quantity_mismatch": ("quantity differs", "数量不符"),
    "unit_mismatch": ("unit differs", "单位不符"),
    "stale": ("{target} is behind", "数据滞后"),
}
_SUMMARY_KIND_LABELS = {
    "missing_in_target": "missing in {target}",
    "missing_in_source": "missing in {source}",
    "quantity_mismatch": "quantity mismatch",
    "unit_mismatch": "unit mismatch",
    "stale": "stale ({target} behind)",
}
_SUMMARY_KIND_ZH = {
    "missing_in_target": "缺失", "missing_in_source": "缺失", "quantity_mismatch": "数量不符",
    "unit_mismatch": "单位不符", "stale": "滞后",
}
_RECORD_ROWS = (
    ("source_records", "{source} records", "记录"),
    ("target_records", "{target} records", "记录"),
    ("pairs", "pairs compared", "比对"),
    ("matched", "matched", "一致"),
)
_LEDGER_ROWS = (
    ("opened", "opened", "新增"),
    ("still_open", "still open", "仍未解决"),
    ("reopened", "reopened", "重新打开"),
    ("resolved", "resolved", "已解决"),
    ("repaired", "repaired by the bridge", "已修复"),
)
_STATUS_ZH = {"open": "未解决", "resolved": "已解决"}


def _text(value: Any) -> str:
    """A value as escaped text; None as a dash."""
    if value is None or value == "":
        return _DASH
    return escape(str(value), quote=True)


def _side_label(name: Any) -> str:
    """How a side is named on the page: short names (erp, mes, sap) in capitals."""
    text = str(name or "").strip()
    if not text:
        return "?"
    return text.upper() if len(text) <= 4 else text


def _when(value: Any, *, zone: bool = True) -> str:
    """An ISO 8601 time as ``2026-12-04 18:00 UTC`` (escaped; ``zone=False``: without the zone), a
    date as it is; anything else as given."""
    if value is None or value == "":
        return _DASH
    text = str(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return _text(value)
    if len(text) <= 10:
        return escape(moment.strftime("%Y-%m-%d"))
    shown = moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second or moment.microsecond else "%Y-%m-%d %H:%M")
    if zone and moment.tzinfo is not None:
        shown += " UTC" if moment.utcoffset() == UTC.utcoffset(None) else moment.strftime(" %z")
    return escape(shown)


def _is_utc(value: Any) -> bool:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return moment.utcoffset() == UTC.utcoffset(None)


def _duration(started: Any, finished: Any) -> str | None:
    try:
        seconds = (datetime.fromisoformat(str(finished)) - datetime.fromisoformat(str(started))).total_seconds()
    except (TypeError, ValueError):
        return None
    if seconds < 0:
        return None
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _natural(value: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: digits compare as numbers (order 9 before order 10), the rest as text."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.split(r"(\d+)", value) if part)


def _key_fields(discrepancy: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The key fields of a discrepancy other than its order, with a value, in a fixed order."""
    known = [(name, discrepancy[name]) for name in _KEY_ORDER if discrepancy.get(name) not in (None, "")]
    others = sorted((name, value) for name, value in discrepancy.items()
                    if name not in _NOT_KEY and name not in _KEY_ORDER and value not in (None, "")
                    and not isinstance(value, Mapping | list))
    return known + others


def _key_label(name: str) -> str:
    return name[:-3] if name.endswith("_id") else name


def _order_of(discrepancy: Mapping[str, Any]) -> str | None:
    order = discrepancy.get("order_id")
    return None if order in (None, "") else str(order)


def _row_sort_key(discrepancy: Mapping[str, Any]) -> tuple[Any, ...]:
    key = tuple(_natural(str(value)) for _, value in _key_fields(discrepancy))
    kind = str(discrepancy.get("kind") or "")
    kind_rank = KINDS.index(kind) if kind in KINDS else len(KINDS)
    ident = discrepancy.get("id")
    return key, kind_rank, str(discrepancy.get("field") or ""), _natural(str(ident if ident is not None else ""))


def _grouped(discrepancies: Iterable[Mapping[str, Any]]) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    """The discrepancies per order, orders sorted, those without an order last."""
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for discrepancy in discrepancies:
        groups.setdefault(_order_of(discrepancy), []).append(discrepancy)
    orders = sorted((order for order in groups if order is not None), key=lambda o: (_natural(o), o))
    result: list[tuple[str | None, list[Mapping[str, Any]]]] = [
        (order, sorted(groups[order], key=_row_sort_key)) for order in orders]
    if None in groups:
        result.append((None, sorted(groups[None], key=_row_sort_key)))
    return result


def _css_token(value: Any) -> str:
    """A value fit for a class name: letters, digits, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(value or "unknown"))


class _Page:
    def __init__(self, report: Mapping[str, Any]) -> None:
        self.report = report
        self.source = _side_label(report.get("source"))
        self.target = _side_label(report.get("target"))
        self.summary: Mapping[str, Any] = report.get("summary") or {}
        self.discrepancies: list[Mapping[str, Any]] = list(report.get("discrepancies") or [])
        # all first/last seen times in UTC: the column says so once, the cells show no zone
        self.seen_utc = all(_is_utc(d.get(name)) for d in self.discrepancies for name in ("first_seen", "last_seen"))

    def words(self, template: str) -> str:
        return escape(template.format(source=self.source, target=self.target))

    # -- header ------------------------------------------------------------------------------------

    def header(self) -> str:
        report = self.report
        window = report.get("window")
        if isinstance(window, Mapping):
            since, until = window.get("since"), window.get("until")
            shown_window = f"{_when(since) if since else 'start'} → {_when(until) if until else 'now'}"
        else:
            shown_window = "all records (no window)"
        duration = _duration(report.get("started_at"), report.get("finished_at"))
        meta = [
            ("Job <span class=\"zh\">任务</span>", f"<span class=\"mono\">{_text(report.get('job'))}</span>"),
            ("Source <span class=\"zh\">源</span>", escape(self.source)),
            ("Target <span class=\"zh\">目标</span>", escape(self.target)),
            ("Window <span class=\"zh\">范围</span>", shown_window),
            ("Started <span class=\"zh\">开始</span>", _when(report.get("started_at"))),
            ("Finished <span class=\"zh\">结束</span>",
             _when(report.get("finished_at")) + (f" ({escape(duration)})" if duration else "")),
        ]
        items = "".join(f"<div><dt>{label}</dt><dd>{value}</dd></div>" for label, value in meta)
        description = report.get("description")
        return (
            "<header>"
            f"<h1>Reconciliation <span class=\"zh\">对账</span> · <span class=\"job\">{_text(report.get('job'))}"
            f"</span> · {escape(self.source)} vs {escape(self.target)}</h1>"
            + (f"<p class=\"description\">{_text(description)}</p>" if description else "")
            + f"<dl class=\"meta\">{items}</dl>"
            + self.notes()
            + "</header>"
        )

    def notes(self) -> str:
        notes = self.report.get("notes")
        if isinstance(notes, str):
            notes = [notes]
        shown = [f"<li>{_text(note)}</li>" for note in notes or () if note not in (None, "")]
        return f"<ul class=\"notes\">{''.join(shown)}</ul>" if shown else ""

    # -- summary -----------------------------------------------------------------------------------

    def _count(self, name: str) -> str:
        value = self.summary.get(name)
        return _DASH if value is None else _text(value)

    def _summary_table(self, caption: str, rows: list[tuple[str, str, str, str]], total: str | None = None) -> str:
        body = []
        for name, label, zh, css in rows:
            zh_html = f' <span class="zh">{zh}</span>' if zh else ""
            css_attr = f' class="{css}"' if css else ""
            body.append(f"<tr{css_attr} data-count=\"{escape(name)}\"><th>{label}{zh_html}</th>"
                        f"<td>{self._count(name)}</td></tr>")
        if total is not None:
            body.append(f"<tr class=\"total\"><th>all discrepancies <span class=\"zh\">合计</span></th>"
                        f"<td>{escape(total)}</td></tr>")
        return f"<table><caption>{caption}</caption><tbody>{''.join(body)}</tbody></table>"

    def summary_tables(self) -> str:
        records = [(name, self.words(label), zh, "") for name, label, zh in _RECORD_ROWS]
        kinds = []
        total = 0
        counted = False
        for kind in KINDS:
            value = self.summary.get(kind)
            nonzero = isinstance(value, int | float) and value > 0
            if isinstance(value, int | float):
                total += int(value)
                counted = True
            kinds.append((kind, self.words(_SUMMARY_KIND_LABELS[kind]), _SUMMARY_KIND_ZH[kind],
                          "nonzero" if nonzero else ""))
        known = {name for name, _, _ in _RECORD_ROWS} | {name for name, _, _ in _LEDGER_ROWS} | set(KINDS)
        ledger = [(name, escape(label), zh, "") for name, label, zh in _LEDGER_ROWS]
        ledger += [(name, escape(name.replace("_", " ")), "", "") for name in self.summary if name not in known]
        return (
            "<section class=\"summary\" aria-label=\"summary\">"
            + self._summary_table("Records <span class=\"zh\">记录</span>", records)
            + self._summary_table("Discrepancies by kind <span class=\"zh\">差异类型</span>", kinds,
                                  str(total) if counted else None)
            + self._summary_table("Ledger and repairs <span class=\"zh\">台账与修复</span>", ledger)
            + "</section>"
        )

    def overview(self) -> str:
        if not self.discrepancies:
            return ("<p class=\"no-discrepancies\">no discrepancies: the sides agree "
                    "<span class=\"zh\">无差异：双方一致</span></p>")
        groups = _grouped(self.discrepancies)
        orders = sum(1 for order, _ in groups if order is not None)
        still_open = sum(1 for d in self.discrepancies if d.get("status") == "open")
        n = len(self.discrepancies)
        orderless = len(groups[-1][1]) if groups[-1][0] is None else 0
        return (f"<p class=\"overview\"><strong>{n} discrepanc{'y' if n == 1 else 'ies'}</strong> "
                f"<span class=\"zh\">差异</span> in {orders} order{'' if orders == 1 else 's'}"
                f"{f' and {orderless} without an order' if orderless else ''}: "
                f"<strong>{still_open} open</strong> <span class=\"zh\">未解决</span>, "
                f"{n - still_open} resolved <span class=\"zh\">已解决</span></p>")

    # -- discrepancies -----------------------------------------------------------------------------

    def _value_cell(self, which: str, side: Any) -> str:
        if not isinstance(side, Mapping):
            return f"<td class=\"{which} value absent\">{_DASH}</td>"
        value, unit, ref = side.get("value"), side.get("unit"), side.get("ref")
        shown = _text(value) + (f" {_text(unit)}" if unit not in (None, "") else "")
        ref_html = f"<span class=\"ref\">{_text(ref)}</span>" if ref not in (None, "") else ""
        return f"<td class=\"{which} value\"><span class=\"v\">{shown}</span>{ref_html}</td>"

    def _what(self, discrepancy: Mapping[str, Any]) -> str:
        kind = str(discrepancy.get("kind") or "")
        field = discrepancy.get("field")
        english, chinese = _KIND_WORDS.get(kind, (kind.replace("_", " ") or "differs", ""))
        if kind in ("quantity_mismatch", "unit_mismatch") and field not in (None, ""):
            main = (_text(field) if kind == "quantity_mismatch" else f"{_text(field)}: unit")
            detail = f"{self.words(english)} <span class=\"zh\">{chinese}</span>"
        else:
            main = self.words(english)
            detail = " · ".join(part for part in (
                f"<span class=\"zh\">{self.words(chinese)}</span>" if chinese else "",
                _text(field) if field not in (None, "") else "") if part)
        why = discrepancy.get("detail")
        if why not in (None, ""):
            detail = f"{detail}<br>{_text(why)}" if detail else _text(why)
        detail_html = f"<span class=\"detail\">{detail}</span>" if detail else ""
        return f"<td class=\"what\">{main}{detail_html}</td>"

    def _status(self, discrepancy: Mapping[str, Any]) -> str:
        status = str(discrepancy.get("status") or "")
        zh = _STATUS_ZH.get(status, "")
        badge = f"<span class=\"badge\">{_text(status or None)}{f' {zh}' if zh else ''}</span>"
        by, reason = discrepancy.get("resolved_by"), discrepancy.get("reason")
        resolution = ""
        if by not in (None, "") or reason not in (None, ""):
            resolution = "<span class=\"resolution\">" + (f"by {_text(by)}" if by not in (None, "") else "") + (
                f"{': ' if by not in (None, '') else ''}{_text(reason)}" if reason not in (None, "") else "") + "</span>"
        return f"<td class=\"status\">{badge}{resolution}</td>"

    def row(self, discrepancy: Mapping[str, Any]) -> str:
        def seen(name: str) -> str:
            return _when(discrepancy.get(name), zone=not self.seen_utc)

        kind = _css_token(discrepancy.get("kind"))
        status = _css_token(discrepancy.get("status"))
        ident = discrepancy.get("id")
        fields = _key_fields(discrepancy)
        key = "<br>".join(f"{escape(_key_label(name))} <span class=\"k\">{_text(value)}</span>"
                          for name, value in fields) or ('<span class="whole">whole order</span>' if _order_of(discrepancy) else _DASH)
        key += f"<br><span class=\"id\">#{_text(ident)}</span>" if ident is not None else ""
        delta = discrepancy.get("delta")
        delta_unit = discrepancy.get("unit")
        delta_text = _text(delta) if delta not in (None, "") else ""
        if delta_text and delta_unit not in (None, ""):
            delta_text += f" {_text(delta_unit)}"
        action = discrepancy.get("action")
        action_cell = (f"<td class=\"action\">{_text(action)}</td>" if action not in (None, "")
                       else f"<td class=\"action none\">{_DASH}</td>")
        return (
            f"<tr class=\"discrepancy kind-{kind} status-{status}\" data-id=\"{_text(ident)}\">"
            f"<td class=\"key\">{key}</td>"
            + self._what(discrepancy)
            + self._value_cell("source", discrepancy.get("source"))
            + self._value_cell("target", discrepancy.get("target"))
            + f"<td class=\"delta\">{delta_text}</td>"
            + self._status(discrepancy)
            + f"<td class=\"seen\"><span class=\"label\">first</span> {seen('first_seen')}<br>"
            f"<span class=\"label\">last</span> {seen('last_seen')}</td>"
            + action_cell
            + "</tr>"
        )

    def sections(self) -> str:
        head = (
            "<colgroup><col class=\"c-key\"><col class=\"c-what\"><col class=\"c-side\"><col class=\"c-side\">"
            "<col class=\"c-delta\"><col class=\"c-status\"><col class=\"c-seen\"><col class=\"c-action\"></colgroup>"
            "<thead><tr><th>key <span class=\"zh\">键</span></th><th>what differs <span class=\"zh\">差异</span></th>"
            f"<th>{escape(self.source)} (source) <span class=\"zh\">源</span></th>"
            f"<th>{escape(self.target)} (target) <span class=\"zh\">目标</span></th>"
            "<th>delta <span class=\"zh\">差值</span></th><th>status <span class=\"zh\">状态</span></th>"
            f"<th>seen{' (UTC)' if self.seen_utc else ''} <span class=\"zh\">发现</span></th>"
            "<th>bridge action <span class=\"zh\">处理</span></th></tr></thead>"
        )
        parts = []
        for order, rows in _grouped(self.discrepancies):
            n = len(rows)
            count = f"{n} discrepanc{'y' if n == 1 else 'ies'}"
            open_rows = sum(1 for d in rows if d.get("status") == "open")
            count += f", {open_rows} open" if open_rows else ", all resolved"
            if order is None:
                title = "Other <span class=\"zh\">其他</span> (no order)"
                attrs = "class=\"order other\""
            else:
                title = f"Order <span class=\"zh\">订单</span> <span class=\"mono\">{_text(order)}</span>"
                attrs = f"class=\"order\" data-order=\"{_text(order)}\""
            parts.append(
                f"<section {attrs}><h2>{title}<span class=\"count\">{count}</span></h2>"
                f"<table class=\"discrepancies\">{head}<tbody>"
                + "".join(self.row(d) for d in rows)
                + "</tbody></table></section>"
            )
        return "".join(parts)

    def render(self) -> str:
        job = _text(self.report.get("job"))
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Reconciliation 对账 · {job} · {escape(self.source)} vs {escape(self.target)}</title>"
            f"<style>{_CSS}</style></head><body>"
            + self.header()
            + self.summary_tables()
            + self.overview()
            + self.sections()
            + f"<footer>erp-mes-bridge · reconciliation report · job {job} · "
            f"{_when(self.report.get('finished_at'))}</footer>"
            "</body></html>\n"
        )


def render_html(report: Mapping[str, Any]) -> str:
    """The report (the shape in this module's text) as one self-contained HTML5 page."""
    return _Page(report).render()
