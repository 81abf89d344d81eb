"""The reconciliation HTML report as a browser shows it: Debian's Chromium, headless, reads the
page from a file, and its DOM and a screenshot are checked.

Without a Chromium binary on PATH the test FAILS when ``CI`` is ``true`` (``.ci/run`` installs
Debian's ``chromium`` package) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bridge.reconcile.html_report import render_html

pytestmark = pytest.mark.integration

BINARIES = ("chromium", "chromium-browser", "google-chrome")
# as the machine's notes advise: no background connections (the network is closed), no first run
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def chromium() -> str:
    """The Chromium binary on PATH; fails in CI, skips elsewhere, when there is none."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    reason = f"no Chromium binary on PATH (looked for {', '.join(BINARIES)})"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}: install Debian's chromium package (apt-get install -y chromium); "
                    ".ci/run does so on a bare machine", pytrace=False)
    pytest.skip(reason)


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
    return result


def _side(value: str | None, unit: str | None, ref: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "ref": ref}


def sample_report() -> dict[str, Any]:
    """A realistic run: 11 discrepancies over three orders and one without an order, every kind."""
    first, last = "2026-12-02T18:00:00+00:00", "2026-12-04T18:00:00+00:00"
    base = {"job": "quantities", "material_id": None, "lot_id": None, "resolved_by": None, "reason": None,
            "first_seen": first, "last_seen": last}

    def d(ident: int, kind: str, order: str | None, operation: str | None, **rest: Any) -> dict[str, Any]:
        row = {**base, "id": ident, "kind": kind, "order_id": order, "operation_id": operation,
               "field": None, "source": None, "target": None, "delta": None, "unit": None,
               "status": "open", "action": None}
        row.update(rest)
        return row

    discrepancies = [
        d(7, "quantity_mismatch", "430094", "0010", field="yield",
          source=_side("12", "PCS", "report R-1"), target=_side("11", "PCS", "0000001114/00000001"),
          delta="-1", unit="PCS", action="re-sent report R-1 to sap (repair)"),
        d(8, "quantity_mismatch", "430094", "0020", field="scrap",
          source=_side("3", "PCS", "report R-2"), target=_side("0", "PCS", "0000001115/00000001"),
          delta="-3", unit="PCS", action="re-sent report R-2 to sap (repair)"),
        d(9, "missing_in_target", "430094", "0030",
          source=_side("40", "PCS", "report R-3"), action="re-sent report R-3 to sap (repair)"),
        d(12, "unit_mismatch", "430095", "0010", field="yield",
          source=_side("2.5", "KG", "report R-7"), target=_side("2500", "PCS", "0000001120/00000001"),
          action="left open: no conversion KG → PCS for material M-4711; add one to the job's units"),
        d(13, "stale", "430095", "0020",
          source=_side("v4", None, "order 430095 v4 (2026-12-04 09:12)"),
          target=_side("v2", None, "order 430095 v2 (2026-12-01 15:40)"),
          action="left open: SAP pushes orders as IDocs; resend from SAP (BD87)"),
        d(14, "missing_in_source", "430095", "0030",
          target=_side("16", "PCS", "0000001122/00000001"),
          action="left open: confirmation without an MES report; check the shop floor terminal"),
        d(15, "quantity_mismatch", "430095", "0040", field="yield",
          source=_side("100", "PCS", "report R-9"), target=_side("100.5", "PCS", "0000001123/00000001"),
          delta="0.5", unit="PCS", status="resolved", resolved_by="li.wei",
          reason="SAP rounding, accepted", action=None),
        d(21, "missing_in_target", "4300100", "0010",
          source=_side("8", "PCS", "report R-12"), action="re-sent report R-12 to sap (repair)"),
        d(22, "missing_in_source", "4300100", "0020",
          target=_side("5", "PCS", "0000001130/00000002"), status="resolved", resolved_by="reconcile run",
          reason="gone in run of 2026-12-04", action=None),
        d(23, "stale", "4300100", None,
          source=_side("v7", None, "order 4300100 v7"), target=_side("v6", None, "order 4300100 v6"),
          action="left open: SAP pushes orders as IDocs; resend from SAP (BD87)"),
        d(30, "unit_mismatch", None, None, material_id="M-0815", field="stock",
          source=_side("12", "BOX", "stock S-1"), target=_side("144", "PCS", "MARD 1000/0001"),
          action="left open: no conversion BOX → PCS for material M-0815"),
    ]
    return {
        "job": "quantities", "description": "MES reports vs SAP confirmations", "source": "mes", "target": "erp",
        "started_at": "2026-12-04T18:00:00+00:00", "finished_at": "2026-12-04T18:00:42+00:00",
        "window": {"since": "2026-11-04", "until": "2026-12-04"},
        "summary": {"source_records": 120, "target_records": 118, "pairs": 117, "matched": 106,
                    "missing_in_target": 2, "missing_in_source": 2, "quantity_mismatch": 3, "unit_mismatch": 2,
                    "stale": 2, "opened": 8, "still_open": 1, "reopened": 0, "resolved": 2, "repaired": 4},
        "discrepancies": discrepancies,
    }


class _Rows(HTMLParser):
    """The ``tr.discrepancy`` rows of a DOM: data-id, classes and the text of the delta cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._in_delta = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        if tag == "tr" and "discrepancy" in classes:
            self.rows.append({"id": named.get("data-id"), "classes": classes, "delta": ""})
        elif tag == "td" and "delta" in classes and self.rows:
            self._in_delta = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_delta = False

    def handle_data(self, data: str) -> None:
        if self._in_delta:
            self.rows[-1]["delta"] += data


def test_chromium_renders_every_discrepancy_row(tmp_path):
    binary = chromium()
    report = sample_report()
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")

    dom = run_chromium(binary, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert "<html" in dom
    assert "Reconciliation" in dom
    parser = _Rows()
    parser.feed(dom)
    rows = {row["id"]: row for row in parser.rows}
    assert len(parser.rows) == len(report["discrepancies"]) == len(rows)
    for discrepancy in report["discrepancies"]:
        row = rows[str(discrepancy["id"])]
        assert f"kind-{discrepancy['kind']}" in row["classes"]
        assert f"status-{discrepancy['status']}" in row["classes"]
        delta = " ".join(row["delta"].split())
        if discrepancy["delta"] is None:
            assert delta == ""
        else:
            assert delta == f"{discrepancy['delta']} {discrepancy['unit']}"
    # sections per order, in order-id order (numbers as numbers), the order-less last
    orders = re.findall(r'<section class="order[^"]*"(?: data-order="([^"]*)")?', dom)
    assert orders == ["430094", "430095", "4300100", ""]


def test_chromium_screenshot_is_non_trivial(tmp_path):
    binary = chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(sample_report()), encoding="utf-8")
    shot = tmp_path / "report.png"
    run_chromium(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri())
    assert shot.exists(), "chromium wrote no screenshot"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10 * 1024, f"screenshot is only {shot.stat().st_size} bytes"
