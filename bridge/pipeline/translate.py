"""The translate stage: raw source documents in, canonical events out.

Decode with the source system's codec, map with the mapping chosen by (system, document
type), validate, publish each envelope to the canonical exchange with routing key
``<entity>.<event>`` (or, when deliver runs in the same process, hand them to it directly:
:mod:`bridge.pipeline.direct`). A raw message already translated (a redelivery after a crash, a
re-ingest, a replay of a message that was processed meanwhile) is acked without publishing
again; downstream idempotency covers the remaining window.

A document its codec marks as already canonical (``SourceDocument.canonical_entities``: the
MES's report and lot envelopes) is not mapped: it is validated against the canonical model and
passed on as it is, in its canonical JSON form (:func:`canonical_envelope`: the model's
defaults filled in, decimals normalised, ids and version untouched); an invalid one is
dead-lettered with each invalid field named.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bridge.broker.messages import (
    MAX_SHORT_STRING_BYTES,
    Delivery,
    Headers,
    OutMessage,
    oversized_short_strings,
)
from bridge.broker.names import Names
from bridge.canonical import ENTITY_ENVELOPES
from bridge.canonical.keys import model_business_key
from bridge.document import Codec, SourceDocument
from bridge.errors import (
    BridgeError,
    DecodeError,
    PermanentError,
    TransientError,
    ValidationError,
    shown,
)
from bridge.mapping import MappingCatalog
from bridge.mapping.holder import CatalogHolder, as_holder, catalog_batch
from bridge.observability.logging import log_context
from bridge.pipeline.direct import DirectDelivery
from bridge.pipeline.outcome import Outcome, OutcomeKind

__all__ = ["TranslateStage", "canonical_envelope", "event_message", "validate_envelope"]

log = logging.getLogger(__name__)

STAGE = "translate"


def received_clock(delivery: Delivery) -> Callable[[], datetime]:
    """The moment ingest received the raw message (else now): the time and version of an
    event whose document has no number or creation time, the same at every translation."""
    stamp = delivery.header(Headers.RECEIVED_AT)
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            received = datetime.fromisoformat(stamp)
            if received.tzinfo is not None:
                return lambda: received
    return lambda: datetime.now(UTC)


def event_message(envelope: Any, exchange: str, raw_message_id: str, routing_key: str | None = None) -> OutMessage:
    """The message of one canonical event (an envelope model), as translate publishes it on
    ``exchange`` (routed ``<entity>.<event>`` unless ``routing_key`` is given)."""
    entity, event, source = envelope.entity, envelope.event, envelope.source
    return OutMessage(
        exchange=exchange,
        routing_key=routing_key if routing_key is not None else f"{entity}.{event}",
        # pydantic writes the JSON itself: the same bytes as json.dumps of the JSON form
        body=envelope.__pydantic_serializer__.to_json(envelope, by_alias=True, exclude_none=True),
        message_id=envelope.message_id,
        type=f"{entity}.{event}",
        correlation_id=envelope.correlation_id,
        content_type="application/json",
        headers={
            Headers.SOURCE_SYSTEM: source.system,
            Headers.DOCUMENT_TYPE: source.document_type,
            Headers.DOCUMENT_ID: source.document_id or "",
            Headers.ENTITY: entity,
            Headers.EVENT: event,
            Headers.VERSION: envelope.version,
            Headers.BUSINESS_KEY: model_business_key(envelope),
            "x-bridge-raw-message-id": raw_message_id,
        },
    )


def canonical_envelope(document: SourceDocument) -> BaseModel:
    """Validate a document that is already a canonical envelope; the envelope model, unchanged.

    Raises:
        ValidationError: its entity is not one the codec accepts, or any field breaks the
            canonical model; the message names every invalid field with its dotted path
            (``payload.yield_quantity.value: ...; payload.order_id: required``).
    """
    return validate_envelope(document.tree, document.canonical_entities, document.label)


def validate_envelope(data: Any, entities: Sequence[str], label: str) -> BaseModel:
    """Validate JSON data as a canonical envelope of one of ``entities`` (see
    :func:`canonical_envelope`); ``label`` names the document in the error."""
    entity = data.get("entity") if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping):
        raise ValidationError(f"{label}: not a valid canonical envelope: expected a JSON object")
    if not isinstance(entity, str) or entity not in entities or entity not in ENTITY_ENVELOPES:
        got = "missing" if entity is None else f"{shown(entity)!r} is not one of {', '.join(entities)}"
        raise ValidationError(f"{label}: not a valid canonical envelope: entity: {got}")
    try:
        return ENTITY_ENVELOPES[entity].model_validate(dict(data))
    except PydanticValidationError as exc:
        problems = "; ".join(_field_problem(error) for error in exc.errors())
        raise ValidationError(f"{label}: not a valid canonical {entity}: {problems}") from None


def _field_problem(error: Any) -> str:
    """``payload.order_id: required`` for one pydantic error (its input shown when a scalar)."""
    where = ".".join(str(part) for part in error["loc"]) or "envelope"
    if error["type"] == "missing":
        return f"{where}: required"
    if error["type"] == "extra_forbidden":
        return f"{where}: not a field of the canonical model"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if value is None or isinstance(value, dict | list):
        return f"{where}: {message}"
    got = repr(shown(value, 40)) if isinstance(value, str) else shown(value, 40)
    return f"{where}: {message} (got {got})"


class TranslateStage:
    """Raw documents -> canonical envelopes on the canonical exchange."""

    name = STAGE

    def __init__(
        self,
        names: Names,
        catalog: MappingCatalog | CatalogHolder,
        ledger: Any,
        *,
        codec_for: Callable[[str], Codec],
        codec_options: Mapping[str, Mapping[str, Any]] | None = None,
        metrics: Any = None,
        direct: DirectDelivery | None = None,
    ) -> None:
        self.names = names
        self.queue = names.translate_queue
        self.catalogs = as_holder(catalog)  # swapped by a mapping reload; read per batch
        self.ledger = ledger
        self.codec_for = codec_for
        self.codec_options = codec_options or {}
        self.metrics = metrics
        self.direct = direct

    @property
    def catalog(self) -> MappingCatalog:
        """The catalog translating now (the batch's, inside one)."""
        return self.catalogs.current

    def process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Decide per raw message; TransientError (ledger down) retries the whole batch.

        The whole batch, direct delivery included, reads one catalog: a mapping reload that
        lands meanwhile is used from the next batch on.
        """
        with catalog_batch(self.catalogs):
            done = self.ledger.statuses([d.message_id or "" for d in batch], STAGE)
            outcomes = []
            for delivery in batch:
                if done.get(delivery.message_id or "") == "translated":
                    outcomes.append(Outcome.forward(duplicate=True))
                    continue
                outcomes.append(self._translate(delivery))
            return self.direct.route(outcomes) if self.direct is not None else outcomes

    def _translate(self, delivery: Delivery) -> Outcome:
        with log_context(message_id=delivery.message_id, correlation_id=delivery.correlation_id, stage=STAGE):
            return self._translate_one(delivery)

    def _translate_one(self, delivery: Delivery) -> Outcome:
        system = str(delivery.header(Headers.SOURCE_SYSTEM) or "")
        try:
            if not system:
                raise DecodeError("the raw message names no source system (header x-bridge-source-system)")
            codec = self.codec_for(system)
            documents = codec.decode(
                delivery.body,
                origin=str(delivery.header(Headers.ORIGIN) or delivery.message_id),
                **self.codec_options.get(system, {}),
            )
            outputs: list[OutMessage] = []
            facts: list[dict[str, Any]] = []
            for document in documents:
                for warning in document.warnings:  # read as it is, but the sender may want to know
                    log.warning("%s: %s", document.label, warning)
                for envelope in self._envelopes(document, delivery):
                    output = self._output(envelope, delivery)
                    oversized = oversized_short_strings(output)
                    if oversized:  # from a document's own fields, e.g. a 300-character DOCNUM
                        raise ValidationError(
                            f"{document.label}: the canonical event's {', '.join(oversized)} exceeds AMQP's "
                            f"{MAX_SHORT_STRING_BYTES} bytes: the document's number or sender is far "
                            "longer than any ERP writes"
                        )
                    outputs.append(output)
                    facts.append(
                        {
                            "entity": envelope.entity,  # type: ignore[attr-defined]
                            "business_key": output.headers[Headers.BUSINESS_KEY],
                            "version": envelope.version,  # type: ignore[attr-defined]
                        }
                    )
        except PermanentError as exc:
            return Outcome.dead_letter(exc, system=system)
        except TransientError as exc:
            return Outcome.retry(exc, system=system)
        except BridgeError as exc:  # configuration problems surface as dead letters with the reason
            return Outcome.dead_letter(exc, system=system)
        except Exception as exc:  # a bug met by this document: park it with the details, go on
            log.exception("unexpected error translating %s", delivery.message_id)
            return Outcome.dead_letter(
                PermanentError(f"unexpected {type(exc).__name__}: {exc}"), system=system
            )
        first = facts[0] if facts else {}
        return Outcome.forward(outputs, system=system, count=len(outputs), **first)

    def _envelopes(self, document: SourceDocument, delivery: Delivery) -> list[BaseModel]:
        """The document's canonical envelopes: mapped, or passed through when already canonical."""
        if document.canonical_entities:
            return [canonical_envelope(document)]
        mapping = self.catalogs.current.reading(
            document.system, document.document_type, document.extension, document=document.label
        )
        return mapping.apply_models(document, clock=received_clock(delivery))

    def _output(self, envelope: Any, delivery: Delivery) -> OutMessage:
        return event_message(envelope, self.names.canonical_exchange, delivery.message_id or "")

    def settled(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        """Journal each raw message once its events (or its retry/dead letter) are confirmed."""
        from bridge.ledger import JournalEntry

        entries = []
        duplicates = 0
        received: Counter[tuple[str, Any]] = Counter()
        translated: Counter[tuple[str, str]] = Counter()
        for delivery, outcome in zip(batch, outcomes, strict=True):
            if outcome.note.get("duplicate"):
                duplicates += 1
                continue
            status = {
                OutcomeKind.FORWARD: "translated",
                OutcomeKind.RETRY: "failed",
                OutcomeKind.DEAD_LETTER: "dead_lettered",
            }[outcome.kind]
            system = str(outcome.note.get("system", ""))
            entries.append(
                JournalEntry(
                    message_id=delivery.message_id or "",
                    stage=STAGE,
                    status=status,
                    source_system=system,
                    document_type=str(delivery.header(Headers.DOCUMENT_TYPE) or ""),
                    document_key=str(delivery.header(Headers.DOCUMENT_ID) or ""),
                    entity=outcome.note.get("entity"),
                    business_key=outcome.note.get("business_key"),
                    version=outcome.note.get("version"),
                    error=str(outcome.error)[:2000] if outcome.error else None,
                    correlation_id=delivery.correlation_id,
                )
            )
            received[(system, outcome.note.get("entity"))] += 1
            if outcome.kind is OutcomeKind.FORWARD:
                translated[(system, str(outcome.note.get("entity", "")))] += int(outcome.note.get("count", 0))
        if entries:
            self.ledger.record(entries)
        if self.metrics:  # one update per label set and batch, not per message
            if duplicates:
                self.metrics.duplicate_skipped(STAGE, "unknown", duplicates)
            for (system, entity), n in received.items():
                self.metrics.received(system, entity, STAGE, n)
            for (system, entity), n in translated.items():
                self.metrics.translated(system, entity, n)
