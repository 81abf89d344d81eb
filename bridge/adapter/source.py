"""The source role: receivers and watchers that take a system's documents into the bridge.

An adapter's ``sources(context)`` returns the sources configured for one system
(``sources.<system>`` in the settings): HTTP receivers expose :attr:`Source.routes` on the
bridge's HTTP port, watchers (a file port) run from :meth:`Source.start` to :meth:`Source.stop`.
Every source hands documents to :attr:`SourceContext.ingest`, which archives them, publishes them
with deterministic ids and returns only once the broker confirmed them (a document that does not
decode is still ingested: translate dead-letters it with its reason, so nothing is lost).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.document import Codec
from bridge.receivers.request import Route

__all__ = ["Source", "SourceContext"]


@dataclass(frozen=True)
class SourceContext:
    """What the runtime gives an adapter's sources.

    Attributes:
        system: the source system's name (``sap``, ``mes``).
        settings: the adapter's validated model of ``sources.<system>`` (None when it has none).
        ingest: ``ingest([(bytes, origin), ...]) -> [RawDocument]``: archive, publish, journal;
            returns after the broker confirmed all of them. Raises TransientError when the
            broker or the ledger could not take them within the ingest deadline.
        codec: the system's codec (to check a document before answering its sender).
        codec_options: the options the codec decodes this system's documents with.
        publish: ``publish(OutMessage)`` on a confirmed channel, for sources that answer on
            the broker (e.g. a status back to the ERP).
        env: the environment secrets are read from.
        already_ingested: ``already_ingested(message_ids) -> set``: those the ledger journaled as
            ingested (a watcher restarting after a crash publishes nothing twice).
        outcomes: what became of this system's documents (translated or dead-lettered) and
            which were reported back to it
            (:class:`~bridge.ledger.document_outcomes.DocumentOutcomes`), for a source that
            tells its sender (an IDoc's status back to SAP).
        positions: where each polling source stands, its watermark
            (:class:`~bridge.ledger.source_positions.SourcePositions`).
        metrics: the process's metrics (sources may count what they poll), or None.
    """

    system: str
    settings: Any
    ingest: Callable[[Sequence[tuple[bytes, str]]], Sequence[Any]]
    codec: Codec | None = None
    codec_options: Mapping[str, Any] = field(default_factory=dict)
    publish: Callable[..., Any] | None = None
    env: Mapping[str, str] | None = None
    already_ingested: Callable[[Sequence[str]], set[str]] | None = None
    outcomes: Any = None
    positions: Any = None
    metrics: Any = None


class Source(Protocol):
    """A receiver or watcher."""

    name: str
    routes: Sequence[Route]

    def start(self) -> None:
        """Begin watching (receivers: nothing to do; the HTTP server serves their routes)."""
        ...

    def stop(self) -> None:
        """Stop watching; a document in hand is finished or left to be taken again."""
        ...
