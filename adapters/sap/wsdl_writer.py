"""Writes one SOAMANAGER-style WSDL per BAPI in ``bapi_interfaces.BAPIS`` to ``adapters/sap/wsdl/``.

Run ``python -m adapters.sap.wsdl_writer [--out DIR]``. The style follows the one real
SAP-generated WSDL the project has (a SOAMANAGER service around a function module):
document/literal, ``urn:sap-com:document:sap:rfc:functions``, a schema with
``attributeFormDefault="qualified"`` and no ``elementFormDefault`` (children unqualified),
DDIC-derived simple types, tables as ``<item>`` lists, SOAP 1.1 and 1.2 bindings on one address
and the WS-Policy blocks SOAMANAGER writes. The files are written from the BAPIs' documented
interfaces, not by SAP: a site's real WSDL from SOAMANAGER replaces them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from adapters.sap.bapi_interfaces import (
    BAPIS,
    DATE,
    INT,
    NUMC,
    QUAN,
    STRUCTURES,
    TIME,
    Bapi,
    Param,
    service_name,
)

__all__ = ["DEFAULT_DIR", "PLACEHOLDER_HOST", "RFC_NS", "endpoint_path", "simple_type_name", "write_all", "wsdl_bytes"]

RFC_NS = "urn:sap-com:document:sap:rfc:functions"
PLACEHOLDER_HOST = "http://localhost:8000"
DEFAULT_DIR = Path(__file__).with_name("wsdl")

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
SOAP_HTTP = "http://schemas.xmlsoap.org/soap/http"
NSMAP = {
    "wsdl": WSDL, "xsd": XSD, "soap": SOAP11, "wsoap12": SOAP12,
    "http": "http://schemas.xmlsoap.org/wsdl/http/", "mime": "http://schemas.xmlsoap.org/wsdl/mime/",
    "tns": RFC_NS, "wsp": WSP, "wsu": WSU,
}

HEADER_COMMENT = (
    " Written by adapters/sap/wsdl_writer.py from the BAPI's documented interface "
    "(adapters/sap/bapi_interfaces.py), not SAP's output. Field lengths and optionality are "
    "assumptions to check in SE37 / SOAMANAGER; use the site's own WSDL where there is one. "
)


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


# Prefixes SOAMANAGER declares where the policy elements are used, not on the root.
LOCAL_PREFIXES = {
    "http://www.sap.com/2007/03/sidl": "sidl",
    "http://www.sap.com/710/features/attachment/": "sapattahnd",
    "http://schemas.xmlsoap.org/ws/2004/09/policy/optimizedmimeserialization": "saptrnbnd",
    "http://www.sap.com/webas/710/soap/features/transportbinding/": "saptrnbnd",
    "http://www.w3.org/2006/05/addressing/wsdl": "wsaw",
    "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702": "sp",
    "http://www.sap.com/webas/630/soap/features/session/": "sapsession",
    "http://www.sap.com/NW05/soap/features/transaction/": "saptrhnw05",
    "http://www.sap.com/NW05/soap/features/commit/": "sapcomhnd",
    "http://www.sap.com/NW05/soap/features/blocking/": "sapblock",
    "http://www.sap.com/NW05/soap/features/wsrm/": "saprmnw05",
}


def _sub(parent: etree._Element, ns: str, local: str, **attrs: str) -> etree._Element:
    prefix = LOCAL_PREFIXES.get(ns)
    nsmap = {prefix: ns} if prefix and parent.nsmap.get(prefix) != ns else None
    return etree.SubElement(parent, _q(ns, local), attrs, nsmap=nsmap)


def simple_type_name(kind: tuple[str, int, int]) -> str:
    """The schema name SOAMANAGER gives a DDIC type: ``char12``, ``numeric10``, ``quantum13.3``..."""
    base, length, decimals = kind
    if base in (DATE, TIME):
        return base
    if base == INT:
        return "xsd:int"
    if base == QUAN:
        return f"quantum{length}.{decimals}"
    return f"{base}{length}"


def endpoint_path(bapi: str, client: str = "100") -> str:
    """The SOAMANAGER path of the BAPI's service: ``/sap/bc/srt/rfc/sap/<svc>/<client>/<svc>_sev/<svc>_binding``."""
    svc = service_name(bapi).lower()
    return f"/sap/bc/srt/rfc/sap/{svc}/{client}/{svc}_sev/{svc}_binding"


def _soap_action(bapi: str) -> str:
    return f"{RFC_NS}:{service_name(bapi)}:{bapi}Request"


def _simple_type(schema: etree._Element, kind: tuple[str, int, int]) -> None:
    base, length, decimals = kind
    node = _sub(schema, XSD, "simpleType", name=simple_type_name(kind))
    if base == QUAN:
        restriction = _sub(node, XSD, "restriction", base="xsd:decimal")
        _sub(restriction, XSD, "totalDigits", value=str(length))
        _sub(restriction, XSD, "fractionDigits", value=str(decimals))
        return
    restriction = _sub(node, XSD, "restriction", base="xsd:string")
    _sub(restriction, XSD, "maxLength", value=str(length))
    pattern = {NUMC: r"\d*", DATE: r"\d\d\d\d-\d\d-\d\d", TIME: r"\d\d:\d\d:\d\d"}.get(base)
    if pattern:
        _sub(restriction, XSD, "pattern", value=pattern)


def _type_ref(kind: tuple[str, int, int]) -> str:
    name = simple_type_name(kind)
    return name if name.startswith("xsd:") else f"tns:{name}"


def _structures_used(bapi: Bapi) -> tuple[list[str], list[str]]:
    """(structures, table structures) the BAPI's parameters use, each sorted by name."""
    structs = {p.type for p in (*bapi.inputs, *bapi.outputs) if p.shape != "field"}
    tables = {p.type for p in (*bapi.inputs, *bapi.outputs) if p.shape == "table"}
    return sorted(str(s) for s in structs), sorted(str(t) for t in tables)


def _kinds_used(bapi: Bapi, structs: Iterable[str]) -> list[tuple[str, int, int]]:
    kinds = {k for s in structs for k in STRUCTURES[s].values()}
    kinds |= {p.type for p in (*bapi.inputs, *bapi.outputs) if p.shape == "field" and isinstance(p.type, tuple)}
    return sorted((k for k in kinds if k[0] != INT), key=simple_type_name)


def _param_element(parent: etree._Element, param: Param, optional: bool) -> None:
    if param.shape == "field":
        assert isinstance(param.type, tuple)
        type_ref = _type_ref(param.type)
    elif param.shape == "table":
        type_ref = f"tns:TABLE_OF_{param.type}"
    else:
        type_ref = f"tns:{param.type}"
    attrs = {"name": param.name, "type": type_ref}
    if optional:
        attrs["minOccurs"] = "0"
    _sub(parent, XSD, "element", **attrs)


def _operation_element(schema: etree._Element, name: str, params: Iterable[Param], request: bool) -> None:
    sequence = _sub(_sub(_sub(schema, XSD, "element", name=name), XSD, "complexType"), XSD, "sequence")
    for param in sorted(params, key=lambda p: p.name):  # SOAMANAGER lists parameters by name
        # Response parameters are always sent; only request parameters may be left out.
        _param_element(sequence, param, optional=request and param.optional)


def _schema(types: etree._Element, bapi: Bapi) -> None:
    schema = _sub(types, XSD, "schema", attributeFormDefault="qualified", targetNamespace=RFC_NS)
    structs, tables = _structures_used(bapi)
    for kind in _kinds_used(bapi, structs):
        _simple_type(schema, kind)
    for struct in structs:
        sequence = _sub(_sub(schema, XSD, "complexType", name=struct), XSD, "sequence")
        for field, kind in STRUCTURES[struct].items():
            # The real WSDL leaves minOccurs out, which makes zeep demand every field of every
            # line; SAP takes an absent field as initial, so the fields are written optional.
            _sub(sequence, XSD, "element", name=field, type=_type_ref(kind), minOccurs="0")
    for struct in tables:
        sequence = _sub(_sub(schema, XSD, "complexType", name=f"TABLE_OF_{struct}"), XSD, "sequence")
        _sub(sequence, XSD, "element", name="item", type=f"tns:{struct}", minOccurs="0", maxOccurs="unbounded")
    _operation_element(schema, bapi.name, bapi.inputs, request=True)
    _operation_element(schema, f"{bapi.name}Response", bapi.outputs, request=False)


def _transport_binding(parent: etree._Element, optimized: tuple[str, str, dict[str, str]]) -> None:
    sp = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
    alt = _sub(parent, WSP, "All")
    enabled = _sub(alt, "http://www.sap.com/710/features/attachment/", "Enabled")
    enabled.text = "false"
    ns, name, attrs = optimized
    _sub(alt, ns, name, **attrs, **{_q(WSP, "Optional"): "true"})
    _sub(alt, "http://www.w3.org/2006/05/addressing/wsdl", "UsingAddressing", **{_q(WSP, "Optional"): "true"})
    policy = _sub(_sub(_sub(alt, WSP, "All"), sp, "TransportBinding"), WSP, "Policy")
    token = _sub(_sub(_sub(policy, sp, "TransportToken"), WSP, "Policy"), sp, "HttpsToken")
    _sub(_sub(token, WSP, "Policy"), sp, "HttpBasicAuthentication")
    _sub(_sub(_sub(policy, sp, "AlgorithmSuite"), WSP, "Policy"), sp, "Basic128Rsa15")
    _sub(_sub(_sub(policy, sp, "Layout"), WSP, "Policy"), sp, "Strict")


def _binding_policy(root: etree._Element, binding: str) -> None:
    choice = _sub(_sub(root, WSP, "Policy", **{_q(WSU, "Id"): f"BN__{binding}"}), WSP, "ExactlyOne")
    _transport_binding(choice, ("http://schemas.xmlsoap.org/ws/2004/09/policy/optimizedmimeserialization",
                                "OptimizedMimeSerialization", {}))
    _transport_binding(choice, ("http://www.sap.com/webas/710/soap/features/transportbinding/",
                                "OptimizedXMLTransfer", {"uri": "http://xml.sap.com/2006/11/esi/esp/binxml"}))


def _interface_policies(root: etree._Element, bapi: Bapi) -> None:
    interface = _sub(_sub(_sub(root, WSP, "Policy", **{_q(WSU, "Id"): f"IF__{service_name(bapi.name)}"}),
                          WSP, "ExactlyOne"), WSP, "All")
    session_ns = "http://www.sap.com/webas/630/soap/features/session/"
    _sub(_sub(interface, session_ns, "Session"), session_ns, "enableSession").text = "false"
    operation = _sub(_sub(_sub(root, WSP, "Policy", **{_q(WSU, "Id"): f"OP__{bapi.name}"}),
                          WSP, "ExactlyOne"), WSP, "All")
    for ns, name, value in (
        ("http://www.sap.com/NW05/soap/features/transaction/", "required", "no"),
        ("http://www.sap.com/NW05/soap/features/commit/", "enableCommit", "false"),
        ("http://www.sap.com/NW05/soap/features/blocking/", "enableBlocking", "true"),
        ("http://www.sap.com/NW05/soap/features/wsrm/", "enableWSRM", "false"),
    ):
        _sub(operation, ns, name).text = value


def _policy_ref(parent: etree._Element, uri: str) -> None:
    _sub(_sub(parent, WSP, "Policy"), WSP, "PolicyReference", URI=f"#{uri}")


def _binding(root: etree._Element, bapi: Bapi, binding: str, soap_ns: str) -> None:
    node = _sub(root, WSDL, "binding", name=binding, type=f"tns:{service_name(bapi.name)}")
    _policy_ref(node, f"BN__{binding}")
    _sub(node, soap_ns, "binding", transport=SOAP_HTTP, style="document")
    operation = _sub(node, WSDL, "operation", name=bapi.name)
    _sub(operation, soap_ns, "operation", soapAction=_soap_action(bapi.name), style="document")
    for direction in ("input", "output"):
        _sub(_sub(operation, WSDL, direction), soap_ns, "body", use="literal")


def _document(bapi: Bapi, host: str, client: str) -> etree._Element:
    service = service_name(bapi.name)
    bindings = ((f"{service}_BINDING", SOAP11), (f"{service}_BINDING_SOAP12", SOAP12))
    root = etree.Element(_q(WSDL, "definitions"), {"targetNamespace": RFC_NS}, nsmap=NSMAP)
    _sub(_sub(root, WSDL, "documentation"), "http://www.sap.com/2007/03/sidl", "sidl")
    _sub(root, WSP, "UsingPolicy", **{_q(WSDL, "required"): "true"})
    for binding, _ in bindings:
        _binding_policy(root, binding)
    _interface_policies(root, bapi)
    _schema(_sub(root, WSDL, "types"), bapi)
    for message, part in ((bapi.name, "parameters"), (f"{bapi.name}Response", "parameter")):
        _sub(_sub(root, WSDL, "message", name=message), WSDL, "part", name=part, element=f"tns:{message}")
    port_type = _sub(root, WSDL, "portType", name=service)
    _policy_ref(port_type, f"IF__{service}")
    operation = _sub(port_type, WSDL, "operation", name=bapi.name)
    _policy_ref(operation, f"OP__{bapi.name}")
    _sub(operation, WSDL, "input", message=f"tns:{bapi.name}")
    _sub(operation, WSDL, "output", message=f"tns:{bapi.name}Response")
    for binding, soap_ns in bindings:
        _binding(root, bapi, binding, soap_ns)
    sev = _sub(root, WSDL, "service", name=f"{service}_SEV")
    location = host.rstrip("/") + endpoint_path(bapi.name, client)
    for binding, soap_ns in bindings:
        port = _sub(sev, WSDL, "port", name=binding, binding=f"tns:{binding}")
        _sub(port, soap_ns, "address", location=location)
    return root


def wsdl_bytes(bapi_name: str, host: str = PLACEHOLDER_HOST, client: str = "100") -> bytes:
    """The WSDL of one BAPI in ``BAPIS``, its address on ``host`` (scheme://host:port) and ``client``."""
    root = _document(BAPIS[bapi_name], host, client)
    etree.indent(root, space="\t")
    comment = etree.tostring(etree.Comment(HEADER_COMMENT), encoding="utf-8")
    body = etree.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + comment + b"\n" + body + b"\n"


def write_all(out_dir: Path = DEFAULT_DIR) -> list[Path]:
    """Write ``<BAPI>.wsdl`` for every BAPI into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(BAPIS):
        path = out_dir / f"{name}.wsdl"
        path.write_bytes(wsdl_bytes(name))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="directory for the .wsdl files")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path)


if __name__ == "__main__":
    main()
