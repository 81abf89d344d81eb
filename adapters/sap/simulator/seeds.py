"""Seeds the simulated system from IDoc files (LOIPRO, MATMAS, BATMAS; flat or XML).

What a seed means:

- LOIPRO: one production order per IDoc (E1AFKOL: AUFNR, MATNR, WERKS, GAMNG, GMEIN; its
  status from E1JSTKL, see ``state`` for "released"); each E1AFVOL an operation (its RUECK,
  in E1AFVOL or E1AFVOL2, as confirmation number when given); each E1RESBL under an operation a component that
  backflush issues; E1AFPOL the receiving storage location (and material when E1AFKOL has none).
- MATMAS: a material (E1MARAM MATNR, MEINS, MTART; E1MAKTM MAKTX).
- BATMAS: a batch (E1BATMAS MATERIAL, BATCH, PLANT) with ``DEFAULT_BATCH_STOCK`` unrestricted.
- ``--stock MATERIAL:PLANT:BATCH=QTY`` sets a batch's unrestricted stock exactly.

Every seed file is kept with its IDoc-XML (a flat file rendered to XML) for ``--push-to``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc, Segment
from adapters.sap.simulator.state import Component, Operation, Order, SimState
from adapters.sap.xml_writer import write_idoc_xml
from bridge.errors import BridgeError, ConfigError
from bridge.limits import read_document

__all__ = ["SeedDocument", "load_seed", "order_variants", "parse_stock", "seed_state"]


@dataclass(frozen=True)
class SeedDocument:
    """One seed file: where it came from, its IDocs' types and the IDoc-XML to push."""

    origin: str
    idoc_types: tuple[str, ...]
    xml: tuple[bytes, ...]


def _first(segment: Segment, segment_type: str) -> Segment | None:
    found = segment.get(segment_type)
    return found[0] if isinstance(found, list) and found else None


def _all(segment: Segment, segment_type: str) -> list[Segment]:
    found = segment.get(segment_type)
    return found if isinstance(found, list) else []


def _decimal(text: str, what: str, origin: str) -> Decimal:
    try:
        return Decimal(text.strip()) if text.strip() else Decimal("0")
    except InvalidOperation:
        raise ConfigError(f"seed {origin}: {what} {text!r} is not a number") from None


def _order(idoc: IDoc, origin: str) -> Order:
    header = _first(idoc.root, "E1AFKOL")
    if header is None or not header.get("AUFNR"):
        raise ConfigError(f"seed {origin}: LOIPRO IDoc without E1AFKOL/AUFNR")
    item = _first(header, "E1AFPOL")
    order = Order(
        number=header["AUFNR"], plant=header.get("WERKS", ""),
        material=header.get("MATNR") or (item or {}).get("MATNR", ""),
        quantity=_decimal(header.get("GAMNG", ""), "GAMNG", origin), unit=header.get("GMEIN", ""),
        stge_loc=(item or {}).get("LGORT", ""), status=tuple(s.get("STAT", "") for s in _all(header, "E1JSTKL")),
    )
    for sequence in _all(header, "E1AFFLL"):
        for op in _all(sequence, "E1AFVOL"):
            number = op.get("VORNR", "").zfill(4)
            conf_no = op.get("RUECK") or (_first(op, "E1AFVOL2") or {}).get("RUECK", "")
            order.operations[number] = Operation(number, conf_no, sequence.get("APLFL", "000000"))
            for res in _all(op, "E1RESBL"):
                order.components.append(Component(
                    material=res.get("MATNR", ""), plant=res.get("WERKS") or order.plant,
                    stge_loc=res.get("LGORT", ""), quantity=_decimal(res.get("BDMNG", ""), "BDMNG", origin),
                    unit=res.get("MEINS", ""), batch=res.get("CHARG", ""), operation=number))
    return order


def _seed_idoc(state: SimState, idoc: IDoc, origin: str) -> None:
    kind = (idoc.control.get("MESTYP") or idoc.idoc_type)[:6]
    if kind.startswith("LOIPRO"):
        state.add_order(_order(idoc, origin))
    elif kind.startswith("MATMAS"):
        for material in _all(idoc.root, "E1MARAM"):
            text = _first(material, "E1MAKTM")
            state.add_material(material.get("MATNR", ""), {"MEINS": material.get("MEINS", ""),
                                                          "MTART": material.get("MTART", ""),
                                                          "MAKTX": (text or {}).get("MAKTX", "")})
    elif kind.startswith("BATMAS"):
        for batch in _all(idoc.root, "E1BATMAS"):
            attributes = _first(batch, "E1BPBATCHATT")
            state.add_batch(batch.get("MATERIAL", ""), batch.get("PLANT", ""), batch.get("BATCH", ""),
                            dict((attributes or {}).items()) if attributes else {})
    else:
        raise ConfigError(f"seed {origin}: {idoc.idoc_type} is no LOIPRO, MATMAS or BATMAS IDoc")


def load_seed(state: SimState, path: Path) -> SeedDocument:
    """Decode one seed file into the state.

    Raises:
        ConfigError: the file cannot be read or decoded, or holds an IDoc the simulator does
            not seed from; the message names the file.
    """
    origin = str(path)
    try:
        data = read_document(path)
        idocs = SapCodec().decode_idocs(data, origin=origin)
    except (OSError, BridgeError) as exc:
        raise ConfigError(f"seed {origin}: {exc}") from None
    for idoc in idocs:
        _seed_idoc(state, idoc, origin)
    is_xml = data.lstrip()[:1] == b"<" or data[:3] == b"\xef\xbb\xbf"
    xml = (data,) if is_xml else tuple(write_idoc_xml([idoc]) for idoc in idocs)
    return SeedDocument(origin, tuple(i.idoc_type for i in idocs), xml)


def parse_stock(text: str) -> tuple[str, str, str, Decimal]:
    """``MATERIAL:PLANT:BATCH=QTY`` -> its parts; ValueError naming what is wrong."""
    key, sep, amount = text.partition("=")
    parts = key.split(":")
    if not sep or len(parts) != 3 or not all(parts):
        raise ValueError(f"stock {text!r} is not MATERIAL:PLANT:BATCH=QUANTITY")
    try:
        return parts[0], parts[1], parts[2], Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"stock {text!r}: {amount!r} is not a number") from None


def seed_state(state: SimState, seeds: Sequence[Path], stock: Sequence[str] = ()) -> list[SeedDocument]:
    """Load every seed file, then apply the stock settings."""
    documents = [load_seed(state, path) for path in seeds]
    for entry in stock:
        material, plant, batch, amount = parse_stock(entry)
        state.set_stock(material, plant, batch, amount)
    return documents


def order_variants(template: Path, folder: Path, count: int, first_order: int) -> list[Path]:
    """``count`` copies of a LOIPRO seed, each its own IDoc (DOCNUM 1..count) and production
    order (AUFNR ``first_order + n``): many orders for load tests and benchmarks."""
    body = template.read_bytes()
    docnum = re.search(rb"<DOCNUM>([^<]*)</DOCNUM>", body)
    order = re.search(rb"<AUFNR>([^<]*)</AUFNR>", body)
    if docnum is None or order is None:
        raise ConfigError(f"seed {template}: no DOCNUM or AUFNR to vary")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(1, count + 1):
        variant = body.replace(docnum.group(0), f"<DOCNUM>{n:016d}</DOCNUM>".encode())
        variant = variant.replace(order.group(0), f"<AUFNR>{first_order + n}</AUFNR>".encode())
        path = folder / f"order-{n:05d}.xml"
        path.write_bytes(variant)
        paths.append(path)
    return paths
