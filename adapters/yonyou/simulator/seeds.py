"""A seed file for the simulator: JSON with the tenant's materials, lots and production orders,
each in the shape ``seed_material``, ``seed_batch`` and ``seed_order`` take::

    {"materials": [{"code": "FG-100", "name": "...", "unitCode": "PCS", "unitName": "件",
                    "isBatchManage": true, "isExpiryDateManage": false}],
     "batches":   [{"product": "RM-200", "batchno": "L-0001", "producedate": "2026-11-01",
                    "invaliddate": "2027-11-01", "stopstatus": false}],
     "orders":    [{"code": "SCDD20261201000001", "orgCode": "PLANT1", "vouchdate": "2026-12-01",
                    "status": 1, "orderProduct": [{"materialCode": "FG-100", "quantity": 100,
                    "startDate": "2026-12-02", "finishDate": "2026-12-05",
                    "orderMaterial": [{"materialCode": "RM-200", "recipientQuantity": 200}]}]}]}

Materials come first (orders and lots name them by code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.yonyou.simulator.server import YonyouSimulator

__all__ = ["load_seed"]

_SECTIONS = ("materials", "batches", "orders")


def load_seed(simulator: YonyouSimulator, path: Path) -> dict[str, int]:
    """Seed ``simulator`` from the file; how many of each were seeded.

    Raises:
        ValueError: the file is not such JSON, or an entry is refused (naming it).
    """
    try:
        seed: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON seed file ({exc})") from None
    if not isinstance(seed, dict) or set(seed) - set(_SECTIONS):
        raise ValueError(f"{path}: a seed file is an object with {', '.join(_SECTIONS)}")
    seeders = {"materials": simulator.seed_material, "batches": simulator.seed_batch, "orders": simulator.seed_order}
    counts = {}
    for section in _SECTIONS:
        entries = seed.get(section) or []
        for index, entry in enumerate(entries):
            try:
                seeders[section](entry)
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}: {section}[{index}]: {exc}") from None
        counts[section] = len(entries)
    return counts
