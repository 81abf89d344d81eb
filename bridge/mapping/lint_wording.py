"""How ``bridge mapping lint`` words a source path that leads nowhere, for each kind of
document: IDoc segments and fields, JSON keys, the canonical envelope."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.mapping.lint_shapes import Shape

__all__ = ["Describer"]


@dataclass(frozen=True)
class Describer:
    """How messages name the document a mapping reads.

    Attributes:
        kind: ``idoc``, ``json`` or ``canonical``.
        sources: what the names were checked against (``the LOIPRO05 definitions or the
            cases' 7 samples``, ``the cases' 5 samples``, ``the canonical report envelope``).
        documents: the document types, for IDoc messages (``LOIPRO01/LOIPRO05``).
    """

    kind: str
    sources: str
    documents: str = ""

    def missing(self, key: str, at: Shape, last: bool) -> str:
        """What is wrong when ``at`` has nothing called ``key``."""
        if at.scalar and not at.branch:
            what = "a field" if self.kind == "idoc" else "a value"
            return f"{at.dotted} is {what} in {self.sources}, it has no {key}"
        where = f"under {at.dotted}" if at.path else "at the top level"
        if self.kind == "idoc":
            if not at.path:
                return f"the {self.documents} IDoc has no segment {key} at the top level in {self.sources}"
            kind = "field" if last else "child segment"
            return f"segment {at.name} has no {kind} {key} in {self.sources}"
        if self.kind == "canonical":
            return f"{self.sources} has no {key} {where}"
        return f"none of {self.sources} has {key} {where}"

    def not_a_value(self, node: Shape) -> str:
        """What is wrong when a single-value read ends at a segment or object."""
        if self.kind == "idoc":
            return f"{node.dotted} is a segment, not a field: name one of its fields"
        return f"{node.dotted} is an object, not a value: name one of its keys"
