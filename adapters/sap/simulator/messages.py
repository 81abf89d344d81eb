"""RETURN lines as SAP's BAPIs fill them (BAPIRET1/BAPIRET2/BAPI_CORU_RETURN fields).

Texts and numbers follow the reference (§8.7) where SAP's are known (RU 100, M7 021/053/096,
M3 024-style lock text); the rest use the simulator's own message class ``ZSIM``, never an
invented SAP number.
"""

from __future__ import annotations

__all__ = ["SYSTEM", "Message", "is_error", "message"]

SYSTEM = "SIMCLNT100"
Message = dict[str, str]


def message(msg_type: str, msg_id: str, number: str, text: str, *values: str, **extra: str) -> Message:
    """One RETURN line; ``&1``..``&4`` (or ``&`` in order) in ``text`` take ``values``."""
    rendered = text
    for n, value in enumerate(values, start=1):
        rendered = rendered.replace(f"&{n}", value) if f"&{n}" in rendered else rendered.replace("&", value, 1)
    line: Message = {"TYPE": msg_type, "ID": msg_id, "NUMBER": number, "MESSAGE": rendered[:220], "SYSTEM": SYSTEM}
    for n, value in enumerate(values[:4], start=1):
        line[f"MESSAGE_V{n}"] = value[:50]
    line.update(extra)
    return line


def is_error(line: Message) -> bool:
    return line.get("TYPE") in ("E", "A")
