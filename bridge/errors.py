"""The bridge's typed error tree.

Every failure the bridge reports is one of these, so that the runtime can decide what to do
with a message by its class alone::

    BridgeError                      base of everything the bridge raises on purpose
    ├── TransientError               retry: network, timeouts, 5xx, broker loss, expired sessions
    ├── PermanentError               dead-letter now: retrying cannot help
    │   ├── DecodeError              bytes are not a readable document (malformed XML, bad IDoc)
    │   ├── MappingError             a mapping could not turn a source value into a target value
    │   ├── ValidationError          the mapped object breaks the canonical contract
    │   └── BusinessRejection        the target system refused the payload on business grounds
    └── ConfigError (also ValueError) bad configuration or mapping file: fail at start-up
        └── MappingDefinitionError   a mapping file is invalid (schema, unknown transform, lookup)

Third-party errors are wrapped at the boundary (``raise DecodeError(...) from exc``); the message
names what was wrong and where (file, DOCNUM, segment, mapping, field, path, value).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BridgeError",
    "BusinessRejection",
    "ConfigError",
    "DecodeError",
    "MappingDefinitionError",
    "MappingError",
    "PermanentError",
    "TransientError",
    "ValidationError",
    "shown",
]

_SHOWN_LIMIT = 80


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """A value from the input as it may appear inside a one-line error message.

    Printable text up to ``limit`` characters is shown as it is (``LOIPRO05``); text with line
    breaks or other control characters is shown as a Python literal (``'LOI\\nPRO'``), and text
    longer than ``limit`` is cut with a note of its full length, so that hostile input can
    neither split a message into several lines nor blow it up to the size of the document.
    """
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    head = text[:limit] if cut else text
    if not head.isprintable():
        head = repr(head)
    return f"{head}... ({len(text)} characters)" if cut else head


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class TransientError(BridgeError):
    """A failure that may succeed when tried again (network, timeout, 5xx, broker loss)."""


class NotSentError(TransientError):
    """A transient failure the target answered before doing anything (a lock, "service
    unavailable", refused credentials): the call may be sent again without looking it up."""


class WaitingError(TransientError):
    """The message waits for an earlier one of the same order to be settled: retried without
    using up its own retries."""


class PermanentError(BridgeError):
    """A failure that retrying cannot fix: the message goes to the dead-letter queue at once."""


class DecodeError(PermanentError):
    """The payload cannot be read as a document of the expected format.

    Adapters raise subclasses that name the document's id and parts in their system's words
    (an IDoc's ``DOCNUM`` and ``segment``) through :attr:`id_label` and :attr:`part_label`.

    Attributes:
        source: the file name or message id the bytes came from, when known.
        document_id: the document's own id, when known.
        part: the part of the document being read (a segment, a record), when known.
    """

    #: how messages name the document's id and the part being read
    id_label: ClassVar[str] = "document"
    part_label: ClassVar[str] = "at"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        document_id: str | None = None,
        part: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.document_id = document_id
        self.part = part
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.document_id:
            where.append(f"{self.id_label} {self.document_id}")
        if self.part:
            where.append(f"{self.part_label} {self.part}")
        return f"{': '.join(where)}: {self.reason}" if where else self.reason

    def located(self, *, source: str | None = None, document_id: str | None = None) -> DecodeError:
        """Return a copy (of the same class) that also names the source file or document id."""
        clone = type(self).__new__(type(self))
        DecodeError.__init__(
            clone,
            self.reason,
            source=source or self.source,
            document_id=document_id or self.document_id,
            part=self.part,
        )
        return clone


class MappingError(PermanentError):
    """A mapping failed on a value: names the mapping, target field, source path and value.

    Attributes:
        mapping: the mapping's name (and file) that failed.
        field: the dotted target field being produced.
        path: the source path read for it.
        value: the offending source value (``None`` when the value was missing).
        reason: what was wrong with the value.
        document: the document label (file, DOCNUM) when the caller knows it.
    """

    def __init__(
        self,
        reason: str,
        *,
        mapping: str | None = None,
        field: str | None = None,
        path: str | None = None,
        value: object = None,
        document: str | None = None,
    ) -> None:
        self.reason = reason
        self.mapping = mapping
        self.field = field
        self.path = path
        self.value = value
        self.document = document
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.document:
            parts.append(self.document)
        if self.mapping:
            parts.append(f"mapping {self.mapping}")
        if self.field:
            parts.append(f"field {self.field}")
        if self.path:
            parts.append(f"path {self.path}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def with_context(self, **context: str | None) -> MappingError:
        """Fill in context (mapping, field, path, document) that is not set yet."""
        for key, val in context.items():
            if val is not None and getattr(self, key) is None:
                setattr(self, key, val)
        self.args = (self._render(),)
        return self

    def __str__(self) -> str:
        return self._render()


class ValidationError(PermanentError):
    """The mapped object does not satisfy the canonical model."""


class BusinessRejection(PermanentError):
    """The target system rejected the payload for a business reason (e.g. order locked)."""


class ConfigError(BridgeError, ValueError):
    """Invalid configuration: the bridge refuses to start and names the setting."""


class MappingDefinitionError(ConfigError):
    """A mapping file is invalid: schema violation, unknown transform or lookup, bad path.

    The message names the file and, where the YAML loader knows it, the line.
    """
