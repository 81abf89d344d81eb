"""What the ERP sink tests share: a MES report as the canonical envelope the bridge delivers,
and a fault draw that comes out true on demand."""

from __future__ import annotations

from typing import Any


def report_envelope(report_id: str, payload: dict[str, Any], event: str = "created") -> dict[str, Any]:
    """The canonical envelope of a MES report with ``payload``."""
    return {
        "schema": "bridge.canonical/v1",
        "message_id": f"mes:LINE1:{report_id}:report",
        "entity": "report",
        "event": event,
        "source": {"system": "mes", "instance": "LINE1", "document_type": "report", "document_id": report_id},
        "correlation_id": f"mes:LINE1:{report_id}",
        "version": "20261203100000",
        "occurred_at": "2026-12-03T10:00:00+08:00",
        "payload": payload,
    }


class OneShot:
    """Makes a fault draw come out true once (``armed = True``), or ``armed = n`` times in a row."""

    def __init__(self) -> None:
        self.armed: bool | int = False

    def __call__(self) -> bool:
        left = int(self.armed)
        self.armed = max(0, left - 1)
        return left > 0
