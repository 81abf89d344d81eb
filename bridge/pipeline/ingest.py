"""Ingest: source documents in, raw messages on the inbound exchange (confirmed) out.

Each document gets a deterministic message id: ``<system>:<sender>:<document id>:<hash>`` when
the file holds one document with an id (an IDoc's DOCNUM), else ``<system>:file:<hash>``; the
hash (first 12 hex digits of the bytes' SHA-256) tells apart two different documents that claim
the same number, so neither is lost, while a re-sent identical document keeps its id. The
bytes are archived in the ledger before they are published, and :meth:`Ingestor.ingest`
returns only after the broker confirmed every message. The HTTP and file-port receivers use
the same path. Each raw message carries the moment it was received: translating it again (a
redelivery, a replay) then gives the same canonical version even for a document that carries
no number or creation time of its own. A document that does not decode is still ingested: the translate stage
dead-letters it with the reason, so nothing is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.broker.messages import Headers, OutMessage
from bridge.broker.names import Names
from bridge.document import Codec
from bridge.errors import BridgeError

__all__ = ["Ingestor", "RawDocument", "identify"]


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A source document ready to publish."""

    message_id: str
    system: str
    document_type: str
    document_id: str
    origin: str
    body: bytes
    correlation_id: str = ""

    @property
    def routing_key(self) -> str:
        """``<system>.<document type>`` on the inbound exchange."""
        return f"{self.system}.{self.document_type}"


def identify(
    data: bytes, *, system: str, origin: str, codec: Codec, options: Mapping[str, Any]
) -> RawDocument:
    """Give a document its deterministic id and type (decoding it once to learn them)."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    document_type, document_id, message_id = "unknown", "", f"{system}:file:{digest}"
    correlation_id = message_id
    try:
        documents = codec.decode(data, origin=origin, **options)
    except BridgeError:
        documents = []
    if documents:
        types = {d.document_type for d in documents}
        document_type = types.pop() if len(types) == 1 else "mixed"
        if len(documents) == 1 and documents[0].document_id:
            document_id = documents[0].document_id
            # the canonical events of this document carry the same correlation id
            correlation_id = f"{system}:{documents[0].instance or '-'}:{document_id}"
            message_id = f"{correlation_id}:{digest[:12]}"
    return RawDocument(message_id, system, document_type, document_id, origin, data, correlation_id)


class Ingestor:
    """Archives and publishes source documents."""

    def __init__(
        self,
        names: Names,
        channel: Any,
        ledger: Any,
        *,
        codec_for: Callable[[str], Codec],
        codec_options: Mapping[str, Mapping[str, Any]] | None = None,
        confirm_timeout: float = 30.0,
        metrics: Any = None,
    ) -> None:
        self.names = names
        self.channel = channel
        self.ledger = ledger
        self.codec_for = codec_for
        self.codec_options = codec_options or {}
        self.confirm_timeout = confirm_timeout
        self.metrics = metrics
        self._last_received = datetime.min.replace(tzinfo=UTC)

    def _received_at(self) -> str:
        """Now, strictly after the previous document's: a document without a number or a
        creation time is ordered (and versioned) by it, so no two may share one."""
        now = datetime.now(UTC)
        if now <= self._last_received:
            now = self._last_received + timedelta(microseconds=1)
        self._last_received = now
        return now.isoformat(timespec="microseconds")

    def prepare(self, items: Sequence[tuple[bytes, str]], system: str) -> list[RawDocument]:
        """Identify documents given as (bytes, origin) pairs."""
        codec = self.codec_for(system)
        options = self.codec_options.get(system, {})
        return [
            identify(data, system=system, origin=origin, codec=codec, options=options)
            for data, origin in items
        ]

    def ingest(self, documents: Sequence[RawDocument]) -> list[RawDocument]:
        """Archive, journal and publish; returns after the broker confirmed all of them.

        Raises:
            TransientError: the broker or the ledger could not take them (nothing was lost:
                ingesting again publishes the same ids).
        """
        from bridge.ledger import JournalEntry, RawRecord

        if not documents:
            return []
        self.ledger.archive_raw(
            [
                RawRecord(d.message_id, d.system, d.document_type, d.document_id or d.origin, d.body)
                for d in documents
            ]
        )
        self.channel.publish([self._message(d) for d in documents], timeout=self.confirm_timeout)
        self.ledger.record(
            [
                JournalEntry(
                    message_id=d.message_id,
                    stage="ingest",
                    status="received",
                    source_system=d.system,
                    document_type=d.document_type,
                    document_key=d.document_id or d.origin,
                    correlation_id=d.correlation_id or d.message_id,
                )
                for d in documents
            ]
        )
        if self.metrics:
            for d in documents:
                self.metrics.received(d.system, "unknown", "ingest")
        return list(documents)

    def _message(self, document: RawDocument) -> OutMessage:
        return OutMessage(
            exchange=self.names.inbound_exchange,
            routing_key=document.routing_key,
            body=document.body,
            message_id=document.message_id,
            type=f"raw.{document.system}.{document.document_type}",
            correlation_id=document.correlation_id or document.message_id,
            headers={
                Headers.SOURCE_SYSTEM: document.system,
                Headers.DOCUMENT_TYPE: document.document_type,
                Headers.DOCUMENT_ID: document.document_id,
                Headers.ORIGIN: document.origin,
                Headers.RECEIVED_AT: self._received_at(),
            },
        )
