"""The bridge's ledger: message journal, raw archive, idempotency keys and applied versions.

>>> from bridge.ledger import DeliveryItem, Ledger
>>> ledger = Ledger.connect("sqlite://")
>>> ledger.deliver("mes", [DeliveryItem("m1", "order", "430094", "1")], lambda items: None)
[<Decision.APPLIED: 'applied'>]
>>> ledger.close()
"""

from __future__ import annotations

from bridge.ledger.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate
from bridge.ledger.repository import (
    DEFAULT_URL,
    Decision,
    DeliveryItem,
    JournalEntry,
    JournalStatus,
    Ledger,
    RawRecord,
    delivery_key,
)
from bridge.ledger.versions import is_older, version_key

__all__ = [
    "DEFAULT_URL",
    "LATEST_VERSION",
    "MIGRATIONS",
    "Decision",
    "DeliveryItem",
    "JournalEntry",
    "JournalStatus",
    "Ledger",
    "Migration",
    "RawRecord",
    "delivery_key",
    "is_older",
    "migrate",
    "version_key",
]
