"""Offline translation: files in, canonical envelopes (or target payloads) out.

The same steps the translate worker runs: detect the format, decode with the source system's
codec, choose the mapping by (system, document type), map, validate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.canonical import ENTITY_ENVELOPES, SCHEMA_ID
from bridge.codecs import codec_for, sniff_codec
from bridge.document import SourceDocument
from bridge.errors import ConfigError, ValidationError
from bridge.formats import render_payload
from bridge.limits import read_document
from bridge.mapping import CompiledMapping, MappingCatalog
from bridge.pipeline.translate import canonical_envelope, validate_envelope

__all__ = ["Translator", "read_input"]


def read_input(path: Path) -> bytes:
    """Read a document file, refusing one above the size limit before reading it.

    Raises:
        DecodeError: a missing or unreadable file, or one larger than the limit
            (``BRIDGE_MAX_DOCUMENT_BYTES``); the message names the file.
        ConfigError: ``BRIDGE_MAX_DOCUMENT_BYTES`` is not a positive integer.
    """
    return read_document(path)


def is_canonical_json(data: bytes) -> bool:
    """Whether the bytes look like a canonical envelope."""
    head = data.lstrip()[:1]
    return head == b"{" and SCHEMA_ID.encode() in data[:4096]


@dataclass
class Translator:
    """Chooses codec and mapping per document and produces output lines."""

    catalog: MappingCatalog
    mapping_name: str | None = None
    source_system: str | None = None
    document_type: str | None = None
    codec_options: Mapping[str, Any] = field(default_factory=dict)
    target_system: str | None = None

    @classmethod
    def create(
        cls,
        *,
        mappings_dir: Path | None = None,
        mapping_name: str | None = None,
        source_system: str | None = None,
        document_type: str | None = None,
        codec_options: Mapping[str, Any] | None = None,
        target_system: str | None = None,
    ) -> Translator:
        """Load the mapping catalog and check the named mapping and system exist."""
        catalog = MappingCatalog.load(mappings_dir)
        if mapping_name:
            catalog.get(mapping_name)
        if source_system:
            codec_for(source_system)
        options = {k: v for k, v in (codec_options or {}).items() if v}
        if target_system and not any(m.system == target_system for m in catalog if m.direction == "from_canonical"):
            known = sorted({m.system for m in catalog if m.direction == "from_canonical"})
            raise ConfigError(f"--target-system {target_system}: no mapping renders to it (known: {', '.join(known) or 'none'})")
        return cls(catalog, mapping_name, source_system, document_type, options, target_system)

    def translate_file(
        self, path: Path, on_warning: Callable[[str], None] | None = None
    ) -> Iterator[str]:
        """Output lines for one file: JSON envelopes, or rendered target payloads.

        Args:
            path: the file.
            on_warning: called with each decoder warning about a document (``line N: ...``)
                before that document's envelopes are produced.
        """
        data = read_input(path)
        if is_canonical_json(data):
            yield from self._render_envelopes(data, path)
            return
        documents = self.decode(data, path.name)
        del data  # the trees hold what is needed: do not keep the bytes through mapping
        documents.reverse()
        while documents:  # each document (its tree) and its envelopes are let go once written
            document = documents.pop()
            if on_warning is not None:
                for warning in document.warnings:
                    on_warning(warning)
            envelopes = list(self.map_document(document))
            del document
            envelopes.reverse()
            while envelopes:
                yield json.dumps(envelopes.pop(), ensure_ascii=False, separators=(",", ":"))

    def decode(self, data: bytes, origin: str) -> list[SourceDocument]:
        """Decode bytes with the named or detected codec."""
        codec = codec_for(self.source_system) if self.source_system else sniff_codec(data, origin)
        return codec.decode(data, origin=origin, **self.codec_options)

    def mapping_for(self, document: SourceDocument) -> CompiledMapping:
        """The mapping named on the command line, or the one for the document's type."""
        if self.mapping_name:
            return self.catalog.get(self.mapping_name)
        return self.catalog.reading(
            document.system,
            self.document_type or document.document_type,
            document.extension,
            document=document.label,
            choose="choose one with --mapping",
        )

    def map_document(self, document: SourceDocument) -> list[dict[str, Any]]:
        """Canonical envelopes for one document (one already canonical is validated and passed
        on as it is, as the translate stage does)."""
        if document.canonical_entities and not self.mapping_name:
            model = canonical_envelope(document)
            return [model.model_dump(mode="json", by_alias=True, exclude_none=True)]
        return self.mapping_for(document).apply(document)

    def _render_envelopes(self, data: bytes, path: Path) -> Iterator[str]:
        try:
            raw = json.loads(data)
        except ValueError as exc:  # JSONDecodeError, bytes that are not UTF-8
            raise ValidationError(f"{path.name}: not a valid canonical envelope: {exc}") from exc
        model = validate_envelope(raw, tuple(ENTITY_ENVELOPES), path.name)
        envelope = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.mapping_name:
            mapping = self.catalog.get(self.mapping_name)
        else:
            found = self.catalog.for_envelope(envelope["entity"], envelope["event"], self.target_system)
            if len(found) != 1:
                names = ", ".join(m.name for m in found) or "none"
                to = f" to {self.target_system}" if self.target_system else ""
                raise ConfigError(
                    f"{path.name}: {len(found)} mappings render {envelope['entity']}.{envelope['event']}{to} "
                    f"({names}); choose one with --mapping or the target with --target-system"
                )
            mapping = found[0]
        if mapping.direction != "from_canonical":
            raise ConfigError(f"mapping {mapping.name} reads source documents, not canonical envelopes")
        payload = mapping.render(envelope)
        yield render_payload(mapping, payload).decode("utf-8").rstrip("\n")
