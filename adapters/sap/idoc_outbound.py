"""A report's goods movements as IDoc-XML (MBGMCR03, BAPI_GOODSMVT_CREATE as an IDoc).

The alternative to calling BAPI_GOODSMVT_CREATE (``goods_movements: idoc``): each movement group
(receipt, issue) becomes one MBGMCR03 IDoc with a unique ARCKEY, either

* POSTed to SAP's SOAP IDoc service (``/sap/bc/srt/idoc?sap-client=NNN``), which processes an
  ARCKEY of the form ``urn:sap.com:msgid=<32 hex>`` exactly once (SAP message EA728): a re-send
  after a lost reply is dropped by SAP as a duplicate; or
* written to an outbound directory that SAP's file port reads, atomically (a temporary name,
  then a rename). A file is never written twice: a call found in doubt whose file is gone
  (SAP took it, or it was never written: a crash between the rename and the ledger's commit)
  and whose document SAP does not list yet is refused for an operator to check, never guessed.

The confirmation itself still goes by BAPI_PRODORDCONF_CREATE_TT (with the backflush link).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.sap.model import IDoc, Segment
from adapters.sap.xml_writer import write_idoc_xml

__all__ = ["arckey", "idoc_file_name", "mbgmcr_idoc", "soap_envelope", "write_atomically"]

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def arckey(call_key: str) -> str:
    """The IDoc's ARCKEY: SAP's message-id form, derived from the call's key (stable)."""
    return "urn:sap.com:msgid=" + hashlib.sha256(call_key.encode("utf-8")).hexdigest()[:32].upper()


def idoc_file_name(key: str) -> str:
    return f"MBGMCR_{key.rsplit('=', 1)[-1]}.xml"


def _idoc_date(value: Any) -> str:
    return str(value).replace("-", "") if value else ""


def _segment(segment_type: str, fields: Mapping[str, Any]) -> Segment:
    segment = Segment(segment_type)
    for name, value in fields.items():
        if value not in (None, ""):
            segment[name] = str(value)
    return segment


def mbgmcr_idoc(params: Mapping[str, Any], control: Mapping[str, str]) -> IDoc:
    """The BAPI_GOODSMVT_CREATE parameters as one MBGMCR03 IDoc (IDoc dates are YYYYMMDD)."""
    idoc = IDoc(control={"TABNAM": "EDI_DC40", "IDOCTYP": "MBGMCR03", "MESTYP": "MBGMCR", **control}, idoc_type="MBGMCR03")
    header = dict(params["GOODSMVT_HEADER"])
    for name in ("PSTNG_DATE", "DOC_DATE"):
        header[name] = _idoc_date(header.get(name))
    top = Segment("E1MBGMCR")
    top.add_child(_segment("E1BP2017_GM_HEAD_01", header))
    top.add_child(_segment("E1BP2017_GM_CODE", params["GOODSMVT_CODE"]))
    for item in params["GOODSMVT_ITEM"]:
        top.add_child(_segment("E1BP2017_GM_ITEM_CREATE", item))
    idoc.root.add_child(top)
    return idoc


def soap_envelope(idoc: IDoc) -> bytes:
    """The IDoc in a SOAP 1.1 envelope, in the SOAP-IDoc namespace (one IDoc per request)."""
    document = etree.fromstring(write_idoc_xml([idoc], soap_namespace=True))
    envelope = etree.Element(f"{{{_SOAP_ENV}}}Envelope", nsmap={"soap-env": _SOAP_ENV})
    etree.SubElement(envelope, f"{{{_SOAP_ENV}}}Body").append(document)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``directory/name``: a reader sees the whole file or none."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".writing-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        target = directory / name
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
