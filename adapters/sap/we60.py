"""SAP's WE60 "parser" export text -> IDoc type definitions (format: :mod:`adapters.sap.definitions`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.sap.definition_model import (
    SDATA_FIRST_COLUMN,
    SDATA_LENGTH,
    FieldDefinition,
    IDocTypeDefinition,
    SegmentDefinition,
    segment_type_from_definition,
)
from bridge.errors import ConfigError

_KEYWORD = re.compile(r"[A-Z][A-Z0-9_]*")

__all__ = ["parse_we60"]



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


