"""What ``bridge mapping lint`` finds: one :class:`Problem` per mistake, ``file:line: message``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "did_you_mean", "items", "line_at", "nearest", "split_messages"]


@dataclass(frozen=True, order=True)
class Problem:
    """One lint finding: ``file:line: message`` (line 0 when the file as a whole is meant).

    Attributes:
        severity: ``error`` (lint fails) or ``warning`` (shown; fails only with ``--strict``):
            what the available descriptions cannot settle, such as a path no sample shows
            that looks like no known name.
    """

    file: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: warning: {self.message}" if self.severity == "warning" else f"{where}: {self.message}"
        )

    @property
    def error(self) -> bool:
        """Whether this problem fails the lint."""
        return self.severity == "error"


def nearest(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The valid name closest to ``name`` (difflib), or None when none is close enough."""
    names = sorted(set(candidates))
    found = difflib.get_close_matches(name, names, n=1, cutoff=cutoff)
    if not found:  # a case slip (gamng for GAMNG) is as near as it gets
        folded = {n.casefold(): n for n in names}
        found = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=cutoff)
        found = [folded[f] for f in found]
    return found[0] if found else None


def did_you_mean(name: str | None) -> str:
    """`` (did you mean NAME?)`` or nothing."""
    return f" (did you mean {name}?)" if name else ""


def split_messages(text: str, file: str) -> list[Problem]:
    """Loader messages (``file:line: ...`` lines, several joined by newlines) as problems."""
    problems = []
    for line in text.splitlines():
        number, message = 0, line
        if line.startswith(file + ":"):
            rest = line[len(file) + 1 :]
            head, _, tail = rest.partition(":")
            if head.isdigit():
                number, message = int(head), tail.strip()
            else:
                message = rest.strip()
        elif line.startswith(file + " "):
            message = line[len(file) :].strip()
        problems.append(Problem(file, number, message))
    return problems


def items(value: Any) -> list[Any]:
    """``value`` when it is a list, else no items (the schema check reports the rest)."""
    return value if isinstance(value, list) else []


def line_at(node: Any, key: str, default: int = 0) -> int:
    """The line of ``key`` in a YAML object (:class:`~bridge.mapping.yaml_source.LinedDict`),
    else of the object, else ``default``."""
    lines = getattr(node, "key_lines", None)
    if isinstance(lines, dict) and key in lines:
        return int(lines[key])
    return int(getattr(node, "line", None) or default)
