"""What a codec hands to the mapping layer: a decoded source document.

A codec turns bytes into one or more :class:`SourceDocument`; only mappings turn a document's
``tree`` into canonical objects. The tree is plain data the mapping language walks:
``dict`` nodes keyed by field or child name, ``list`` for repeated children, ``str`` (or JSON
scalars) as leaves. IDoc segments are ``dict`` subclasses, so IDoc-XML, flat IDocs and JSON all
look the same to a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.errors import shown

__all__ = ["Codec", "DocumentIdentity", "SourceDocument"]


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One source document, decoded.

    Attributes:
        system: the source system kind (``sap``, ``kingdee``, ``canonical``...).
        document_type: what the mapping is chosen by (IDoc basic type such as ``LOIPRO05``).
        tree: the data a mapping walks.
        document_id: the source's own id (IDoc DOCNUM), when there is one.
        instance: which installation sent it (SAP sender partner, e.g. ``S4HCLNT100``).
        version: orders updates of one business key; larger is newer (IDoc SERIAL).
        created: the source's creation time as raw text pieces (``("20231128", "093405")``),
            turned into ``occurred_at`` by the mapping layer in the source system's time zone,
            with the transform ``created_read_by`` names.
        created_read_by: the transform reading ``created`` (``sap_datetime``); the built-in
            ``iso_datetime`` when not set.
        created_path: where ``created`` comes from in the document, for errors
            (``EDI_DC40.CREDAT + EDI_DC40.CRETIM``).
        id_label: what the source calls its document id, for messages (``DOCNUM``).
        extension: an IDoc extension (CIMTYP), when set.
        origin: where the bytes came from (file name or message id), for error messages.
        fingerprint: a hash of the document's bytes, used when there is no document_id.
        meta: further source facts (message type, partner numbers) for envelopes and errors.
        warnings: what the codec read but doubts, one ``line N: ...`` text each (e.g. a flat
            line that ends inside a field), bounded per document; shown by the CLI, logged by
            the runtime, never an error.
        canonical_entities: set by a codec whose document is already a canonical envelope
            (``tree``, in its JSON form) of one of these entities (the MES's ``report`` and
            ``lot`` feedback): translate validates it against the canonical model and passes it
            on as it is, without a mapping. Empty: the document is mapped.
    """

    system: str
    document_type: str
    tree: Mapping[str, Any]
    document_id: str | None = None
    instance: str | None = None
    version: str | None = None
    created: tuple[str, ...] = ()
    created_read_by: str | None = None
    created_path: str | None = None
    id_label: str | None = None
    extension: str | None = None
    origin: str | None = None
    fingerprint: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    canonical_entities: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A short human name for error messages: ``file.xml DOCNUM 0000000000430094``
        (the id as the source calls it, see ``id_label``)."""
        parts = [self.origin] if self.origin else []
        if self.document_id:
            document_id = shown(self.document_id)  # from the input: one line, bounded
            parts.append(f"{self.id_label} {document_id}" if self.id_label else document_id)
        return " ".join(parts) or shown(self.document_type)


@dataclass(frozen=True, slots=True)
class DocumentIdentity:
    """What ingest needs to name a raw message, read without decoding the whole document.

    Attributes:
        document_types: the type of each document the bytes hold, in order.
        document_id: the first document's own id (an IDoc's DOCNUM), when it has one.
        instance: which installation sent the first document (SAP sender partner).
    """

    document_types: tuple[str, ...]
    document_id: str | None = None
    instance: str | None = None


class Codec(Protocol):
    """Bytes <-> documents for one source system (registered by entry point)."""

    system: str

    def sniff(self, data: bytes) -> bool:
        """Return True when the bytes look like this codec's format."""
        ...

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[SourceDocument]:
        """Decode bytes into documents; raise :class:`bridge.errors.DecodeError` on bad input."""
        ...

    def identify(self, data: bytes, *, origin: str | None = None, **options: Any) -> DocumentIdentity:
        """Read only what names the documents (type, id, sender), e.g. an IDoc's control record;
        raise :class:`bridge.errors.DecodeError` when even that cannot be read. Ingest uses it
        so that a document is decoded once, by translate."""
        ...

    def check_options(self, **options: Any) -> None:
        """Refuse, before any document is read, options :meth:`decode` would not take: raise
        :class:`bridge.errors.ConfigError` naming the option and what is wrong with it."""
        ...
