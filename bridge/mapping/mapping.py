"""A compiled mapping: forward (source document -> canonical envelopes) or reverse
(canonical envelope -> target payload)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bridge.canonical import ENTITY_ENVELOPES, SCHEMA_ID, message_id
from bridge.canonical.keys import payload_business_key
from bridge.document import SourceDocument
from bridge.errors import MappingError, ValidationError
from bridge.mapping.compiler import Expr
from bridge.mapping.paths import Scope, compile_path
from bridge.mapping.transforms import TransformError, get_transform

__all__ = ["CompiledMapping"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class CompiledMapping:
    """One mapping file, compiled.

    Attributes:
        name: the mapping's name (``sap.loipro.order``).
        file: the YAML file it came from.
        direction: ``to_canonical`` or ``from_canonical``.
        system: the source system (to canonical) or target system (from canonical).
        documents: source document types read (to canonical) or the target document.
        entity: the canonical entity produced or read.
        target_format: serialisation of a reverse mapping's payload (json, rfc-xml, ...).
        timezone: the zone for times without an offset.
    """

    name: str
    file: str
    direction: str
    system: str
    documents: tuple[str, ...]
    entity: str
    timezone: str
    build_payload: Expr
    event: Expr | None = None
    each: Callable[[Any, Scope], Any] | None = None
    envelope: Mapping[str, Expr] | None = None
    events: tuple[str, ...] = ()
    target_format: str = "json"

    @property
    def label(self) -> str:
        """``sap.loipro.order (mappings/sap/loipro_order.yaml)``."""
        return f"{self.name} ({self.file})"

    # -- to canonical ---------------------------------------------------------------------

    def map_document(self, doc: SourceDocument) -> list[tuple[str | None, dict[str, Any]]]:
        """Run the field mapping only: ``[(event, payload dict)]``, one per entity produced.

        This is the hot path the benchmark measures against hand-written code.
        """
        facts = _Facts(doc)
        root = doc.tree
        scope = Scope(root, facts)
        results: list[tuple[str | None, dict[str, Any]]] = []
        try:
            if self.each is None:
                payload = self.build_payload(root, scope) or {}
                event = self.event(root, scope) if self.event else None
                results.append((event, payload))
            else:
                for index, (element, trail) in enumerate(self.each(root, scope), start=1):
                    inner = Scope(root, facts, trail, index)
                    payload = self.build_payload(element, inner) or {}
                    event = self.event(element, inner) if self.event else None
                    results.append((event, payload))
        except MappingError as err:
            raise err.with_context(mapping=self.label, document=doc.label) from err.__cause__
        return results

    def apply(self, doc: SourceDocument, *, clock: Clock = _utc_now) -> list[dict[str, Any]]:
        """Map a document to validated canonical envelopes (JSON-ready dicts)."""
        return [_json_form(model) for model in self.apply_models(doc, clock=clock)]

    def apply_models(self, doc: SourceDocument, *, clock: Clock = _utc_now) -> list[BaseModel]:
        """Map a document to validated canonical envelope models (``model_dump_json`` for the wire)."""
        scope = Scope(doc.tree, _Facts(doc))
        overrides = {}
        try:
            for key, expr in (self.envelope or {}).items():
                overrides[key] = expr(doc.tree, scope)
        except MappingError as err:
            raise err.with_context(mapping=self.label, document=doc.label) from err.__cause__
        mapped = self.map_document(doc)
        document_id = overrides.get("document_id") or doc.document_id
        instance = overrides.get("instance") or doc.instance
        document_key = document_id or doc.fingerprint or "nokey"
        occurred_at = overrides.get("occurred_at") or self._occurred_at(doc) or clock().isoformat()
        # without a serial or creation time, the IDoc number (ascending in SAP) orders updates;
        # failing that, the time the bridge saw the document does; a content hash cannot
        version = overrides.get("version") or doc.version or document_id or _compact(occurred_at)
        correlation = overrides.get("correlation_id") or f"{doc.system}:{instance or '-'}:{document_key}"
        envelopes = []
        for event, payload in mapped:
            item_key = self._business_key(payload) if self.each is not None else None
            envelope = {
                "schema": SCHEMA_ID,
                "message_id": message_id(doc.system, instance, document_key, self.entity, item_key),
                "entity": self.entity,
                "event": event,
                "source": {
                    "system": doc.system,
                    "instance": instance,
                    "document_type": doc.document_type,
                    "document_id": document_id,
                },
                "version": str(version),
                "occurred_at": occurred_at,
                "correlation_id": correlation,
                "payload": payload,
            }
            envelopes.append(self.validate_model(envelope, doc.label))
        return envelopes

    def _occurred_at(self, doc: SourceDocument) -> str | None:
        if not doc.created:
            return None
        reader = get_transform(doc.created_read_by or "iso_datetime")
        try:
            if reader is None:
                raise TransformError(f"the codec reads it with {doc.created_read_by!r}, which no adapter brings")
            return reader(*doc.created, tz=self.timezone)
        except TransformError as exc:
            raise MappingError(
                f"creation time is not a date/time: {exc}",
                mapping=self.label,
                field="occurred_at",
                path=doc.created_path or "the document's creation time",
                value=" ".join(doc.created),
                document=doc.label,
            ) from exc

    def _business_key(self, payload: Mapping[str, Any]) -> str:
        return payload_business_key(self.entity, payload)

    def validate(self, envelope: dict[str, Any], document: str | None = None) -> dict[str, Any]:
        """Check an envelope against the canonical model; return its JSON form."""
        return _json_form(self.validate_model(envelope, document))

    def validate_model(self, envelope: dict[str, Any], document: str | None = None) -> BaseModel:
        """Check an envelope against the canonical model; return the model."""
        model = ENTITY_ENVELOPES[self.entity]
        try:
            parsed = model.model_validate(envelope)
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                + (f" (got {error['input']!r})" if not isinstance(error["input"], dict | list) else "")
                for error in exc.errors()
            )
            where = f"{document}: " if document else ""
            raise ValidationError(
                f"{where}mapping {self.label}: not a valid {self.entity}: {problems}"
            ) from exc
        return parsed

    # -- from canonical -------------------------------------------------------------------

    def render(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Map a canonical envelope (JSON form) to the target payload dict."""
        scope = Scope(envelope, {"message_id": envelope.get("message_id")})
        try:
            return self.build_payload(envelope, scope) or {}
        except MappingError as err:
            raise err.with_context(
                mapping=self.label, document=str(envelope.get("message_id", "envelope"))
            ) from err.__cause__

    def accepts(self, envelope: Mapping[str, Any]) -> bool:
        """Whether a reverse mapping handles this envelope's entity and event."""
        return envelope.get("entity") == self.entity and (
            not self.events or envelope.get("event") in self.events
        )


def _json_form(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _compact(timestamp: str) -> str:
    """``2023-11-28T09:34:05.123+08:00`` -> ``20231128093405123`` (sortable digits)."""
    return "".join(ch for ch in timestamp.split("+", maxsplit=1)[0].rstrip("Z") if ch.isdigit())


class _Facts(Mapping[str, Any]):
    """``$doc.<name>``: the source document's facts, read on demand (no dict per document)."""

    __slots__ = ("_doc",)
    _NAMES = ("document_id", "instance", "version", "document_type", "extension", "origin", "system")

    def __init__(self, doc: SourceDocument) -> None:
        self._doc = doc

    def __getitem__(self, name: str) -> Any:
        if name in self._NAMES:
            return getattr(self._doc, name)
        return self._doc.meta[name]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter((*self._NAMES, *self._doc.meta))

    def __len__(self) -> int:
        return len(self._NAMES) + len(self._doc.meta)


def each_walker(path: str) -> Callable[[Any, Scope], Any]:
    """The element walker for a mapping-level ``each:`` path."""
    return compile_path(path).elements
