"""SAP's decode errors: they name an IDoc's DOCNUM and segment, as SAP's own tools do."""

from __future__ import annotations

from bridge.errors import DecodeError

__all__ = ["DefinitionError", "IDocError"]


class IDocError(DecodeError):
    """An IDoc (flat or XML) or other SAP document that cannot be read.

    Attributes:
        segment: the segment (type or definition, with its number or line) being read.
    """

    id_label = "DOCNUM"
    part_label = "segment"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        document_id: str | None = None,
        segment: str | None = None,
    ) -> None:
        super().__init__(message, source=source, document_id=document_id, part=segment)

    @property
    def segment(self) -> str | None:
        """The segment being read, when known."""
        return self.part


class DefinitionError(IDocError):
    """No segment definition is known for an IDoc type or one of its segments."""
