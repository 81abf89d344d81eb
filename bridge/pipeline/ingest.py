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
dead-letters it with the reason, so nothing is lost; that holds for a decoder bug too (an
exception that is not a bridge error is logged once, with its type, and the document goes on).

Ingest rides through a broker restart and a busy ledger: within one deadline per
:meth:`Ingestor.ingest` call (``broker.ingest_deadline_s``), archiving and journaling are tried
again while the ledger is unavailable or locked, and publishing waits for the connection to come
back and publishes again what the broker did not confirm (same message ids: downstream
idempotency absorbs a message that did arrive twice). Only when the deadline passes does ingest
fail, with one line naming what it waited for and for how long (:mod:`bridge.pipeline.deadline`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.broker.confirms import PublishError
from bridge.broker.messages import Headers, OutMessage
from bridge.broker.names import Names
from bridge.document import Codec, DocumentIdentity
from bridge.errors import BridgeError, TransientError
from bridge.pipeline.deadline import Deadline

__all__ = ["IngestStats", "Ingestor", "RawDocument", "identify"]

log = logging.getLogger(__name__)

#: Default of ``broker.ingest_deadline_s``: how long one batch may wait for the broker and ledger.
DEFAULT_DEADLINE_S = 120.0
#: The shortest confirm wait of a publish attempt, also when the deadline is nearly over.
MIN_ATTEMPT_S = 1.0
#: How long a publish attempt waits for a channel that is opening (new, or reopening now).
OPENING_S = 1.0


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


# The routing key, message id, correlation id and type of an AMQP message are short strings
# (255 bytes at most, pika raises in its I/O thread otherwise): the parts of them that come
# from the document (type, sender, number) are used only when printable and short.
_MAX_ID_PART_BYTES = 160


def _fits_amqp(part: str) -> bool:
    return part.isprintable() and len(part.encode("utf-8")) <= _MAX_ID_PART_BYTES


def identify(
    data: bytes, *, system: str, origin: str, codec: Codec, options: Mapping[str, Any]
) -> RawDocument:
    """Give a document its deterministic id and type from what names it (the codec's
    ``identify``: an IDoc's control record), without decoding it: translate decodes it once."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    document_type, document_id, message_id = "unknown", "", f"{system}:file:{digest}"
    correlation_id = message_id
    identity = _identity(data, system=system, origin=origin, codec=codec, options=options)
    if identity is not None and identity.document_types:
        types = set(identity.document_types)
        document_type = types.pop() if len(types) == 1 else "mixed"
        if not _fits_amqp(document_type):
            document_type = "unknown"  # translate decodes it again and says what is wrong
        instance = identity.instance or "-"
        if len(identity.document_types) == 1 and identity.document_id and _fits_amqp(
            f"{instance}:{identity.document_id}"
        ):
            document_id = identity.document_id
            # the canonical events of this document carry the same correlation id
            correlation_id = f"{system}:{instance}:{document_id}"
            message_id = f"{correlation_id}:{digest[:12]}"
    return RawDocument(message_id, system, document_type, document_id, origin, data, correlation_id)


def _identity(
    data: bytes, *, system: str, origin: str, codec: Codec, options: Mapping[str, Any]
) -> DocumentIdentity | None:
    """The codec's identity of the bytes; None when they cannot be named (translate then
    dead-letters the document with the reason)."""
    try:
        if hasattr(codec, "identify"):
            return codec.identify(data, origin=origin, **options)
        documents = codec.decode(data, origin=origin, **options)  # a codec without identify
        first = documents[0] if documents else None
        return DocumentIdentity(
            tuple(d.document_type for d in documents),
            first.document_id if first else None,
            first.instance if first else None,
        )
    except BridgeError:
        return None
    except Exception as exc:  # a decoder bug must not stop ingest: translate dead-letters the document
        log.warning(
            "%s: the %s decoder failed with an unexpected %s (%s); ingesting the document "
            "undecoded (translate dead-letters it with the reason)",
            origin,
            system,
            type(exc).__name__,
            exc,
        )
        return None


@dataclass
class IngestStats:
    """What an :class:`Ingestor` took in and rode through (for summaries and receivers).

    An outage is a step (publishing, archiving or journaling one batch) that failed at least
    once before it succeeded; its failures are the attempts that failed.
    """

    documents: int = 0
    broker_outages: int = 0
    broker_failures: int = 0  # not connected, connection lost before the confirms, nacked
    ledger_outages: int = 0
    ledger_failures: int = 0  # database locked past the busy timeout, or unreachable
    republished: int = 0  # messages published again because the broker had not confirmed them
    waited_s: float = 0.0  # time spent in steps that failed at least once, until they succeeded

    def summary(self) -> str:
        """``"rode through 1 broker outage(s) (3 failed attempt(s), ...), waiting 6.1 s"`` or ``""``."""
        parts = []
        if self.broker_outages:
            parts.append(
                f"{self.broker_outages} broker outage(s) ({self.broker_failures} failed attempt(s), "
                f"{self.republished} message(s) published again)"
            )
        if self.ledger_outages:
            parts.append(f"{self.ledger_outages} ledger outage(s) ({self.ledger_failures} failed attempt(s))")
        if not parts:
            return ""
        return f"rode through {' and '.join(parts)}, waiting {self.waited_s:.1f} s"


class Ingestor:
    """Archives and publishes source documents, riding through broker and ledger outages.

    Args:
        names: exchange and queue names.
        channel: a publishing channel (AmqpChannel or the stub's).
        ledger: the ledger (raw archive and journal).
        codec_for: the codec of a source system.
        codec_options: per source system options of its codec.
        confirm_timeout: the longest wait for the broker's confirms per publish attempt.
        deadline: how long one :meth:`ingest` call may keep trying (seconds).
        deadline_setting: the setting or option that set ``deadline``, named in errors.
        metrics: the process's metrics, if any.
        clock: monotonic seconds (tests pass a fake one, with ``sleep``).
        sleep: waits between attempts.
    """

    def __init__(
        self,
        names: Names,
        channel: Any,
        ledger: Any,
        *,
        codec_for: Callable[[str], Codec],
        codec_options: Mapping[str, Mapping[str, Any]] | None = None,
        confirm_timeout: float = 30.0,
        deadline: float = DEFAULT_DEADLINE_S,
        deadline_setting: str = "broker.ingest_deadline_s",
        metrics: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.names = names
        self.channel = channel
        self.ledger = ledger
        self.codec_for = codec_for
        self.codec_options = codec_options or {}
        self.confirm_timeout = confirm_timeout
        self.deadline = deadline
        self.deadline_setting = deadline_setting
        self.metrics = metrics
        self.stats = IngestStats()
        self._clock = clock
        self._sleep = sleep
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
        """Archive, publish and journal; returns after the broker confirmed all of them.

        A broker that is restarting or a ledger that is locked or unreachable is waited for,
        within :attr:`deadline` seconds for the whole call (see the module docstring).

        Raises:
            TransientError: the broker or the ledger still could not take them when the
                deadline passed; one line names what was waited for and for how long (nothing
                was lost: ingesting again publishes the same ids).
            BridgeError: anything else the ledger refused (e.g. a wrong schema), at once.
        """
        from bridge.ledger import JournalEntry, RawRecord

        if not documents:
            return []
        deadline = Deadline(self.deadline, setting=self.deadline_setting, clock=self._clock, sleep=self._sleep)
        count = len(documents)
        records = [
            RawRecord(d.message_id, d.system, d.document_type, d.document_id or d.origin, d.body)
            for d in documents
        ]
        self._ledger_step(deadline, f"the ledger to archive {count} raw payload(s)", self.ledger.archive_raw, records)
        # built once: a message published again carries the same id and receipt time
        self._publish([self._message(d) for d in documents], deadline)
        entries = [
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
        self._ledger_step(deadline, f"the ledger to journal {count} message(s)", self.ledger.record, entries)
        self.stats.documents += count
        self.stats.waited_s += deadline.waited
        if self.metrics:
            for d in documents:
                self.metrics.received(d.system, "unknown", "ingest")
        return list(documents)

    def _publish(self, messages: list[OutMessage], deadline: Deadline) -> None:
        """Publish until the broker confirmed every message; after a failure, only the rest."""
        outstanding = messages
        sent = False
        failures = 0

        def publish(left: float) -> None:
            nonlocal sent
            # a channel still opening is waited for briefly; no connection after that is a failed
            # attempt (logged once, retried with backoff), so every outage shows in the summary
            sent = self.channel.wait_ready(min(left, OPENING_S))
            if not sent:
                raise PublishError("not connected to the broker", outstanding)
            self.channel.publish(outstanding, timeout=min(self.confirm_timeout, max(left, MIN_ATTEMPT_S)))

        def failed(error: TransientError) -> None:
            nonlocal outstanding, failures
            failures += 1
            if sent:  # a PublishError says which messages the broker did not confirm; else all
                outstanding = list(getattr(error, "unconfirmed", ()) or outstanding)
                self.stats.republished += len(outstanding)

        try:
            deadline.run(f"the broker to confirm {len(messages)} message(s)", publish, on_failure=failed)
        finally:
            if failures:
                self.stats.broker_outages += 1
                self.stats.broker_failures += failures

    def _ledger_step(self, deadline: Deadline, what: str, write: Callable[[Any], None], rows: Any) -> None:
        """One ledger write, tried again while the database is locked or unreachable."""
        failures = 0

        def failed(_error: TransientError) -> None:
            nonlocal failures
            failures += 1

        try:
            deadline.run(what, lambda _left: write(rows), on_failure=failed)
        finally:
            if failures:
                self.stats.ledger_outages += 1
                self.stats.ledger_failures += failures

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
