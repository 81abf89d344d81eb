"""SAP selection ranges (SIGN/OPTION/LOW/HIGH) as the read BAPIs take them."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["in_ranges"]


def _matches(value: str, row: dict[str, str], normal: Callable[[str], str]) -> bool:
    option = row.get("OPTION", "EQ") or "EQ"
    low = normal(row.get("LOW", "")) if row.get("LOW") else ""
    high = normal(row.get("HIGH", "")) if row.get("HIGH") else ""
    if option == "EQ":
        return value == low
    if option == "NE":
        return value != low
    if option == "BT":
        return low <= value <= (high or low)
    if option in ("GE", "GT", "LE", "LT"):
        return {"GE": value >= low, "GT": value > low, "LE": value <= low, "LT": value < low}[option]
    return False


def in_ranges(value: str, ranges: list[dict[str, str]] | None, normal: Callable[[str], str] = str) -> bool:
    """True when ``value`` passes the range table (an empty table selects everything).

    A value passes when it matches an ``I`` line (or there is none) and no ``E`` line.
    """
    if not ranges:
        return True
    includes = [r for r in ranges if r.get("SIGN", "I") != "E"]
    excludes = [r for r in ranges if r.get("SIGN") == "E"]
    included = not includes or any(_matches(value, r, normal) for r in includes)
    return included and not any(_matches(value, r, normal) for r in excludes)
