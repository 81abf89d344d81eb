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

from adapters.sap.definition_model import (
    SDATA_FIRST_COLUMN,
    SDATA_LENGTH,
    SHIPPED_DIR,
    FieldDefinition,
    IDocTypeDefinition,
    SegmentDefinition,
    segment_type_from_definition,
    strip_version,
)
from adapters.sap.definition_registry import DefinitionRegistry
from adapters.sap.we60 import parse_we60

__all__ = [
    "SDATA_FIRST_COLUMN",
    "SDATA_LENGTH",
    "SHIPPED_DIR",
    "DefinitionRegistry",
    "FieldDefinition",
    "IDocTypeDefinition",
    "SegmentDefinition",
    "parse_we60",
    "segment_type_from_definition",
    "strip_version",
]
