"""IDoc type definitions: fields, segments and types as SAP's WE60 "parser" export describes
them (see :mod:`adapters.sap.definitions`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SDATA_FIRST_COLUMN",
    "SDATA_LENGTH",
    "SHIPPED_DIR",
    "FieldDefinition",
    "IDocTypeDefinition",
    "SegmentDefinition",
    "segment_type_from_definition",
    "strip_version",
]

SHIPPED_DIR = Path(__file__).with_name("definitions")
"""Folder of the WE60 parser files shipped with the bridge (``*.txt``)."""

SDATA_FIRST_COLUMN = 64
SDATA_LENGTH = 1000

_VERSION_SUFFIX_LENGTH = 3


def strip_version(definition: str) -> str:
    """``E2EDK01005`` -> ``E2EDK01``; names without a 3-digit suffix are returned unchanged."""
    suffix = definition[-3:]
    if len(definition) > _VERSION_SUFFIX_LENGTH + 1 and suffix.isascii() and suffix.isdigit():
        return definition[:-3]
    return definition


def segment_type_from_definition(definition: str) -> str:
    """Guess a segment type from a definition name when no definition file knows it.

    Drops a 3-digit version suffix and turns the definition prefix ``E2``/``Z2`` into the type
    prefix ``E1``/``Z1``; a namespace (``/RB04/``) is kept and the rule applies to the rest:
    ``E2EDK01005`` -> ``E1EDK01``, ``Z2BP_HEADER000`` -> ``Z1BP_HEADER``,
    ``/RB04/YP3_E1EDK01_XML001`` -> ``/RB04/YP3_E1EDK01_XML``. Names in the middle of the
    string are left alone, so this is a best effort; real types come from definitions.
    """
    name = strip_version(definition)
    namespace = ""
    if name.startswith("/") and name.count("/") >= 2:
        cut = name.index("/", 1) + 1
        namespace, name = name[:cut], name[cut:]
    if name[:2] in ("E2", "Z2"):
        name = name[0] + "1" + name[2:]
    return namespace + name


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One field of a segment's SDATA.

    Attributes:
        name: the field name (``MATNR``).
        offset: 0-based position inside SDATA (``CHARACTER_FIRST - 64``).
        length: external length in characters.
        text: SAP's short description.
    """

    name: str
    offset: int
    length: int
    text: str = ""

    @property
    def end(self) -> int:
        """Offset just past the field inside SDATA."""
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class SegmentDefinition:
    """One segment definition of an IDoc type.

    Attributes:
        definition: the versioned definition name (``E2EDK01005``), as in flat SEGNAM.
        segment_type: the segment type (``E1EDK01``), as in IDoc-XML element names.
        level: the hierarchy level (HLEVEL) SAP assigns, when given.
        mandatory: STATUS MANDATORY.
        loop_min: LOOPMIN.
        loop_max: LOOPMAX.
        parent_type: the segment type of the parent (the head of the enclosing group), or
            ``None`` for a top-level segment.
        fields: the SDATA fields in file order.
        qualified: the segment is marked QUALIFIED.
    """

    definition: str
    segment_type: str
    level: int | None = None
    mandatory: bool = False
    loop_min: int = 0
    loop_max: int = 1
    parent_type: str | None = None
    fields: tuple[FieldDefinition, ...] = ()
    qualified: bool = False
    # dataclasses.field spelled out: the name ``field`` is this class's method below
    _by_name: dict[str, FieldDefinition] = dataclasses.field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    # derived once: readers ask for them on every data line
    _sdata_length: int = dataclasses.field(init=False, repr=False, compare=False, default=0)
    _ascending: bool = dataclasses.field(init=False, repr=False, compare=False, default=True)

    def __post_init__(self) -> None:
        self._by_name.update((f.name, f) for f in self.fields)
        offsets = [f.offset for f in self.fields]
        object.__setattr__(self, "_sdata_length", max((f.end for f in self.fields), default=0))
        object.__setattr__(self, "_ascending", offsets == sorted(offsets))

    @property
    def sdata_length(self) -> int:
        """Characters of SDATA the fields cover."""
        return self._sdata_length

    @property
    def fields_ascending(self) -> bool:
        """Whether the fields are listed by increasing offset (so a reader of a short line can
        stop at the first field that starts past its end)."""
        return self._ascending

    def field(self, name: str) -> FieldDefinition | None:
        """The field called ``name``, if the segment has one."""
        return self._by_name.get(name)


@dataclass(slots=True)
class IDocTypeDefinition:
    """The segment definitions of one IDoc basic type or extension.

    Attributes:
        name: the ``BEGIN_IDOC`` name (basic type, or an extension name).
        segments: segment definitions by definition name, in file order.
        extension: the extension this definition covers (``EXTENSION`` line, or set when a
            basic type and an extension are merged).
        source: the file the definition was read from, for messages.
    """

    name: str
    segments: dict[str, SegmentDefinition] = field(default_factory=dict)
    extension: str | None = None
    source: str | None = None
    by_type: dict[str, SegmentDefinition] = field(init=False, repr=False)
    _index: dict[str, SegmentDefinition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_type = {}
        index: dict[str, SegmentDefinition] = {}
        for seg in self.segments.values():
            self.by_type.setdefault(seg.segment_type, seg)
            index.setdefault(strip_version(seg.definition), seg)
        index.update(self.by_type)
        index.update(self.segments)
        self._index = index

    @property
    def key(self) -> str:
        """The name the registry finds this definition by (extension, else basic type)."""
        return self.extension or self.name

    def lookup(self, name: str) -> SegmentDefinition | None:
        """Find a segment by definition (``E2EDK09003``), by definition without its version
        suffix (``E2EDK09``, as EDI translators write it), by another version of a known
        definition (SAP only appends fields in newer versions), or by segment type
        (``E1EDK09``)."""
        found = self._index.get(name)
        if found is None:
            base = strip_version(name)
            if base != name:
                found = self._index.get(base)
        return found

    def merged_with(self, extension: IDocTypeDefinition) -> IDocTypeDefinition:
        """This basic type plus an extension's segments (basic definitions win on overlap)."""
        segments = dict(self.segments)
        for name, seg in extension.segments.items():
            segments.setdefault(name, seg)
        return IDocTypeDefinition(
            self.name, segments, extension=extension.key, source=extension.source or self.source
        )


