"""The Kingdee K/3 Cloud codec: ``View`` replies -> one :class:`SourceDocument` per bill.

What a body may be (strict JSON, read by :mod:`adapters.mes.json_reader`: UTF-8, a size limit
before reading, no duplicate keys, numbers with a fraction as exact :class:`~decimal.Decimal`)::

    {"Result": {"ResponseStatus": {"IsSuccess": true, ...}, "Result": {<bill>}}}   # the whole reply
    {<bill>}                                                                     # Result.Result alone
    [<either>, ...]                                                              # several, one document each

A reply whose ``IsSuccess`` is false (or that carries ``Errors`` without it, or only a top-level
``ResponseStatus``) is a :class:`~bridge.errors.DecodeError` carrying the ERP's messages and
``MsgCode``. A bill uses View's un-prefixed names (``BillNo``, ``TreeEntity[].MaterialId.Number``).

Which form a bill is (the document type, which chooses the mapping): its ``FFormId`` when it has
one; else the ``document_type`` option; else its shape: ``TreeEntity`` and ``BillNo`` ->
``PRD_MO``, ``MaterialBase`` or ``MaterialStock`` and ``Number`` -> ``BD_MATERIAL``, ``MaterialId``
and ``Number`` without ``BillNo`` -> ``BD_BatchMainFile``. A bill that is none of these is a
DecodeError naming the forms it could be; so is a ``document_type`` option that its ``FFormId``
or its shape contradicts. ``--document-type`` of ``bridge translate`` only chooses
the mapping; it does not reach the codec.

Each document: id ``BillNo`` (bills) or ``Number`` (base data), labelled so; ``version`` the
bill's ``ModifyDate`` as 20 digits ``YYYYMMDDHHMMSSffffff`` (``CreateDate`` when there is no
``ModifyDate``), so that versions compare as text whatever the server's fraction digits;
``created`` that text, read by ``iso_datetime`` in the source system's zone (K/3 Cloud writes
server-local times without an offset).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.mes.json_reader import json_path, load_json
from bridge.document import DocumentIdentity, SourceDocument
from bridge.errors import ConfigError, DecodeError, shown
from bridge.mapping.scalars import TransformError
from bridge.mapping.times import parse_iso

__all__ = ["FORM_SHAPES", "KingdeeCodec"]

#: How a bill without ``FFormId`` is recognised, for messages: form id -> its shape.
FORM_SHAPES: Mapping[str, str] = {
    "PRD_MO": "TreeEntity and BillNo",
    "BD_MATERIAL": "MaterialBase or MaterialStock, and Number",
    "BD_BatchMainFile": "MaterialId and Number, no BillNo",
}
_OPTIONS = frozenset({"document_type", "max_bytes"})
_FORM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_SNIFF_BYTES = 65536
_MARKERS = (b'"ResponseStatus"', b'"FFormId"')
_ID_KEYS = (b'"BillNo"', b'"Number"')
_BILL_KEYS = (b'"DocumentStatus"', b'"ForbidStatus"', b'"ModifyDate"')
_FALSE = (False, "false", "False")
_MAX_MESSAGES = 5

Where = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Bill:
    """One bill found in a body: where it is, which form it is, and its number."""

    tree: Mapping[str, Any]
    where: Where
    form_id: str
    number: str | None
    id_label: str


def _what(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(shown(k, 30) for k in list(value)[:5]) + (", ..." if len(value) > 5 else "")
        return f"an object with {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else ("a string" if isinstance(value, str) else "a number")


def _refusal(status: Mapping[str, Any], where: Where) -> DecodeError:
    """The error for a ResponseStatus that is not a success, with the ERP's own words."""
    texts = []
    for error in status.get("Errors") or []:
        if isinstance(error, Mapping) and error.get("Message"):
            field = error.get("FieldName")
            text = shown(str(error["Message"]), 200)
            texts.append(f"{shown(str(field), 40)}: {text}" if field else text)
    if not texts and status.get("Message"):
        texts.append(shown(str(status["Message"]), 200))
    codes = [f"{name} {shown(str(status[name]), 20)}" for name in ("MsgCode", "ErrorCode") if status.get(name) is not None]
    said = "; ".join(texts[:_MAX_MESSAGES]) + ("; ..." if len(texts) > _MAX_MESSAGES else "") or "no message"
    return DecodeError(
        f"{json_path(where)}: K/3 Cloud answered IsSuccess false"
        + (f" ({', '.join(codes)})" if codes else "")
        + f": {said}"
    )


def _failed(status: Mapping[str, Any]) -> bool:
    if "IsSuccess" in status:
        return status["IsSuccess"] in _FALSE
    return bool(status.get("Errors"))


def _status(value: Any, where: Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DecodeError(f"{json_path(where)}: expected the ResponseStatus object, got {_what(value)}")
    return value


def _bill_objects(value: Any, where: Where) -> list[tuple[Mapping[str, Any], Where]]:
    """The bill objects of one JSON value (a reply, a bill, or a list of either)."""
    if isinstance(value, list):
        if not value:
            raise DecodeError(f"{json_path(where)}: an empty list holds no bill")
        found: list[tuple[Mapping[str, Any], Where]] = []
        for index, item in enumerate(value):
            if isinstance(item, list):  # ExecuteBillQuery's rows, or its error wrapped in [[...]]
                for n, inner in enumerate(item):
                    if isinstance(inner, Mapping) and "Result" in inner:
                        _bill_objects(inner, (*where, index, n))  # raises the ERP's refusal, if it is one
                raise DecodeError(
                    f"{json_path((*where, index))}: a list of rows (an ExecuteBillQuery answer), "
                    "not a View bill"
                )
            found.extend(_bill_objects(item, (*where, index)))
        return found
    if not isinstance(value, Mapping):
        raise DecodeError(f"{json_path(where)}: expected a K/3 Cloud View reply or bill object, got {_what(value)}")
    result = value.get("Result")
    if isinstance(result, Mapping) and "ResponseStatus" in result:  # the whole reply
        status = _status(result["ResponseStatus"], (*where, "Result", "ResponseStatus"))
        if _failed(status):
            raise _refusal(status, (*where, "Result", "ResponseStatus"))
        bill = result.get("Result")
        if not isinstance(bill, Mapping | list) or not bill:
            raise DecodeError(
                f"{json_path((*where, 'Result', 'Result'))}: the reply succeeded but holds no bill "
                f"(got {_what(bill)})"
            )
        return _bill_objects(bill, (*where, "Result", "Result"))
    if "ResponseStatus" in value and "FFormId" not in value and _shape(value) is None:
        # some deployments answer with the status alone, at the top
        status = _status(value["ResponseStatus"], (*where, "ResponseStatus"))
        if _failed(status):
            raise _refusal(status, (*where, "ResponseStatus"))
        raise DecodeError(f"{json_path(where)}: a ResponseStatus without a bill")
    return [(value, where)]


def _shape(bill: Mapping[str, Any]) -> str | None:
    if "TreeEntity" in bill and "BillNo" in bill:
        return "PRD_MO"
    if ("MaterialBase" in bill or "MaterialStock" in bill) and "Number" in bill:
        return "BD_MATERIAL"
    if "MaterialId" in bill and "Number" in bill and "BillNo" not in bill:
        return "BD_BatchMainFile"
    return None


def _form_id(bill: Mapping[str, Any], where: Where, asked: str | None) -> str:
    named = bill.get("FFormId")
    if named is not None:
        if not isinstance(named, str) or not _FORM_ID.fullmatch(named):
            shown_value = repr(shown(named)) if isinstance(named, str) else _what(named)
            raise DecodeError(f"{json_path((*where, 'FFormId'))}: {shown_value} is not a K/3 Cloud form id")
        if asked and asked != named:
            raise DecodeError(
                f"{json_path((*where, 'FFormId'))}: the bill is a {named}, not the {asked} the "
                "document_type option names"
            )
        return named
    found = _shape(bill)
    if asked:
        if found is not None and found != asked:
            raise DecodeError(
                f"{json_path(where)}: the bill is shaped like a {found} ({FORM_SHAPES[found]}), not the "
                f"{asked} the document_type option names"
            )
        return asked
    if found is None:
        shapes = "; ".join(f"{form} ({shape})" for form, shape in FORM_SHAPES.items())
        raise DecodeError(
            f"{json_path(where)}: which form this bill is cannot be told: it has no FFormId and is "
            f"shaped like none of {shapes}; got {_what(bill)} (the codec option document_type names it)"
        )
    return found


def _number(bill: Mapping[str, Any], where: Where) -> tuple[str | None, str]:
    """The bill's own number and what it is called (``BillNo`` for bills, ``Number`` for base data)."""
    for key in ("BillNo", "Number"):
        value = bill.get(key)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value), key
        if not isinstance(value, str) or not value.strip().isprintable():
            shown_value = repr(shown(value)) if isinstance(value, str) else _what(value)
            raise DecodeError(f"{json_path((*where, key))}: a {key} must be a line of text, got {shown_value}")
        return (value.strip() or None), key
    return None, "BillNo"


def _modified(bill: Mapping[str, Any], where: Where) -> tuple[str | None, tuple[str, ...], str | None]:
    """(version digits, created texts, the path they came from) of a bill."""
    for key in ("ModifyDate", "CreateDate"):
        value = bill.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise DecodeError(f"{json_path((*where, key))}: expected a date-time text, got {_what(value)}")
        try:
            moment = parse_iso(value.strip())
        except TransformError as exc:
            raise DecodeError(f"{json_path((*where, key))}: {exc}") from None
        return moment.strftime("%Y%m%d%H%M%S%f"), (value.strip(),), key
    return None, (), None


class KingdeeCodec:
    """K/3 Cloud View replies and bill objects (see the module docstring)."""

    system = "kingdee"

    def sniff(self, data: bytes) -> bool:
        """JSON (object or array) that holds a ResponseStatus or FFormId, or a bill's number
        with its status or modification time."""
        head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] not in (b"{", b"["):
            return False
        if any(marker in head for marker in _MARKERS):
            return True
        return any(key in head for key in _ID_KEYS) and any(key in head for key in _BILL_KEYS)

    def check_options(self, **options: Any) -> None:
        """Refuse unknown options and wrong values before any document is read.

        Options: ``max_bytes`` (the size limit, a positive whole number), ``document_type``
        (the form a bill without ``FFormId`` is, e.g. ``PRD_MO``).

        Raises:
            ConfigError: names the option and what is wrong with it.
        """
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown Kingdee codec option(s): {', '.join(unknown)} (known: {', '.join(sorted(_OPTIONS))})"
            )
        limit = options.get("max_bytes")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"Kingdee codec option max_bytes must be a positive number of bytes, not {limit!r}")
        asked = options.get("document_type")
        if asked is not None and (not isinstance(asked, str) or not _FORM_ID.fullmatch(asked)):
            raise ConfigError(
                f"Kingdee codec option document_type must be a K/3 Cloud form id such as PRD_MO, not {asked!r}"
            )

    def _bills(self, data: bytes, origin: str | None, options: Mapping[str, Any]) -> list[_Bill]:
        self.check_options(**options)
        try:
            value = load_json(data, source=origin, max_bytes=options.get("max_bytes"))
        except DecodeError as exc:
            if "must be UTF-8" not in exc.reason:
                raise
            raise DecodeError(exc.reason.replace("JSON from the MES", "a K/3 Cloud reply"), source=origin) from None
        asked = options.get("document_type")
        try:
            bills = []
            for tree, where in _bill_objects(value, ()):
                form_id = _form_id(tree, where, asked)
                number, label = _number(tree, where)
                bills.append(_Bill(tree, where, form_id, number, label))
        except DecodeError as exc:
            raise exc.located(source=origin) from None
        return bills

    def identify(self, data: bytes, *, origin: str | None = None, **options: Any) -> DocumentIdentity:
        """The bills' form ids and the first one's number (JSON is read whole: it has no header).

        Raises:
            ConfigError: an unknown option or a wrong value.
            DecodeError: not strict JSON, a refused reply, or a bill of no form that can be told.
        """
        bills = self._bills(data, origin, options)
        return DocumentIdentity(tuple(b.form_id for b in bills), bills[0].number)

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[SourceDocument]:
        """One document per bill, its tree the bill object as K/3 Cloud wrote it.

        Raises:
            ConfigError: an unknown option or a wrong value.
            DecodeError: too large, not UTF-8, not strict JSON, a reply with IsSuccess false (the
                ERP's message), a bill of no form that can be told, or an unreadable ModifyDate.
        """
        bills = self._bills(data, origin, options)
        digest = hashlib.sha256(data).hexdigest()[:32]
        many = len(bills) > 1
        documents = []
        for n, bill in enumerate(bills, start=1):
            try:
                version, created, created_path = _modified(bill.tree, bill.where)
            except DecodeError as exc:
                raise exc.located(source=origin, document_id=bill.number) from None
            documents.append(
                SourceDocument(
                    system=self.system,
                    document_type=bill.form_id,
                    tree=bill.tree,
                    document_id=bill.number,
                    version=version,
                    created=created,
                    created_read_by="iso_datetime",
                    created_path=created_path,
                    id_label=bill.id_label,
                    origin=origin,
                    fingerprint=f"{digest}-{n}" if many else digest,
                )
            )
        return documents
