"""Shared by the SAP simulator tests: small seed IDocs and a zeep client per BAPI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from zeep import Client, Settings, xsd
from zeep.transports import Transport

from adapters.sap.bapi_interfaces import BAPIS, service_name
from adapters.sap.simulator import SapSimulator
from adapters.sap.wsdl_writer import DEFAULT_DIR, RFC_NS

USER, PASSWORD = "MESUSER", "s3cret"
TODAY = dt.date.today().isoformat()
ORDER, UNRELEASED = "000001001528", "000001001529"

_CONTROL = ("<EDI_DC40 SEGMENT='1'><TABNAM>EDI_DC40</TABNAM><DOCNUM>{docnum}</DOCNUM><IDOCTYP>{type}</IDOCTYP>"
            "<MESTYP>{mestyp}</MESTYP></EDI_DC40>")


def _idoc(idoc_type: str, mestyp: str, docnum: str, body: str) -> str:
    control = _CONTROL.format(docnum=docnum, type=idoc_type, mestyp=mestyp)
    return f"<?xml version='1.0' encoding='utf-8'?><{idoc_type}><IDOC BEGIN='1'>{control}{body}</IDOC></{idoc_type}>"


def _order(number: str, status: str) -> str:
    return (
        f"<E1AFKOL SEGMENT='1'><AUFNR>{number}</AUFNR><MATNR>FG-100</MATNR><WERKS>DM01</WERKS>"
        "<GAMNG>10.000</GAMNG><GMEIN>EA</GMEIN>"
        f"<E1JSTKL SEGMENT='1'><STAT>{status}</STAT></E1JSTKL>"
        "<E1AFFLL SEGMENT='1'><APLFL>000000</APLFL>"
        "<E1AFVOL SEGMENT='1'><VORNR>0010</VORNR><E1RESBL SEGMENT='1'><MATNR>RM-1</MATNR><WERKS>DM01</WERKS>"
        "<LGORT>0001</LGORT><BDMNG>20.000</BDMNG><MEINS>EA</MEINS><CHARG>RB-1</CHARG></E1RESBL></E1AFVOL>"
        "<E1AFVOL SEGMENT='1'><VORNR>0020</VORNR></E1AFVOL></E1AFFLL>"
        "<E1AFPOL SEGMENT='1'><MATNR>FG-100</MATNR><LGORT>0002</LGORT></E1AFPOL></E1AFKOL>"
    )


def write_seeds(directory: Path) -> list[Path]:
    """A released order, an unreleased one (status CRTD) and two batches of RM-1 / RM-2."""
    files = {
        "order.xml": _idoc("LOIPRO05", "LOIPRO", "0000000000000001", _order(ORDER, "I0002")),
        "unreleased.xml": _idoc("LOIPRO05", "LOIPRO", "0000000000000002", _order(UNRELEASED, "I0001")),
        "batches.xml": _idoc("BATMAS03", "BATMAS", "0000000000000003",
                             "<E1BATMAS SEGMENT='1'><MATERIAL>RM-1</MATERIAL><BATCH>RB-1</BATCH><PLANT>DM01</PLANT>"
                             "</E1BATMAS><E1BATMAS SEGMENT='1'><MATERIAL>RM-2</MATERIAL><BATCH>RB-2</BATCH>"
                             "<PLANT>DM01</PLANT></E1BATMAS>"),
    }
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


@contextmanager
def running(directory: Path, **options: Any) -> Iterator[SapSimulator]:
    """A started simulator seeded by :func:`write_seeds` (RM-2/RB-2 holds only 5)."""
    options.setdefault("user", USER)
    options.setdefault("password", PASSWORD)
    simulator = SapSimulator(seeds=write_seeds(directory), stock=["RM-2:DM01:RB-2=5"], **options)
    with simulator:
        yield simulator


def session(auth: tuple[str, str] | None = (USER, PASSWORD)) -> requests.Session:
    s = requests.Session()
    s.auth = auth
    return s


class Sap:
    """zeep services for every BAPI, endpoints from the simulator's index (``GET /``)."""

    def __init__(self, simulator: SapSimulator, auth: tuple[str, str] | None = (USER, PASSWORD)) -> None:
        self.http = session(auth)
        self.index = self.http.get(simulator.url + "/", timeout=10).json()
        self._services: dict[str, Any] = {}

    def service(self, bapi: str) -> Any:
        if bapi not in self._services:
            client = Client(str(DEFAULT_DIR / f"{bapi}.wsdl"), transport=Transport(session=self.http, timeout=10),
                            settings=Settings(strict=False, xml_huge_tree=True))
            binding = f"{{{RFC_NS}}}{service_name(bapi)}_BINDING"
            self._services[bapi] = client.create_service(binding, self.index["services"][bapi])
        return self._services[bapi]

    def call(self, bapi: str, **params: Any) -> Any:
        """Call ``bapi``; optional parameters not given are skipped; tables as lists of dicts."""
        args: dict[str, Any] = {}
        for param in BAPIS[bapi].inputs:
            value = params.get(param.name, xsd.SkipValue)
            if param.shape == "table" and isinstance(value, list):
                value = {"item": value}
            args[param.name] = value
        return getattr(self.service(bapi), bapi)(**args)


def items(table: Any) -> list[Any]:
    """The rows of a zeep table value (None when SAP sent it empty)."""
    return list(table["item"]) if table is not None and table["item"] else []


def ticket(**fields: Any) -> dict[str, Any]:
    row = {"ORDERID": ORDER, "OPERATION": "0010", "YIELD": "5.000", "POSTG_DATE": TODAY}
    row.update(fields)
    return row


def movement(**fields: Any) -> dict[str, Any]:
    row = {"MATERIAL": "RM-1", "PLANT": "DM01", "STGE_LOC": "0001", "BATCH": "RB-1", "MOVE_TYPE": "261",
           "ENTRY_QNT": "3.000", "ENTRY_UOM": "EA", "ORDERID": ORDER}
    row.update(fields)
    return row


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SapSimulator]:
    """A running simulator seeded by :func:`write_seeds` (a fixture: import it with the module's names)."""
    with running(tmp_path) as simulator:
        yield simulator


@pytest.fixture
def sap(sim: SapSimulator) -> Sap:
    """A zeep client on ``sim``."""
    return Sap(sim)
