"""The MES codec: JSON feedback from the MES, in one of two kinds of document.

1. A **canonical envelope** (``"schema": "bridge.canonical/v1"``, entity ``report`` or ``lot``):
   already in the bridge's own model, so translate validates it against the canonical schema
   and passes it on as it is, without a mapping (the document says so through
   :attr:`~bridge.document.SourceDocument.canonical_entities`). Document type
   ``canonical.<entity>``, id its ``message_id``.
2. A plain **MES work report** (报工), for a MES that speaks its own JSON; the mapping
   ``mappings/mes/work_report.yaml`` turns it into a canonical Report. Document type
   ``work-report``, id its ``report_id``, version its ``reported_at`` in UTC digits::

       {
         "report_id": "WR-20240115-0042",          # required; a re-send carries the same id
         "reported_at": "2024-01-15T14:31:07+08:00", # when the MES recorded it (with offset)
         "sender": "MES-PLANT1",                   # optional: the MES installation
         "order": "1895938", "operation": "0010",
         "operator": "E1024", "machine": "CNC-07",
         "good": 95, "scrap": 5, "unit": "ST",       # numbers or decimal strings
         "start_time": "2024-01-15T08:00:00+08:00", "end_time": "2024-01-15T14:30:00+08:00",
         "posting_date": "2024-01-15",             # optional; else the end time's date
         "final": true,
         "produced_lot": {"material": "FG-100", "lot": "L240115-01", "quantity": 95},
         "consumed_lots": [{"material": "RM-200", "lot": "B-4711", "quantity": "190.5", "unit": "KG"}],
         "reversal_of": null                       # the report_id this one cancels
       }

A body may also be a JSON array of such documents (each one its own document). Anything else is
a :class:`~bridge.errors.DecodeError` naming what was expected and the JSON path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.mes.json_reader import json_path, load_json
from bridge.canonical import SCHEMA_ID
from bridge.document import DocumentIdentity, SourceDocument
from bridge.errors import ConfigError, DecodeError, shown

__all__ = [
    "CANONICAL_ENTITIES",
    "CANONICAL_TYPE",
    "WORK_REPORT_TYPE",
    "MesCodec",
    "document_kind",
]

#: Document type of a plain MES work report.
WORK_REPORT_TYPE = "work-report"
#: Document type of a canonical envelope (``canonical.report``, ``canonical.lot``).
CANONICAL_TYPE = "canonical"
#: The entities the MES may send as canonical envelopes: its feedback.
CANONICAL_ENTITIES = ("report", "lot")

_EXPECTED = (
    f'a canonical envelope (an object with "schema": "{SCHEMA_ID}") or a MES work report '
    '(an object with "report_id")'
)


def _what(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(shown(k, 30) for k in list(value)[:5]) + (", ..." if len(value) > 5 else "")
        return f"an object with {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a string" if isinstance(value, str) else "a number"


def document_kind(value: Any, where: tuple[str | int, ...] = ()) -> str:
    """``canonical`` or ``work-report`` for one parsed JSON document.

    Raises:
        DecodeError: it is neither; the message says what was expected and what it is.
    """
    if isinstance(value, Mapping):
        if "schema" in value:
            schema = value["schema"]
            if schema != SCHEMA_ID:
                raise DecodeError(
                    f"{json_path((*where, 'schema'))}: {shown(schema)!s} is not {SCHEMA_ID} "
                    "(the only canonical schema this bridge reads)"
                )
            return CANONICAL_TYPE
        if "report_id" in value:
            return WORK_REPORT_TYPE
    raise DecodeError(f"{json_path(where)}: expected {_EXPECTED}, got {_what(value)}")


def _as_floats(value: Any) -> Any:
    """An envelope's JSON numbers with a fraction as floats: the canonical model refuses a
    float quantity by name ("a decimal string, not a float"), as it would on the wire."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {key: _as_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_floats(item) for item in value]
    return value


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value.isprintable() else None


class MesCodec:
    """JSON from the MES: canonical envelopes and plain work reports (see the module docstring)."""

    system = "mes"

    def sniff(self, data: bytes) -> bool:
        """JSON (object or array) that mentions the canonical schema or a ``report_id``."""
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        return head[:1] in (b"{", b"[") and (SCHEMA_ID.encode() in head or b'"report_id"' in head)

    def check_options(self, **options: Any) -> None:
        """The MES codec takes no option."""
        if options:
            raise ConfigError(f"the mes codec takes no option (got {', '.join(sorted(options))})")

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[SourceDocument]:
        """One document per JSON object (a top-level array holds several).

        Raises:
            DecodeError: not strict JSON, an empty array, or an item that is neither kind.
        """
        self.check_options(**options)
        value = load_json(data, source=origin)
        fingerprint = hashlib.sha256(data).hexdigest()[:32]
        items: list[tuple[Any, tuple[str | int, ...]]]
        if isinstance(value, list):
            if not value:
                raise DecodeError("$: an empty list holds no document", source=origin)
            items = [(item, (index,)) for index, item in enumerate(value)]
        else:
            items = [(value, ())]
        try:
            return [self._document(item, where, origin, fingerprint) for item, where in items]
        except DecodeError as exc:
            raise exc.located(source=origin) from None

    def identify(self, data: bytes, *, origin: str | None = None, **options: Any) -> DocumentIdentity:
        """Type, id and sender of the documents (JSON is read whole: it has no header)."""
        documents = self.decode(data, origin=origin, **options)
        first = documents[0]
        return DocumentIdentity(tuple(d.document_type for d in documents), first.document_id, first.instance)

    def _document(
        self, item: Any, where: tuple[str | int, ...], origin: str | None, fingerprint: str
    ) -> SourceDocument:
        kind = document_kind(item, where)
        if kind == CANONICAL_TYPE:
            return self._envelope(item, origin, fingerprint)
        return self._work_report(item, where, origin, fingerprint)

    def _envelope(self, tree: Mapping[str, Any], origin: str | None, fingerprint: str) -> SourceDocument:
        entity = tree.get("entity")
        source = tree.get("source")
        instance = _text_or_none(source.get("instance")) if isinstance(source, Mapping) else None
        return SourceDocument(
            system=self.system,
            document_type=f"{CANONICAL_TYPE}.{entity}" if entity in CANONICAL_ENTITIES else CANONICAL_TYPE,
            tree=_as_floats(tree),
            document_id=_text_or_none(tree.get("message_id")),
            instance=instance,
            version=_text_or_none(tree.get("version")),
            id_label="message_id",
            origin=origin,
            fingerprint=fingerprint,
            canonical_entities=CANONICAL_ENTITIES,
        )

    def _work_report(
        self, tree: Mapping[str, Any], where: tuple[str | int, ...], origin: str | None, fingerprint: str
    ) -> SourceDocument:
        report_id = tree["report_id"]
        if isinstance(report_id, int) and not isinstance(report_id, bool):
            report_id = str(report_id)  # some MES number their reports
        if not isinstance(report_id, str) or not report_id.strip() or not report_id.isprintable():
            raise DecodeError(
                f"{json_path((*where, 'report_id'))}: the report id must be a non-empty line of text, "
                f"got {_what(report_id) if not isinstance(report_id, str) else repr(shown(report_id))}"
            )
        version, created = None, ()
        reported_at = tree.get("reported_at")
        if reported_at is not None:
            moment = _moment(reported_at, (*where, "reported_at"))
            version = moment.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
            created = (str(reported_at),)
        sender = tree.get("sender")
        return SourceDocument(
            system=self.system,
            document_type=WORK_REPORT_TYPE,
            tree=tree,
            document_id=report_id.strip(),
            instance=_text_or_none(sender),
            version=version,
            created=created,
            created_read_by="iso_datetime",
            created_path="reported_at",
            id_label="report",
            origin=origin,
            fingerprint=fingerprint,
        )


def _moment(value: Any, where: tuple[str | int, ...]) -> datetime:
    """An ISO 8601 date-time with its UTC offset; DecodeError naming the path otherwise."""
    if not isinstance(value, str):
        raise DecodeError(f"{json_path(where)}: expected an ISO 8601 date-time text, got {_what(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DecodeError(f"{json_path(where)}: {shown(value)!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise DecodeError(
            f"{json_path(where)}: {shown(value)!r} has no UTC offset (write e.g. 2024-01-15T14:30:00+08:00)"
        )
    return moment
