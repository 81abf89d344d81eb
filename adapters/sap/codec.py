"""The SAP codec: IDoc-XML or flat IDoc bytes -> one :class:`SourceDocument` per IDoc."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapters.sap.definitions import DefinitionRegistry
from adapters.sap.encodings import flat_encoding
from adapters.sap.errors import IDocError
from adapters.sap.flat_reader import read_controls_flat, read_idocs_flat
from adapters.sap.model import IDoc
from adapters.sap.xml_codec import check_size, read_idocs_xml
from adapters.sap.xml_encoding import text_head
from adapters.sap.xml_reader import basic_type, first_control_xml
from bridge.document import DocumentIdentity, SourceDocument
from bridge.errors import ConfigError, DecodeError

__all__ = ["SapCodec"]

_SNIFF_BYTES = 65536
_XML_IDOC = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?IDOC[\s>/]")
_XML_IDOCTYP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?IDOCTYP>\s*([^<\s]+)\s*</")
_OPTIONS = frozenset({"definitions", "encoding", "idoc_type", "max_bytes"})
_META_FIELDS = (
    "MESTYP",
    "MESCOD",
    "MESFCT",
    "SNDPOR",
    "SNDPRT",
    "RCVPOR",
    "RCVPRT",
    "RCVPRN",
    "DIRECT",
    "ARCKEY",
    "MANDT",
)


def _body_start(data: bytes) -> bytes:
    """The document's first bytes without BOM and leading blanks (UTF-16/32 XML as UTF-8)."""
    return text_head(data, _SNIFF_BYTES).lstrip()


class SapCodec:
    """Decodes SAP IDocs, IDoc-XML (any flavour SAP and its middleware send) or flat files.

    Args:
        definitions: extra WE60 parser files or directories for flat IDocs, used on every
            call in addition to the shipped ones.
    """

    system = "sap"

    def __init__(self, definitions: Sequence[str | os.PathLike[str]] = ()) -> None:
        self._definitions = tuple(definitions)
        self._registries: dict[tuple[str, ...], DefinitionRegistry] = {}

    def sniff(self, data: bytes) -> bool:
        """True for XML holding an ``<IDOC>`` with an ``EDI_DC40`` control record, or for text
        starting with an ``EDI_DC40``/``EDI_DC`` control record."""
        head = _body_start(data)
        if head.startswith(b"<"):
            return b"EDI_DC40" in head and _XML_IDOC.search(head) is not None
        return head.startswith(b"EDI_DC")

    def registry(self, definitions: Sequence[str | os.PathLike[str]] = ()) -> DefinitionRegistry:
        """The definition registry for this codec's paths plus ``definitions`` (cached)."""
        paths = tuple(str(Path(p)) for p in (*self._definitions, *definitions))
        registry = self._registries.get(paths)
        if registry is None:
            registry = DefinitionRegistry(paths)
            self._registries[paths] = registry
        return registry

    def decode_idocs(
        self,
        data: bytes,
        *,
        origin: str | None = None,
        definitions: Sequence[str | os.PathLike[str]] = (),
        idoc_type: str | None = None,
        max_bytes: int | None = None,
        encoding: str | int | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> list[IDoc]:
        """Decode bytes into IDoc trees (for tools such as ``bridge idoc show``).

        Args:
            data: IDoc-XML or a flat IDoc file.
            origin: file name or message id, for error messages.
            definitions: extra WE60 parser files/directories (flat files need definitions).
            idoc_type: the basic type to decode with, whatever the control record's IDOCTYP
                says (EDI tools put junk there); IDOCTYP decides when not given.
            max_bytes: size limit (default: env ``BRIDGE_MAX_DOCUMENT_BYTES`` or 50 MiB).
            encoding: a flat file's encoding, Python codec name or SAP code page number
                (default UTF-8); IDoc-XML declares its own.
            on_warning: called with each warning (``line N: ...``) about the input, e.g. a
                short flat line ending inside a field.

        Raises:
            ConfigError: an unknown encoding, or one that cannot carry a flat IDoc.
            DecodeError: unreadable input; the message names the origin and, where known, the
                DOCNUM and segment.
            DefinitionError: a flat IDoc of a type no definition file describes.
        """
        read = self._read(data, origin, definitions, idoc_type, max_bytes, encoding)
        if on_warning is not None:
            for _, warnings in read:
                for warning in warnings:
                    on_warning(warning)
        return [idoc for idoc, _ in read]

    def _read(
        self,
        data: bytes,
        origin: str | None,
        definitions: Sequence[str | os.PathLike[str]],
        idoc_type: str | None,
        max_bytes: int | None,
        encoding: str | int | None,
    ) -> list[tuple[IDoc, tuple[str, ...]]]:
        """Each IDoc with the decoder's warnings about it (see :meth:`decode_idocs`)."""
        flat_encoding(encoding)  # a wrong name is refused whatever the document's format
        check_size(data, max_bytes, source=origin)
        head = _body_start(data)
        try:
            if head.startswith(b"<"):
                read_xml = read_idocs_xml(data, source=origin, max_bytes=max_bytes, idoc_type=idoc_type)
                return [(xml.idoc, xml.warnings) for xml in read_xml]
            if head.startswith(b"EDI_DC"):
                registry = self.registry(definitions)
                read = read_idocs_flat(data, registry, source=origin, idoc_type=idoc_type, encoding=encoding)
                return [(flat.idoc, flat.warnings) for flat in read]
        except DecodeError as exc:
            if origin and not exc.source:
                raise exc.located(source=origin) from exc.__cause__
            raise
        raise IDocError(
            "neither IDoc-XML nor a flat IDoc (expected '<' or an EDI_DC40 control record)",
            source=origin,
        )

    def check_options(self, **options: Any) -> None:
        """Refuse unknown options and an encoding no flat IDoc can be read in, before any document.

        Raises:
            ConfigError: names the option and what is wrong with it.
        """
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown SAP codec option(s): {', '.join(unknown)} (known: {', '.join(sorted(_OPTIONS))})"
            )
        if options.get("encoding") not in (None, ""):
            flat_encoding(options["encoding"])  # its ConfigError names the encoding

    def identify(
        self,
        data: bytes,
        *,
        origin: str | None = None,
        definitions: Sequence[str | os.PathLike[str]] = (),
        idoc_type: str | None = None,
        max_bytes: int | None = None,
        encoding: str | int | None = None,
        **options: Any,
    ) -> DocumentIdentity:
        """The IDocs' types and the first one's DOCNUM and sender, from the control records
        alone: a flat file's control lines, or IDoc-XML parsed only up to the first control
        record (further IDocs counted, their IDOCTYP read, without parsing them).

        Raises:
            ConfigError: an unknown option or encoding.
            DecodeError: neither format, or a control record that cannot be read.
        """
        if options:
            self.check_options(**options)
        flat_encoding(encoding)
        head = _body_start(data)
        if head.startswith(b"<"):  # the XML reader checks the size itself
            control, root_name, utf8 = first_control_xml(data, source=origin, max_bytes=max_bytes)
            first = basic_type(control, root_name, idoc_type)
            declared = [idoc_type or t.decode("utf-8", "replace") for t in _XML_IDOCTYP.findall(utf8)]
            count = max(len(_XML_IDOC.findall(utf8)), 1)
            types = tuple(declared) if len(declared) == count else (first,) * count
        elif head.startswith(b"EDI_DC"):
            check_size(data, max_bytes, source=origin)
            controls = read_controls_flat(data, source=origin, encoding=encoding)
            control = controls[0]
            types = tuple(idoc_type or c.get("IDOCTYP", "") for c in controls)
        else:
            raise IDocError(
                "neither IDoc-XML nor a flat IDoc (expected '<' or an EDI_DC40 control record)",
                source=origin,
            )
        return DocumentIdentity(types, control.get("DOCNUM") or None, control.get("SNDPRN") or None)

    def decode(
        self,
        data: bytes,
        *,
        origin: str | None = None,
        definitions: Sequence[str | os.PathLike[str]] = (),
        idoc_type: str | None = None,
        max_bytes: int | None = None,
        encoding: str | int | None = None,
        **options: Any,
    ) -> list[SourceDocument]:
        """Decode bytes into one :class:`SourceDocument` per IDoc, each carrying the decoder's
        warnings about it (``SourceDocument.warnings``).

        See :meth:`decode_idocs` for the arguments.

        Raises:
            ConfigError: an option this codec does not know, or an unknown encoding.
            DecodeError: unreadable input (names origin, DOCNUM, segment).
        """
        if options:
            self.check_options(**options)
        digest = hashlib.sha256(data).hexdigest()[:16]
        read = self._read(data, origin, definitions, idoc_type, max_bytes, encoding)
        many = len(read) > 1
        return [
            _document(idoc, origin=origin, fingerprint=f"{digest}-{n}" if many else digest, warnings=warnings)
            for n, (idoc, warnings) in enumerate(read, start=1)
        ]


def _document(
    idoc: IDoc, *, origin: str | None, fingerprint: str, warnings: tuple[str, ...] = ()
) -> SourceDocument:
    control = idoc.control
    credat = control.get("CREDAT")
    cretim = control.get("CRETIM")
    created: tuple[str, ...] = ()
    if credat:
        created = (credat, cretim) if cretim else (credat,)
    version = control.get("SERIAL") or (credat + (cretim or "") if credat else None)
    return SourceDocument(
        system=SapCodec.system,
        document_type=idoc.idoc_type,
        tree=idoc.tree(),
        document_id=idoc.docnum,
        instance=control.get("SNDPRN") or None,
        version=version,
        created=created,
        created_read_by="sap_datetime",
        created_path="EDI_DC40.CREDAT + EDI_DC40.CRETIM",
        id_label="DOCNUM",
        extension=idoc.extension,
        origin=origin,
        fingerprint=fingerprint,
        meta={k: control[k] for k in _META_FIELDS if control.get(k)},
        warnings=warnings,
    )
