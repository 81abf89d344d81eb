"""The demo's closing summary: what went where, read from each flow's ledger.

Per flow (a ledger file of scripts/demo.sh): the events delivered to the MES by entity, the MES
reports posted to the ERP with the documents the ERP acknowledged, the dead letters (by stage),
and the reconciliation runs' open discrepancies.

Usage: .venv/bin/python scripts/demo_summary.py NAME=LEDGER.sqlite [NAME=LEDGER.sqlite ...]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.ledger import Ledger
from bridge.ledger.models import DiscrepancyRow, JournalRow, RemoteCallRow, table_of

_JOURNAL, _CALLS, _FOUND = table_of(JournalRow), table_of(RemoteCallRow), table_of(DiscrepancyRow)
_ERPS = ("sap", "kingdee", "yonyou")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(name: str, path: Path) -> list[str]:
    if not path.exists():
        return [f"{name}: no ledger at {path} (the flow did not run)"]
    ledger = Ledger.connect(f"sqlite:///{path}")
    try:
        with ledger.engine.connect() as conn:
            rows = conn.execute(select(_JOURNAL.c.stage, _JOURNAL.c.entity, _JOURNAL.c.status, func.count())
                                .group_by(_JOURNAL.c.stage, _JOURNAL.c.entity, _JOURNAL.c.status)).all()
            acks = [json.loads(a) for (a,) in conn.execute(select(_CALLS.c.acknowledgement)
                                                           .where(_CALLS.c.state == "done"))]
            found = Counter(kind for (kind,) in conn.execute(select(_FOUND.c.kind).where(_FOUND.c.status == "open")))
    finally:
        ledger.close()
    to_mes: dict[str, Counter[str]] = {}
    to_erp: Counter[str] = Counter()
    dead: Counter[str] = Counter()
    for stage, entity, status, count in rows:
        route = stage.removeprefix("deliver:") if stage.startswith("deliver:") else ""
        if status == "delivered" and route in _ERPS:
            to_erp[f"{entity or 'event'} to {route}"] += count
        elif status == "delivered" and route:
            to_mes.setdefault(route, Counter())[entity or "event"] += count
        elif status == "dead_lettered":
            dead[stage] += count
    # each call of a report (save, submit, audit) acknowledges the document it is about: count each once
    made = {(doc.get("kind", "document"), doc.get("number", ""), doc.get("year", ""))
            for ack in acks for doc in (ack or {}).get("documents", [])}
    documents = Counter(kind for kind, _number, _year in made)
    lines = [f"{name}:"]
    for route, entities in sorted(to_mes.items()):
        lines.append(f"  ERP -> MES  (route {route}) " + ", ".join(_plural(n, e) for e, n in sorted(entities.items())))
    if not to_mes:
        lines.append("  ERP -> MES  nothing")
    erp = ", ".join(f"{_plural(n, e.split(' to ')[0])} to {e.split(' to ')[1]}" for e, n in sorted(to_erp.items()))
    made = ", ".join(f"{n} {kind}" for kind, n in sorted(documents.items()))
    lines.append("  MES -> ERP  " + (erp or "nothing") + (f" (the ERP made: {made})" if made else ""))
    lines.append("  dead letters  " + (", ".join(f"{n} at {stage}" for stage, n in sorted(dead.items())) or "none"))
    open_ = ", ".join(f"{n} {kind}" for kind, n in sorted(found.items())) or "none"
    lines.append(f"  open discrepancies  {open_}")
    return lines


def main() -> None:
    if len(sys.argv) < 2 or not all("=" in a for a in sys.argv[1:]):
        raise SystemExit(__doc__.strip().splitlines()[-1])
    for argument in sys.argv[1:]:
        name, _, file = argument.partition("=")
        print("\n".join(summary(name, Path(file))))


if __name__ == "__main__":
    main()
