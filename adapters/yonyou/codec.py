"""The Yonyou codec: YonBIP OpenAPI replies (JSON) as the documents mappings read.

A file holds a reply as saved from the API, whole (``{"code": "200", "message": ..., "data":
{...}}``) or only its ``data``. ``code`` is compared as text (``"200"`` and ``200`` both mean
success); any other code is a :class:`YonyouReplyError` carrying the ERP's code and message.
``data`` is one business object (a detail reply), a list reply (``recordList``: one document
per row), a write reply (``infos``: one document per row echoed, a failed row is an error) or
a list of objects. Each object becomes one :class:`~bridge.document.SourceDocument` of type

- ``productionorder``: a production order with its product lines ``orderProduct[]``
  (``/yonbip/mfg/productionorder/detail``); document id its ``code``. A row of
  ``productionorder/list`` is one product line flattened into its order (``OrderProduct_*``
  columns, ``orderProduct_id``, the line's ``orderMaterial``/``orderProcess``... beside the
  order's own fields): it is given the detail's shape, the order's fields with one line in
  ``orderProduct`` (prefix taken off, ``orderProduct_id`` as the line's ``id``), so that one
  mapping reads both;
- ``product``: a material (``/yonbip/digitalModel/product/...``); document id its ``code``;
- ``batchno``: a batch number (``/yonbip/scm/batchno/...``); document id its ``batchno``.

The type is told from the object's shape, or set for every object by the ``document_type``
option; an object whose type cannot be told is a DecodeError naming the types it could be.
``version`` is the object's ``pubts`` (a list row without one: its page's ``data.pubts``) as
wall-clock digits ``yyyyMMddHHmmssSSS`` in the tenant's zone (option ``timezone``, default
:data:`DEFAULT_TIMEZONE`): ``pubts`` comes as ``"yyyy-MM-dd HH:mm:ss"`` text or as epoch
milliseconds (number or text), both give the same digits for the same moment; an object with
neither has no version (the mapping layer then falls back to the document id). ``created`` is
that ``pubts`` as written, read by the mapping in the source's zone (``yonyou_datetime``). JSON is read by the hardened reader the MES codec uses
(size limit first, strict UTF-8, no duplicate keys, exact decimals; integers, the 16-digit ids
among them, stay exact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from adapters.mes.json_reader import json_path, load_json
from adapters.yonyou.transforms import read_moment
from bridge.canonical import SCHEMA_ID
from bridge.document import DocumentIdentity, SourceDocument
from bridge.errors import ConfigError, DecodeError, shown
from bridge.mapping.scalars import TransformError
from bridge.mapping.times import resolve_timezone

__all__ = ["DEFAULT_TIMEZONE", "DOCUMENT_TYPES", "YonyouCodec", "YonyouReplyError"]

#: The document types this codec gives (and the values of its ``document_type`` option).
DOCUMENT_TYPES = ("productionorder", "product", "batchno")
#: The zone ``pubts`` text is written in when the ``timezone`` option names none: YonBIP's
#: data centres and tenants keep Beijing time.
DEFAULT_TIMEZONE = "Asia/Shanghai"

_OPTIONS = ("document_type", "instance", "timezone")
_Where = tuple[str | int, ...]

# list rows of productionorder/list: the line's own columns and children
_ROW_PREFIX = "OrderProduct_"
_ROW_LINE_ID = "orderProduct_id"
_LINE_CHILDREN = ("orderMaterial", "orderProcess", "orderByProduct", "orderActivity", "orderSn", "orderOpSequence")
# keys only a material (product) has among the objects this codec reads
_PRODUCT_KEYS = frozenset(
    {"unitCode", "unitName", "unitUseType", "manageClass", "manageClassCode", "productClass",
     "productClassCode", "productTemplate", "productOrges", "modelDescription", "model", "erpCode"}
)
# keys a reply envelope never has beside code and message, and a business object usually does
_OBJECT_KEYS = frozenset({"id", "pubts", "orderProduct", "batchno", "name"})
_ID_KEYS = {"productionorder": "code", "product": "code", "batchno": "batchno"}
_SNIFF_MARKERS = (b'"orderProduct"', b'"OrderProduct_', b'"recordList"', b'"batchno"', b'"pubts"', b'"sucessCount"')
_EXPECTED = (
    "a production order (orderProduct lines, or OrderProduct_ columns of a list row), "
    "a product (code with unitCode, manageClassCode, ...) or a batch number (batchno)"
)


class _Item(NamedTuple):
    """One business object of a reply, where it is, and the ``pubts`` that versions it."""

    tree: Mapping[str, Any]
    where: _Where
    shape: str  # detail, list-row or write-row
    stamp: Any = None  # the object's pubts, else its page's
    stamp_where: _Where = ()
    kind: str = ""


class YonyouReplyError(DecodeError):
    """YonBIP answered that the call failed (``code`` other than 200): no document.

    Attributes:
        erp_code: the reply's ``code`` as text (``"999"``, ``"310036"``).
        erp_message: the reply's ``message`` (``服务端逻辑异常``), or None.
    """

    def __init__(self, erp_code: str, erp_message: str | None, where: str, *, source: str | None = None) -> None:
        self.erp_code = erp_code
        self.erp_message = erp_message
        said = f": {shown(erp_message)}" if erp_message else " (no message)"
        super().__init__(f"{where}: YonBIP answered code {shown(erp_code) or repr(erp_code)}{said}", source=source)

    def located(self, *, source: str | None = None, document_id: str | None = None) -> DecodeError:
        """A copy naming the source too, keeping the ERP's code and message."""
        clone = YonyouReplyError.__new__(YonyouReplyError)
        clone.__dict__.update(self.__dict__)
        clone.source, clone.document_id = source or self.source, document_id or self.document_id
        clone.args = (clone._render(),)
        return clone


def _what(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(shown(k, 30) for k in list(value)[:6]) + (", ..." if len(value) > 6 else "")
        return f"an object with {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "null" if value is None else f"a {type(value).__name__}"


def _code_text(value: Any) -> str:
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else repr(value)


def _is_envelope(value: Mapping[str, Any]) -> bool:
    return "code" in value and ("data" in value or "message" in value) and not (_OBJECT_KEYS & value.keys())


def _check_reply(value: Mapping[str, Any], where: _Where) -> None:
    code = _code_text(value.get("code"))
    if code != "200":
        message = value.get("message")
        raise YonyouReplyError(code, message if isinstance(message, str) and message else None, json_path(where))


def _objects(value: Any) -> list[_Item]:
    """Each business object in a parsed reply or ``data``, in order."""
    where: _Where = ()
    if isinstance(value, Mapping) and _is_envelope(value):
        _check_reply(value, where)
        value, where = value.get("data"), ("data",)
        if value is None:
            raise DecodeError("$: the reply (code 200) carries no data")
    if isinstance(value, list):
        items, shape = [(item, (*where, i)) for i, item in enumerate(value)], "detail"
    elif isinstance(value, Mapping) and isinstance(value.get("recordList"), list):
        items = [(row, (*where, "recordList", i)) for i, row in enumerate(value["recordList"])]
        shape = "list-row"
    elif isinstance(value, Mapping) and "infos" in value and ("sucessCount" in value or "failCount" in value):
        infos = value["infos"]
        infos = infos if isinstance(infos, list) else [infos]
        items, shape = [_write_row(info, (*where, "infos", i)) for i, info in enumerate(infos)], "write-row"
    else:
        items, shape = [(value, where)], "detail"
    if not items:
        raise DecodeError(f"{json_path(where)}: the reply holds no document (an empty list)")
    # list rows without a pubts of their own (product lists) are versioned by the page's
    page_stamp = value.get("pubts") if shape == "list-row" else None
    found = []
    for item, at in items:
        if not isinstance(item, Mapping):
            raise DecodeError(f"{json_path(at)}: expected {_EXPECTED}, got {_what(item)}")
        if item.get("pubts") not in (None, "") or page_stamp in (None, ""):
            found.append(_Item(item, at, shape, item.get("pubts"), (*at, "pubts")))
        else:
            found.append(_Item(item, at, shape, page_stamp, (*where, "pubts")))
    return found


def _write_row(info: Any, where: _Where) -> tuple[Any, _Where]:
    """A write reply's row: the object it echoes (``{code, rowNum, message, data}`` or the object)."""
    if isinstance(info, Mapping) and "rowNum" in info and "code" in info:
        _check_reply(info, where)
        return info.get("data"), (*where, "data")
    return info, where


def _kind(item: Mapping[str, Any], where: _Where, forced: str | None) -> str:
    if forced is not None:
        return forced
    if "pageIndex" in item:  # a query, or a list reply without rows
        raise DecodeError(f"{json_path(where)}: this is a query or an empty page, not {_EXPECTED}")
    if "orderProduct" in item or _ROW_LINE_ID in item or any(str(k).startswith(_ROW_PREFIX) for k in item):
        return "productionorder"
    if "vouchdate" not in item:  # master data has no voucher date; orders and stock documents do
        if "batchno" in item:
            return "batchno"
        if "code" in item and _PRODUCT_KEYS & item.keys():
            return "product"
    raise DecodeError(
        f"{json_path(where)}: cannot tell what this is: expected {_EXPECTED}; got {_what(item)} "
        "(name the type with the codec option document_type: productionorder, product or batchno)"
    )


def _identifier(item: Mapping[str, Any], kind: str, where: _Where) -> str:
    key = _ID_KEYS[kind]
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or not value.strip().isprintable():
        got = repr(shown(value)) if isinstance(value, str) else _what(value)
        raise DecodeError(f"{json_path((*where, key))}: a {kind} needs its {key} (a line of text), got {got}")
    return value.strip()


def _from_list_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A productionorder/list row in the detail's shape: the order with its one line."""
    order: dict[str, Any] = {}
    line: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith(_ROW_PREFIX):
            line[key[len(_ROW_PREFIX) :]] = value
        elif key == _ROW_LINE_ID:
            line["id"] = value
        elif key in _LINE_CHILDREN:
            line[key] = value
        else:
            order[key] = value
    order["orderProduct"] = [line]
    return order


def _order_tree(item: Mapping[str, Any], where: _Where) -> Mapping[str, Any]:
    tree = item if "orderProduct" in item else _from_list_row(item)
    lines = tree.get("orderProduct")
    if not isinstance(lines, list) or not lines or not all(isinstance(line, Mapping) for line in lines):
        raise DecodeError(
            f"{json_path((*where, 'orderProduct'))}: a production order needs its product lines "
            f"(a non-empty list of objects), got {_what(lines)}"
        )
    return tree


def _timestamp(pubts: Any, where: _Where, tz: str) -> tuple[str | None, tuple[str, ...]]:
    """(version digits, created) from a ``pubts``; (None, ()) when there is none."""
    if pubts is None or pubts == "":
        return None, ()
    try:
        moment = read_moment(pubts, tz)
    except TransformError as exc:
        raise DecodeError(f"{json_path(where)}: {exc}") from None
    if moment is None:
        return None, ()
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}", (str(pubts).strip(),)


class YonyouCodec:
    """YonBIP replies: production orders, products and batch numbers (see the module docstring)."""

    system = "yonyou"

    def sniff(self, data: bytes) -> bool:
        """JSON that looks like a YonBIP reply or one of its objects (not a canonical envelope)."""
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] not in (b"{", b"[") or SCHEMA_ID.encode() in head or b'"report_id"' in head:
            return False
        return any(marker in head for marker in _SNIFF_MARKERS) or (b'"code"' in head and b'"message"' in head)

    def check_options(self, **options: Any) -> None:
        """``document_type`` (one of :data:`DOCUMENT_TYPES`), ``instance`` (the tenant's name in
        message ids), ``timezone`` (IANA zone of ``pubts`` text); anything else is refused."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"the yonyou codec has no option {', '.join(unknown)} (options: {', '.join(_OPTIONS)})"
            )
        document_type = options.get("document_type")
        if document_type is not None and document_type not in DOCUMENT_TYPES:
            raise ConfigError(
                f"option document_type: {shown(str(document_type))!r} is not one of {', '.join(DOCUMENT_TYPES)}"
            )
        instance = options.get("instance")
        if instance is not None and (not isinstance(instance, str) or not instance.strip() or not instance.isprintable()):
            raise ConfigError("option instance: must be a non-empty line of text")
        timezone = options.get("timezone")
        if timezone is not None:
            try:
                resolve_timezone(str(timezone))
            except TransformError as exc:
                raise ConfigError(f"option timezone: {exc}") from None

    def identify(self, data: bytes, *, origin: str | None = None, **options: Any) -> DocumentIdentity:
        """Types and the first id of the documents, without reshaping or reading times (JSON
        has no header: it is parsed whole)."""
        self.check_options(**options)
        found = self._found(data, origin, options.get("document_type"))
        first = found[0]
        try:
            first_id = _identifier(first.tree, first.kind, first.where)
        except DecodeError as exc:
            raise exc.located(source=origin) from None
        return DocumentIdentity(tuple(item.kind for item in found), first_id, options.get("instance"))

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[SourceDocument]:
        """One document per business object, in the order of the reply.

        Raises:
            YonyouReplyError: the reply's code is not 200.
            DecodeError: not strict JSON, too large, no object, an object of no known type, or
                one without its id, lines or a readable ``pubts``; the message names the JSON path.
        """
        self.check_options(**options)
        found = self._found(data, origin, options.get("document_type"))
        fingerprint = hashlib.sha256(data).hexdigest()[:32]
        tz = str(options.get("timezone") or DEFAULT_TIMEZONE)
        try:
            return [
                self._document(item, tz, options.get("instance"), origin, fingerprint)
                for item in found
            ]
        except DecodeError as exc:
            raise exc.located(source=origin) from None

    def _found(self, data: bytes, origin: str | None, forced: str | None) -> list[_Item]:
        value = load_json(data, source=origin)
        try:
            return [item._replace(kind=_kind(item.tree, item.where, forced)) for item in _objects(value)]
        except DecodeError as exc:
            raise exc.located(source=origin) from None

    def _document(
        self, found: _Item, tz: str, instance: str | None, origin: str | None, fingerprint: str
    ) -> SourceDocument:
        item, where, kind = found.tree, found.where, found.kind
        document_id = _identifier(item, kind, where)
        tree = _order_tree(item, where) if kind == "productionorder" else item
        version, created = _timestamp(found.stamp, found.stamp_where, tz)
        return SourceDocument(
            system=self.system,
            document_type=kind,
            tree=tree,
            document_id=document_id,
            instance=instance,
            version=version,
            created=created,
            created_read_by="yonyou_datetime",
            created_path=json_path(found.stamp_where),
            id_label=_ID_KEYS[kind],
            origin=origin,
            fingerprint=fingerprint,
            meta={"path": json_path(where), "shape": found.shape},
        )
