"""The query role: list what a target system holds, so reconciliation can compare it with what
the bridge delivered.

An adapter's ``query(context)`` returns a :class:`Query` over one target (the settings of a
route to it). :meth:`Query.records` lists the target's records of one kind for a set of keys
(business keys: production orders) or a time window (posting dates), as plain
:class:`TargetRecord` values: the kind, the target's own document number, the business key it
belongs to, the idempotency mark the bridge sent with it (when the target keeps one) and its
facts. Kinds are the adapter's (:attr:`Query.kinds`); an unknown kind is a ConfigError naming
the known ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

__all__ = ["Query", "QueryContext", "TargetRecord"]


@dataclass(frozen=True)
class TargetRecord:
    """One record the target holds.

    Attributes:
        kind: what it is (``confirmation``, ``material_document``, ``order``).
        number: the target's own number (``0000001114/00000001``, ``4900000012/2026``).
        key: the business key it belongs to (the production order).
        mark: the idempotency mark the bridge sent (EX_IDENT, HEADER_TXT), "" if none.
        facts: the rest, as the target says it (quantities as decimal strings).
    """

    kind: str
    number: str
    key: str = ""
    mark: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryContext:
    """What an adapter's query factory gets: the target's validated route settings."""

    route: str
    settings: Any
    env: Mapping[str, str] | None = None


class Query(Protocol):
    """Reads one target."""

    kinds: Collection[str]

    def records(
        self, kind: str, *, keys: Collection[str] = (), since: date | None = None, until: date | None = None
    ) -> list[TargetRecord]:
        """The target's records of ``kind`` for ``keys`` and/or within ``since``..``until``.

        Raises:
            ConfigError: an unknown kind, or neither keys nor a window for a kind that needs one.
            TransientError: the target cannot be asked now.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
