"""Helpers to compile small mappings written inline in tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from bridge.document import SourceDocument
from bridge.mapping.loader import load_mapping
from bridge.mapping.lookups import LookupTable
from bridge.mapping.mapping import CompiledMapping


def compile_yaml(tmp_path: Path, text: str, lookups: dict[str, LookupTable] | None = None) -> CompiledMapping:
    """Write ``text`` (dedented) to a file and compile it."""
    path = tmp_path / "mapping.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_mapping(path, lookups or {})


def document(tree: dict[str, Any], **facts: Any) -> SourceDocument:
    """A source document around a plain tree."""
    defaults: dict[str, Any] = {
        "document_id": "0000000000000042",
        "instance": "ERPCLNT100",
        "created_read_by": "sap_datetime",  # as the SAP codec says
        "id_label": "DOCNUM",
    }
    defaults.update(facts)
    return SourceDocument(system="sap", document_type="TEST01", tree=tree, **defaults)


HEADER = """\
mapping: test.order
version: 1
source: {system: sap, documents: [TEST01], timezone: Asia/Shanghai}
target: {entity: order}
event: released
"""
