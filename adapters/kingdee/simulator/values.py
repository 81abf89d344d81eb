"""Values as K/3 Cloud keeps them: field keys matched without regard to case (``FMaterialID`` is
``FMaterialId``), base-data references (``{"FNumber": "A01"}``), quantities as decimals, dates as
server-local zone-less text (``2025-01-19T11:42:54.797``), and the server's clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Clock", "ci_get", "ci_key", "ci_pop", "ci_set", "is_date_field", "is_qty_field", "is_ref", "local_text",
    "normalize", "parse_local", "qty_sum", "ref_number", "to_float", "to_int",
]

_REF_KEYS = ("fnumber", "fcode", "fuserid", "fstaffnumber")
_DATE_TEXT = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?$")
_EXTRA_DATES = frozenset({"fstarttime", "fendtime"})
_EXTRA_QTYS = ("urnum", "urnom", "fyieldrate", "fcostrate", "fnumerator", "fdenominator", "fuserate", "fscraprate")


def ci_key(mapping: Mapping[str, Any], key: str) -> str | None:
    """The key of ``mapping`` that is ``key`` but for case (None when absent)."""
    if key in mapping:
        return key
    low = key.lower()
    return next((k for k in mapping if k.lower() == low), None)


def ci_get(mapping: Mapping[str, Any], key: str, default: Any = None) -> Any:
    found = ci_key(mapping, key)
    return mapping[found] if found is not None else default


def ci_set(mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set ``key``, keeping the spelling the mapping already has for it."""
    mapping[ci_key(mapping, key) or key] = value


def ci_pop(mapping: MutableMapping[str, Any], key: str, default: Any = None) -> Any:
    found = ci_key(mapping, key)
    return mapping.pop(found) if found is not None else default


def is_ref(value: Any) -> bool:
    """Whether ``value`` is a base-data reference as a Save model writes it (``{"FNumber": ...}``)."""
    return isinstance(value, Mapping) and any(k.lower() in _REF_KEYS for k in value)


def ref_number(value: Any) -> str:
    """The number a reference names ("" for none)."""
    if not is_ref(value):
        return ""
    found = next(v for k, v in value.items() if k.lower() in _REF_KEYS)
    return "" if found is None else str(found).strip()


def is_qty_field(key: str) -> bool:
    low = key.lower()
    return low.endswith("qty") or low.endswith(_EXTRA_QTYS)


def is_date_field(key: str) -> bool:
    low = key.lower()
    return low.endswith("date") or low in _EXTRA_DATES


def to_float(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def to_int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def qty_sum(*values: Any) -> float:
    """Quantities added as decimals (as the server's numeric columns add them: 0.1 + 0.2 is 0.3)."""
    return float(sum((Decimal(repr(to_float(v))) for v in values), Decimal(0)))


def parse_local(text: Any) -> datetime | None:
    """A zone-less time as the server writes or takes it (``2025-01-19``, ``2025-01-19 08:00:00``,
    ``2025-01-19T11:42:54.797``); None for anything else."""
    if not isinstance(text, str):
        return None
    match = _DATE_TEXT.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        micro = int((fraction or "0").ljust(6, "0")[:6])
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
    except ValueError:
        return None


def local_text(moment: datetime) -> str:
    """``2025-01-19T11:42:54.797`` as .NET writes a DateTime: milliseconds, trailing zeros dropped."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}".rstrip("0") if millis else text


def _normal(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if is_qty_field(key) and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    if is_date_field(key) and isinstance(value, str):
        moment = parse_local(value)
        return local_text(moment) if moment is not None else value
    return value


def normalize(model: Mapping[str, Any]) -> dict[str, Any]:
    """A Save model's values as the server keeps them: quantities as floats, dates as zone-less
    ISO text, ``"true"``/``"false"`` as booleans (nested entry rows and sub-heads too; references
    as they are)."""
    result: dict[str, Any] = {}
    for key, value in model.items():
        if isinstance(value, Mapping) and not is_ref(value):
            result[key] = normalize(value)
        elif isinstance(value, list):
            result[key] = [normalize(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[key] = _normal(key, value)
    return result


class Clock:
    """The server's clock in its time zone; every stamp it hands out is later than the one before
    (a write in the same millisecond as another still gets a later FModifyDate)."""

    def __init__(self, timezone: str = "Asia/Shanghai", now: Callable[[], datetime] | None = None) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self._now = now or (lambda: datetime.now(UTC))
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def local(self) -> datetime:
        moment = self._now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def stamp(self) -> str:
        """Now as ``FModifyDate`` text."""
        with self._lock:
            moment = self.local()
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if self._last is not None and moment <= self._last:
                moment = self._last + timedelta(milliseconds=1)
            self._last = moment
            return local_text(moment)

    def today(self) -> str:
        return self.local().strftime("%Y-%m-%dT00:00:00")
