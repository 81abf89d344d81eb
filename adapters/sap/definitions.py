"""IDoc type definitions read from SAP's WE60 "parser" export, and a registry that finds them.

SAP describes an IDoc type (transaction WE60, "Documentation > IDoc type", output as parser
text) in a line-based format::

    BEGIN_SEGMENT_SECTION
      BEGIN_IDOC          ORDERS05
        BEGIN_SEGMENT       E2EDK01005
          SEGMENTTYPE         E1EDK01
          LEVEL               01
          STATUS              MANDATORY
          LOOPMIN             0000000001
          LOOPMAX             0000000001
          BEGIN_FIELDS
            NAME                ACTION
            TEXT                Action code for the whole EDI message
            TYPE                CHARACTER
            LENGTH              000003
            FIELD_POS           0001
            CHARACTER_FIRST     000064
            CHARACTER_LAST      000066
          END_FIELDS
        END_SEGMENT
        BEGIN_GROUP         1
          LEVEL ... STATUS ... LOOPMIN ... LOOPMAX ...
          BEGIN_SEGMENT ... END_SEGMENT     (the first segment heads the group)
          ...
        END_GROUP
      END_IDOC
    END_SEGMENT_SECTION

The ``BEGIN_RECORD_SECTION`` (control/data/status record layouts) is skipped: those layouts are
fixed for record type version 3 and live in :mod:`adapters.sap.flat_codec`. Lines starting with
``#`` are comments. ``CHARACTER_FIRST`` is a 1-based column of the whole data record, so a
field's offset inside SDATA is ``CHARACTER_FIRST - 64``.

Hierarchy is derived from groups: the first segment of a group is the parent of the other
members of the group, including the heads of nested groups; segments outside any group are top
level.

Extensions (CIMTYP) come in two shapes, both accepted:

* SAP's own export of an extended type: ``BEGIN_IDOC <basic type>`` followed by
  ``EXTENSION <extension>``, listing basic and extension segments together;
* a file whose ``BEGIN_IDOC`` is the extension name. Such a file repeats, as group heads, the
  basic segments its own segments hang under (a bare ``BEGIN_SEGMENT``/``END_SEGMENT`` is
  enough); the basic type's definitions win for segments both files define.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adapters.sap.errors import DefinitionError
from bridge.errors import ConfigError, DecodeError
from bridge.limits import read_document

__all__ = [
    "SHIPPED_DIR",
    "DefinitionRegistry",
    "FieldDefinition",
    "IDocTypeDefinition",
    "SegmentDefinition",
    "parse_we60",
    "segment_type_from_definition",
]

SHIPPED_DIR = Path(__file__).with_name("definitions")
"""Folder of the WE60 parser files shipped with the bridge (``*.txt``)."""

SDATA_FIRST_COLUMN = 64
SDATA_LENGTH = 1000

_KEYWORD = re.compile(r"[A-Z][A-Z0-9_]*")
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


# --------------------------------------------------------------------------------------------
# WE60 parser file reading


class _Reader:
    """Line-driven state machine over one WE60 parser file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_no = 0
        self.results: list[IDocTypeDefinition] = []
        self._idoc: _IDocBuilder | None = None

    def fail(self, reason: str) -> ConfigError:
        return ConfigError(f"{self.source}, line {self.line_no}: {reason}")

    def read(self, text: str) -> list[IDocTypeDefinition]:
        skip_until: list[str] = []
        for self.line_no, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keyword, _, value = line.replace("\t", " ").partition(" ")
            value = value.strip()
            if not _KEYWORD.fullmatch(keyword):
                raise self.fail(f"not a WE60 parser line: {line[:60]!r}")
            if skip_until:
                if keyword.startswith("BEGIN_"):
                    skip_until.append("END_" + keyword[6:])
                elif keyword == skip_until[-1]:
                    skip_until.pop()
                continue
            if keyword == "BEGIN_RECORD_SECTION":
                skip_until.append("END_RECORD_SECTION")
            elif keyword in ("BEGIN_SEGMENT_SECTION", "END_SEGMENT_SECTION"):
                continue
            elif keyword == "BEGIN_IDOC":
                if self._idoc is not None:
                    raise self.fail("BEGIN_IDOC inside another BEGIN_IDOC")
                if not value:
                    raise self.fail("BEGIN_IDOC without a name")
                self._idoc = _IDocBuilder(self, value.split(maxsplit=1)[0])
            elif self._idoc is None:
                raise self.fail(f"{keyword} outside BEGIN_IDOC ... END_IDOC")
            elif keyword == "END_IDOC":
                self.results.append(self._idoc.finish())
                self._idoc = None
            elif self._idoc.handle(keyword, value) == "skip":
                skip_until.append("END_" + keyword[6:])
        if skip_until:
            raise self.fail(f"file ends before {skip_until[-1]}")
        if self._idoc is not None:
            raise self.fail(f"file ends inside BEGIN_IDOC {self._idoc.name} (no END_IDOC)")
        if not self.results:
            raise self.fail("no BEGIN_IDOC found: not a WE60 parser file")
        return self.results


@dataclass(slots=True)
class _SegmentDraft:
    """A segment being read: what its BEGIN_SEGMENT block said so far."""

    definition: str
    segment_type: str = ""
    level: int | None = None
    status: str = "OPTIONAL"
    loop_min: int = 0
    loop_max: int = 1
    qualified: bool = False
    fields: tuple[FieldDefinition, ...] = ()


class _IDocBuilder:
    """Collects the segments of one BEGIN_IDOC block and derives parents from groups."""

    def __init__(self, reader: _Reader, name: str) -> None:
        self.reader = reader
        self.name = name
        self.extension: str | None = None
        self.segments: dict[str, SegmentDefinition] = {}
        # open groups, innermost last: the segment type heading each (None until read)
        self.group_heads: list[str | None] = []
        self.segment: _SegmentDraft | None = None
        self.fields: list[FieldDefinition] | None = None
        self.field_keys: dict[str, str] = {}
        self.field_line = 0

    def _int(self, keyword: str, value: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise self.reader.fail(f"{keyword} must be a number, got {value!r}") from None

    def handle(self, keyword: str, value: str) -> str | None:
        """Take one line inside BEGIN_IDOC; return ``"skip"`` to skip an unknown block."""
        if self.fields is not None:
            self._field_line(keyword, value)
            return None
        seg = self.segment
        if keyword == "BEGIN_SEGMENT":
            if seg is not None:
                raise self.reader.fail("BEGIN_SEGMENT inside another BEGIN_SEGMENT")
            if not value:
                raise self.reader.fail("BEGIN_SEGMENT without a definition name")
            self.segment = _SegmentDraft(value.split(maxsplit=1)[0])
        elif keyword == "END_SEGMENT":
            if seg is None:
                raise self.reader.fail("END_SEGMENT without BEGIN_SEGMENT")
            self._finish_segment(seg)
        elif keyword in ("BEGIN_GROUP", "END_GROUP") and seg is not None:
            raise self.reader.fail(f"{keyword} inside BEGIN_SEGMENT {seg.definition}")
        elif keyword == "BEGIN_GROUP":
            self.group_heads.append(None)
        elif keyword == "END_GROUP":
            if not self.group_heads:
                raise self.reader.fail("END_GROUP without BEGIN_GROUP")
            self.group_heads.pop()
        elif keyword in ("LEVEL", "LOOPMIN", "LOOPMAX"):
            number = self._int(keyword, value)  # group attributes are checked, not kept
            if seg is not None:
                if keyword == "LEVEL":
                    seg.level = number
                elif keyword == "LOOPMIN":
                    seg.loop_min = number
                else:
                    seg.loop_max = number
        elif keyword == "STATUS":
            if value not in ("MANDATORY", "OPTIONAL"):
                raise self.reader.fail(f"STATUS must be MANDATORY or OPTIONAL, got {value!r}")
            if seg is not None:
                seg.status = value
        elif seg is None and keyword in ("SEGMENTTYPE", "QUALIFIED", "BEGIN_FIELDS"):
            raise self.reader.fail(f"{keyword} outside BEGIN_SEGMENT")
        elif keyword == "SEGMENTTYPE" and seg is not None:
            seg.segment_type = value.split(maxsplit=1)[0] if value else ""
        elif keyword == "QUALIFIED" and seg is not None:
            seg.qualified = True
        elif keyword == "BEGIN_FIELDS":
            self.fields = []
            self.field_keys = {}
        elif keyword == "EXTENSION" and seg is None and not self.segments:
            self.extension = value.split(maxsplit=1)[0] if value else None
        elif keyword.startswith("BEGIN_"):
            return "skip"  # a block this reader does not use
        elif keyword.startswith("END_"):
            raise self.reader.fail(f"{keyword} without its BEGIN_")
        # other keywords SAP may add (documentation attributes) are ignored
        return None

    def _field_line(self, keyword: str, value: str) -> None:
        if keyword == "END_FIELDS":
            self._finish_field()
            assert self.segment is not None
            self.segment.fields = tuple(self.fields or ())
            self.fields = None
        elif keyword.startswith(("BEGIN_", "END_")):
            raise self.reader.fail(f"{keyword} inside BEGIN_FIELDS (missing END_FIELDS?)")
        elif keyword == "NAME":
            self._finish_field()
            self.field_line = self.reader.line_no
            self.field_keys["NAME"] = value
        elif not self.field_keys:
            raise self.reader.fail(f"{keyword} before the field's NAME")
        else:
            self.field_keys[keyword] = value

    def _finish_field(self) -> None:
        keys = self.field_keys
        if not keys:
            return
        self.field_keys = {}
        name = keys["NAME"]
        where = f"field {name or '?'} (from line {self.field_line})"
        if not name:
            raise self.reader.fail(f"{where}: empty NAME")
        if "CHARACTER_FIRST" not in keys:
            raise self.reader.fail(f"{where}: no CHARACTER_FIRST")
        first = self._int("CHARACTER_FIRST", keys["CHARACTER_FIRST"])
        if "CHARACTER_LAST" in keys:
            length = self._int("CHARACTER_LAST", keys["CHARACTER_LAST"]) - first + 1
            if "LENGTH" in keys and self._int("LENGTH", keys["LENGTH"]) != length:
                raise self.reader.fail(
                    f"{where}: LENGTH {keys['LENGTH']} does not match columns "
                    f"{keys['CHARACTER_FIRST']}-{keys['CHARACTER_LAST']}"
                )
        elif "LENGTH" in keys:
            length = self._int("LENGTH", keys["LENGTH"])
        else:
            raise self.reader.fail(f"{where}: neither LENGTH nor CHARACTER_LAST")
        offset = first - SDATA_FIRST_COLUMN
        if offset < 0 or length <= 0 or offset + length > SDATA_LENGTH:
            raise self.reader.fail(
                f"{where}: columns {first}..{first + length - 1} are outside SDATA "
                f"(columns {SDATA_FIRST_COLUMN}..{SDATA_FIRST_COLUMN + SDATA_LENGTH - 1})"
            )
        assert self.fields is not None
        self.fields.append(FieldDefinition(name, offset, length, keys.get("TEXT", "")))

    def _finish_segment(self, seg: _SegmentDraft) -> None:
        self.segment = None
        segment_type = seg.segment_type or segment_type_from_definition(seg.definition)
        parent: str | None = None
        if self.group_heads:
            if self.group_heads[-1] is None:
                # heads its group: the parent is the nearest enclosing group's head
                self.group_heads[-1] = segment_type
                parent = next((h for h in reversed(self.group_heads[:-1]) if h), None)
            else:
                parent = self.group_heads[-1]
        self.segments[seg.definition] = SegmentDefinition(
            definition=seg.definition,
            segment_type=segment_type,
            level=seg.level,
            mandatory=seg.status == "MANDATORY",
            loop_min=seg.loop_min,
            loop_max=seg.loop_max,
            parent_type=parent,
            fields=seg.fields,
            qualified=seg.qualified,
        )

    def finish(self) -> IDocTypeDefinition:
        if self.fields is not None or self.segment is not None:
            what = self.segment.definition if self.segment else "?"
            raise self.reader.fail(f"END_IDOC inside BEGIN_SEGMENT {what}")
        if self.group_heads:
            raise self.reader.fail("END_IDOC before END_GROUP")
        return IDocTypeDefinition(
            self.name, self.segments, extension=self.extension, source=self.reader.source
        )


def parse_we60(text: str, *, source: str = "<definitions>") -> list[IDocTypeDefinition]:
    """Parse WE60 parser text into the IDoc type definitions it holds.

    Raises:
        ConfigError: the text is not a readable WE60 parser file (names source and line).
    """
    return _Reader(source).read(text)


# --------------------------------------------------------------------------------------------
# Registry


def _read_text(path: Path) -> str:
    try:
        raw = read_document(path)  # the document size limit, checked before reading
    except DecodeError as exc:
        raise ConfigError(f"IDoc definition file: {exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # non-Unicode SAP exports are Latin-1/cp1252


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


# Module-level caches (by path, mtime and size) so codecs built per message share the work.
_SCAN_CACHE: dict[tuple[str, int, int], tuple[str, ...]] = {}
_PARSE_CACHE: dict[tuple[str, int, int], tuple[IDocTypeDefinition, ...]] = {}


def _scan(path: Path) -> tuple[str, ...]:
    """The registry keys a file defines, from its BEGIN_IDOC (and EXTENSION) lines only."""
    stamp = _stamp(path)
    cached = _SCAN_CACHE.get(stamp)
    if cached is not None:
        return cached
    keys: list[str] = []
    pending: str | None = None
    for raw in _read_text(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.replace("\t", " ").partition(" ")
        if pending is not None:
            extension = value.split(maxsplit=1)[0] if keyword == "EXTENSION" and value.strip() else None
            keys.append(extension or pending)
            pending = None
        if keyword == "BEGIN_IDOC" and value.strip():
            pending = value.split(maxsplit=1)[0]
    if pending is not None:
        keys.append(pending)
    result = tuple(keys)
    _SCAN_CACHE[stamp] = result
    return result


def _parse_file(path: Path) -> tuple[IDocTypeDefinition, ...]:
    stamp = _stamp(path)
    cached = _PARSE_CACHE.get(stamp)
    if cached is None:
        cached = tuple(parse_we60(_read_text(path), source=str(path)))
        _PARSE_CACHE[stamp] = cached
    return cached


def _definition_files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() == ".txt" and not p.name.startswith(".")
        )
    elif path.is_file():
        yield path
    else:
        raise ConfigError(f"IDoc definitions path {path} does not exist")


class DefinitionRegistry:
    """Finds IDoc type definitions among WE60 parser files, parsing each file on first use.

    The shipped files in :data:`SHIPPED_DIR` are indexed first, then the extra paths in order
    (files, or directories whose ``*.txt`` files are taken); a later file defining the same
    IDoc type or extension wins, so users can override shipped definitions. Indexing only scans
    for ``BEGIN_IDOC``/``EXTENSION`` lines; a file is parsed when one of its types is needed and
    the result is cached per file.

    Args:
        paths: extra definition files or directories (``--definitions PATH``).
        include_shipped: also index the files shipped with the bridge.

    Raises:
        ConfigError: a given path does not exist or cannot be read.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]] = (), *, include_shipped: bool = True) -> None:
        self._index: dict[str, Path] = {}
        self._cache: dict[tuple[str | None, str | None], IDocTypeDefinition] = {}
        if include_shipped and SHIPPED_DIR.is_dir():
            self._add(SHIPPED_DIR)
        for path in paths:
            self._add(Path(path))

    def _add(self, path: Path) -> None:
        for file in _definition_files(path):
            for key in _scan(file):
                self._index[key] = file

    def add_path(self, path: str | os.PathLike[str]) -> None:
        """Index one more definition file or directory (it wins over earlier ones)."""
        self._add(Path(path))
        self._cache.clear()

    def known_types(self) -> list[str]:
        """Names of all indexed IDoc types and extensions, sorted."""
        return sorted(self._index)

    def source_of(self, name: str) -> Path | None:
        """The file that defines ``name``, if any."""
        return self._index.get(name)

    def get(self, name: str) -> IDocTypeDefinition | None:
        """The definition of one IDoc type or extension, parsed on first use."""
        path = self._index.get(name)
        if path is None:
            return None
        for definition in _parse_file(path):
            if definition.key == name:
                return definition
        raise ConfigError(f"{path}: indexed as defining {name}, but parsing found no such IDoc")

    def resolve(
        self,
        idoc_type: str | None,
        extension: str | None = None,
        *,
        source: str | None = None,
        document_id: str | None = None,
    ) -> IDocTypeDefinition:
        """The definition for an IDoc of basic type ``idoc_type`` (IDOCTYP) and optional
        extension (CIMTYP), merging both when both are known.

        An unknown extension of a known basic type resolves to the basic type (its extra
        segments are then kept undecoded by the flat codec).

        Raises:
            DefinitionError: neither the basic type nor the extension is known.
        """
        cache_key = (idoc_type or None, extension or None)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        basic = self.get(idoc_type) if idoc_type else None
        ext = self.get(extension) if extension else None
        if basic is None and ext is None:
            what = " / ".join(f"{n}" for n in (idoc_type, extension) if n) or "(no IDOCTYP)"
            known = self.known_types()
            listing = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise DefinitionError(
                f"no segment definitions for IDoc type {what} "
                f"(known: {listing or 'none'}); give the WE60 parser export of the type "
                "with --definitions PATH",
                source=source,
                document_id=document_id,
            )
        result = basic.merged_with(ext) if basic is not None and ext is not None else basic or ext
        assert result is not None
        self._cache[cache_key] = result
        return result
