"""Benchmark: the ledger's per-message bookkeeping against plain sqlite3, in one run.

Per batch of B canonical events, as the translate and deliver stages do it:
(a) baseline: stdlib sqlite3 on a WAL file, one transaction that inserts B idempotency keys
    and B journal rows, then one that inserts B more journal rows (no checks, no upserts);
(b) the ledger: ``Ledger.deliver`` (claim keys, stale check, applied versions, journal) with a
    no-op sink, ``Ledger.record`` of the B translate journal rows, ``Ledger.statuses`` of the
    next batch.

Prints the CPU per message of both and the ratio.
Usage: python bench/ledger.py [-n 4000] [--batch 100]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.ledger import DeliveryItem, JournalEntry, Ledger  # noqa: E402


def baseline(path: Path, batches: int, size: int) -> float:
    """CPU seconds per message of the plain sqlite3 version."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE keys (target TEXT, key TEXT, message_id TEXT, created_at TEXT, PRIMARY KEY (target, key))"
    )
    db.execute(
        "CREATE TABLE journal (message_id TEXT, stage TEXT, status TEXT, entity TEXT, business_key TEXT,"
        " version TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (message_id, stage))"
    )
    started = time.process_time()
    for b in range(batches):
        now = datetime.now(UTC).isoformat()
        ids = [f"m{b}-{i}" for i in range(size)]
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO keys VALUES ('mes', ?, ?, ?)", [(f"order:{m}:1", m, now) for m in ids])
        db.executemany(
            "INSERT INTO journal VALUES (?, 'deliver:mes', 'delivered', 'order', ?, '1', ?, ?)",
            [(m, m, now, now) for m in ids],
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO journal VALUES (?, 'translate', 'translated', 'order', ?, '1', ?, ?)",
            [(f"raw-{m}", m, now, now) for m in ids],
        )
        db.execute("COMMIT")
    elapsed = time.process_time() - started
    db.close()
    return elapsed / (batches * size)


def bridge(path: Path, batches: int, size: int) -> float:
    """CPU seconds per message of the ledger."""
    ledger = Ledger.connect(f"sqlite:///{path}")

    def batch(b: int) -> None:
        items = [
            DeliveryItem(f"m{b}-{i}", "order", f"O{b}-{i}", f"{b * 1000 + i:016d}", None) for i in range(size)
        ]
        ledger.deliver("mes", items, lambda written: None)
        ledger.record(
            [
                JournalEntry(
                    message_id=f"raw{b}-{i}",
                    stage="translate",
                    status="translated",
                    source_system="sap",
                    document_type="LOIPRO05",
                    document_key=str(i),
                    entity="order",
                    business_key=f"O{b}-{i}",
                    version="1",
                )
                for i in range(size)
            ]
        )
        ledger.statuses([f"raw{b + 1}-{i}" for i in range(size)], "translate")

    batch(0)  # schema and statement compilation are start-up costs
    started = time.process_time()
    for b in range(1, batches + 1):
        batch(b)
    elapsed = time.process_time() - started
    ledger.close()
    return elapsed / (batches * size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4000, help="messages (default 4000)")
    parser.add_argument("--batch", type=int, default=100, help="messages per batch (default 100)")
    args = parser.parse_args()
    batches = max(args.n // args.batch, 1)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as work:
        plain = min(baseline(Path(work) / f"plain{k}.sqlite", batches, args.batch) for k in range(3))
        ours = min(bridge(Path(work) / f"ledger{k}.sqlite", batches, args.batch) for k in range(3))
    print(f"{batches * args.batch} messages in batches of {args.batch}, SQLite file, best of 3")
    print(f"  plain sqlite3 inserts (keys + 2 journal rows) : {plain * 1e6:6.1f} us CPU/msg")
    print(f"  ledger deliver + record + statuses            : {ours * 1e6:6.1f} us CPU/msg")
    print(f"  ledger / plain = {ours / plain:.1f}x the CPU (it also checks duplicates and stale versions)")


if __name__ == "__main__":
    main()
