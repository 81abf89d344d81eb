"""The reconciliation HTML report (bridge.reconcile.html_report), read back with html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from bridge.reconcile.html_report import KINDS, render_html


def discrepancy(ident: int, kind: str, order: str | None, operation: str | None = "0010", **rest: Any) -> dict:
    row = {"id": ident, "job": "quantities", "kind": kind, "order_id": order, "operation_id": operation,
           "material_id": None, "lot_id": None, "field": None, "source": None, "target": None, "delta": None,
           "unit": None, "status": "open", "first_seen": "2026-12-03T18:00:00+00:00",
           "last_seen": "2026-12-04T18:00:00+00:00", "action": None, "resolved_by": None, "reason": None}
    row.update(rest)
    return row


def report(discrepancies: list[dict], **summary: int) -> dict:
    counts = {"source_records": 120, "target_records": 118, "pairs": 117, "matched": 115,
              "missing_in_target": 2, "missing_in_source": 1, "quantity_mismatch": 1, "unit_mismatch": 0,
              "stale": 0, "opened": 3, "still_open": 1, "reopened": 0, "resolved": 2, "repaired": 1}
    counts.update(summary)
    return {"job": "quantities", "description": "MES reports vs SAP confirmations", "source": "mes",
            "target": "erp", "started_at": "2026-12-04T18:00:00+00:00", "finished_at": "2026-12-04T18:00:42+00:00",
            "window": {"since": "2026-11-04", "until": "2026-12-04"}, "summary": counts,
            "discrepancies": discrepancies}


class Page(HTMLParser):
    """What the tests look at: elements by tag with attributes, the text, each row's cells' text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.rows: list[dict[str, Any]] = []  # tr.discrepancy: attrs, section's order, cells
        self.summary: dict[str, str] = {}  # data-count name: its cell's text
        self._order: str | None = None
        self._cell: list[str] | None = None
        self._count: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.elements.append((tag, named))
        classes = (named.get("class") or "").split()
        if tag == "section" and "order" in classes:
            self._order = named.get("data-order") or "other"
        elif tag == "tr" and "discrepancy" in classes:
            self.rows.append({"attrs": named, "order": self._order, "cells": {}})
        elif tag == "tr" and named.get("data-count"):
            self._count = named["data-count"]
        elif tag == "td":
            self._cell = []
            self._cell_class = (classes or ["?"])[0]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            text = " ".join(" ".join(self._cell).split())
            if self._count is not None:
                self.summary[self._count] = text
                self._count = None
            elif self.rows:
                self.rows[-1]["cells"][self._cell_class] = text
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def test_a_script_in_values_is_shown_as_text_never_as_markup():
    evil = "<script>alert('x')</script>"
    html = render_html(report([
        discrepancy(1, "quantity_mismatch", evil, operation='0010"><img src=x onerror=alert(1)>', field="yield",
                    source={"value": "12", "unit": "<b>PCS</b>", "ref": evil},
                    target={"value": "11", "unit": "PCS", "ref": "R&D"}, delta="-1", unit="PCS",
                    action=f"re-sent {evil}", reason=evil, resolved_by=evil),
    ]) | {"job": evil, "description": evil, "source": evil})
    page = Page(html)
    assert not any(tag in ("script", "img", "b") for tag, _ in page.elements)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert evil in page.all_text()  # shown to the planner as the text it is
    [row] = page.rows
    assert row["order"] == evil
    assert not any("onerror" in attrs for _, attrs in page.elements)
    assert "0010&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "R&amp;D" in html
    assert "R&D" in page.all_text()


def test_discrepancies_are_grouped_per_order_sorted_with_the_order_less_last():
    rows = [
        discrepancy(1, "stale", "430100"),
        discrepancy(2, "quantity_mismatch", "430094", "0020", field="yield", delta="-1", unit="PCS"),
        discrepancy(3, "missing_in_target", None, None, material_id="M-1"),
        discrepancy(4, "missing_in_source", "430094", "0010"),
        discrepancy(5, "unit_mismatch", "99", field="yield"),
    ]
    page = Page(render_html(report(rows)))
    sections = [attrs.get("data-order") or "other" for tag, attrs in page.elements
                if tag == "section" and "order" in (attrs.get("class") or "").split()]
    assert sections == ["99", "430094", "430100", "other"]  # numbers compare as numbers
    assert [(row["order"], row["attrs"]["data-id"]) for row in page.rows] == [
        ("99", "5"), ("430094", "4"), ("430094", "2"), ("430100", "1"), ("other", "3")]
    by_id = {row["attrs"]["data-id"]: row["cells"] for row in page.rows}
    assert by_id["2"]["key"] == "operation 0020 #2"
    assert by_id["3"]["key"] == "material M-1 #3"
    assert "430094" not in by_id["2"]["key"]  # the order is the section's, not repeated in the key
    assert "Other" in page.all_text()
    assert "(no order)" in page.all_text()


def test_the_summary_counts_appear():
    page = Page(render_html(report([discrepancy(1, "stale", "1")], stale=1)))
    assert page.summary == {
        "source_records": "120", "target_records": "118", "pairs": "117", "matched": "115",
        "missing_in_target": "2", "missing_in_source": "1", "quantity_mismatch": "1", "unit_mismatch": "0",
        "stale": "1", "opened": "3", "still_open": "1", "reopened": "0", "resolved": "2", "repaired": "1"}
    text = page.all_text()
    for label in ("MES records", "ERP records", "missing in ERP", "missing in MES", "still open",
                  "repaired by the bridge", "all discrepancies 合计 5"):
        assert label in text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", ["open", "resolved"])
def test_each_kind_has_its_row_classes(kind, status):
    page = Page(render_html(report([discrepancy(42, kind, "430094", status=status)])))
    [row] = page.rows
    assert row["attrs"]["class"].split() == ["discrepancy", f"kind-{kind}", f"status-{status}"]
    assert row["attrs"]["data-id"] == "42"


def test_what_differs_in_words_with_the_side_names_and_the_delta_cell():
    rows = [
        discrepancy(1, "missing_in_target", "1", source={"value": "40", "unit": "PCS", "ref": "report R-3"},
                    action="re-sent report R-3 to sap (repair)"),
        discrepancy(2, "missing_in_source", "1", "0020", target={"value": "16", "unit": "PCS", "ref": "C-1"}),
        discrepancy(3, "quantity_mismatch", "1", "0030", field="scrap", delta="-3", unit="PCS",
                    source={"value": "3", "unit": "PCS", "ref": "R-2"}, target={"value": "0", "unit": "PCS"},
                    status="resolved", resolved_by="li.wei", reason="accepted"),
        discrepancy(4, "stale", "1", "0040", detail="erp holds version 2, mes version 4"),
    ]
    page = Page(render_html(report(rows) | {"notes": ["sap: 2 confirmations <late>"]}))
    cells = {row["attrs"]["data-id"]: row["cells"] for row in page.rows}
    assert cells["1"]["what"].startswith("missing in ERP")
    assert cells["2"]["what"].startswith("missing in MES")
    assert cells["3"]["what"].startswith("scrap")
    assert cells["4"]["what"].startswith("ERP is behind")
    assert cells["4"]["what"].endswith("erp holds version 2, mes version 4")
    assert "sap: 2 confirmations <late>" in page.all_text()
    assert cells["1"]["source"] == "40 PCS report R-3"
    assert cells["1"]["target"] == "—"
    assert cells["2"]["target"] == "16 PCS C-1"
    assert cells["2"]["source"] == "—"
    assert cells["3"]["delta"] == "-3 PCS"
    assert cells["1"]["delta"] == ""
    assert cells["1"]["action"] == "re-sent report R-3 to sap (repair)"
    assert "by li.wei: accepted" in cells["3"]["status"]
    text = page.all_text()
    assert "MES (source)" in text
    assert "ERP (target)" in text


def test_an_empty_report_says_the_sides_agree():
    html = render_html(report([], missing_in_target=0, missing_in_source=0, quantity_mismatch=0) | {"window": None})
    page = Page(html)
    assert page.rows == []
    assert "no discrepancies: the sides agree" in page.all_text()
    assert not any(tag == "section" and "order" in (a.get("class") or "") for tag, a in page.elements)
    assert "no window" in page.all_text()


def test_the_page_is_self_contained_html5():
    html = render_html(report([discrepancy(1, "stale", "1")]))
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Reconciliation 对账" in html
    assert '<meta charset="utf-8">' in html
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)\s*=", html)
    assert "@page { size: A4 landscape" in html
