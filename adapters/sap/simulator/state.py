"""The simulated SAP system's data: orders, materials, batches, stock, confirmations and
material documents, in memory and safe to share between the server's threads.

Modelling decisions (the simulator's, to check against a real system):

- An order is *released* when its LOIPRO status segments (E1JSTKL) hold I0002 (REL) and none
  of I0045 (TECO), I0046 (CLSD), I0076 (DLFL); an order without status segments is not released.
- Each operation of a seeded order gets a confirmation number (CONF_NO) when seeded; counters
  count per confirmation number from 1.
- Stock is kept per material, plant and batch, as unrestricted (``U``), blocked (``B``) or
  restricted-use (``R``, the batch status).
  A batch seeded by BATMAS starts with ``DEFAULT_BATCH_STOCK`` unrestricted unless ``--stock``
  says otherwise. Stock is checked (M7 021) only where a line names a batch: movements
  without a batch are not stock-checked.
- Order numbers and numeric material numbers are compared ALPHA-padded (12 / 18 digits).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "DEFAULT_BATCH_STOCK",
    "Component",
    "Confirmation",
    "GoodsLine",
    "MaterialDocument",
    "Operation",
    "Order",
    "SimState",
    "alpha_material",
    "alpha_order",
]

DEFAULT_BATCH_STOCK = Decimal("1000")
_NOT_RELEASED = frozenset({"I0045", "I0046", "I0076"})
RELEASED = "I0002"
_FIRST_MATERIAL_DOCUMENT = 4900000000
_FIRST_CONF_NO = 10000


def alpha_order(number: str) -> str:
    number = number.strip()
    return number.zfill(12) if number.isdigit() else number.upper()


def alpha_material(number: str) -> str:
    number = number.strip()
    return number.zfill(18) if number.isdigit() else number.upper()


@dataclass
class Operation:
    number: str  # VORNR, e.g. 0020
    conf_no: str
    sequence: str = "000000"


@dataclass
class Component:
    material: str
    plant: str
    stge_loc: str
    quantity: Decimal  # per order quantity (BDMNG)
    unit: str
    batch: str = ""
    operation: str = ""


@dataclass
class Order:
    number: str
    plant: str
    material: str = ""
    quantity: Decimal = Decimal("0")
    unit: str = ""
    stge_loc: str = ""
    status: tuple[str, ...] = ()
    operations: dict[str, Operation] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    confirmed_yield: Decimal = Decimal("0")
    confirmed_scrap: Decimal = Decimal("0")

    @property
    def released(self) -> bool:
        return RELEASED in self.status and not _NOT_RELEASED & set(self.status)

    @property
    def status_text(self) -> str:
        if _NOT_RELEASED & set(self.status):
            return "TECO" if "I0045" in self.status else "CLSD"
        return "REL" if self.released else "CRTD"


@dataclass(frozen=True)
class GoodsLine:
    """One goods movement line as posted (also the input of a posting)."""

    material: str
    plant: str
    move_type: str
    quantity: Decimal
    unit: str = ""
    stge_loc: str = ""
    batch: str = ""
    order: str = ""
    stock_type: str = ""
    move_material: str = ""
    move_plant: str = ""
    move_stge_loc: str = ""
    move_batch: str = ""
    item_text: str = ""
    automatic: bool = False


@dataclass
class MaterialDocument:
    number: str
    year: str
    posting_date: str
    header_text: str
    items: list[GoodsLine]
    username: str = ""
    ref_doc_no: str = ""
    confirmation: tuple[str, str] | None = None  # (CONF_NO, CONF_CNT) it was posted with
    reversal_of: tuple[str, str] | None = None
    reversed_by: tuple[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.number, self.year)


@dataclass
class Confirmation:
    conf_no: str
    counter: str
    order: str
    operation: str
    sequence: str = "000000"
    yield_: Decimal = Decimal("0")
    scrap: Decimal = Decimal("0")
    unit: str = ""
    posting_date: str = ""
    text: str = ""
    ex_ident: str = ""
    final: str = ""
    pers_no: str = ""
    reversed: bool = False
    reversal_of: str = ""  # counter this confirmation cancels (REV_CONF_CNT)
    material_document: tuple[str, str] | None = None
    document_items: tuple[int, ...] = ()  # its lines in material_document (0-based)

    @property
    def key(self) -> tuple[str, str]:
        return (self.conf_no, self.counter)


# movement type -> stock changes: (side, stock category, sign); side "from" = the line's
# material/plant/batch, "to" = its MOVE_* receiving side
MOVEMENTS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "101": (("from", "U", 1),), "102": (("from", "U", -1),),
    "261": (("from", "U", -1),), "262": (("from", "U", 1),),
    "201": (("from", "U", -1),), "202": (("from", "U", 1),),
    "551": (("from", "U", -1),), "552": (("from", "U", 1),),
    "501": (("from", "U", 1),), "502": (("from", "U", -1),),
    "311": (("from", "U", -1), ("to", "U", 1)), "312": (("from", "U", 1), ("to", "U", -1)),
    "343": (("from", "B", -1), ("from", "U", 1)), "344": (("from", "U", -1), ("from", "B", 1)),
    "341": (("from", "U", -1), ("from", "R", 1)), "342": (("from", "R", -1), ("from", "U", 1)),
}
REVERSAL = {"101": "102", "102": "101", "261": "262", "262": "261", "201": "202", "202": "201",
            "551": "552", "552": "551", "501": "502", "502": "501", "311": "312", "312": "311",
            "343": "344", "344": "343", "341": "342", "342": "341"}
StockKey = tuple[str, str, str, str]  # material, plant, batch, category


class Deficit(Exception):
    """A line would take more from a batch than it holds."""

    def __init__(self, line: GoodsLine, key: StockKey, missing: Decimal) -> None:
        super().__init__(f"deficit of {missing} on {key}")
        self.line, self.key, self.missing = line, key, missing


class SimState:
    """All the simulated system holds; every method is safe to call from any thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, Order] = {}
        self.materials: dict[str, dict[str, str]] = {}
        self.batches: dict[tuple[str, str, str], dict[str, str]] = {}  # (material, plant, batch)
        self.stock: dict[StockKey, Decimal] = {}
        self.confirmation_records: dict[tuple[str, str], Confirmation] = {}
        self._last_counter: dict[str, int] = {}  # per confirmation number: O(1) next counter
        self.documents: dict[tuple[str, str], MaterialDocument] = {}
        self.inbound_idocs: list[dict[str, object]] = []
        # the statuses of the IDocs this system sent, by DOCNUM, as audit IDocs reported them
        self.outbound_statuses: dict[str, list[dict[str, str]]] = {}
        self._conf_numbers = iter(range(_FIRST_CONF_NO, 10**10))
        self._document_numbers = iter(range(_FIRST_MATERIAL_DOCUMENT + 1, 10**10))
        self._busy_orders: set[str] = set()

    # -- seeding -----------------------------------------------------------------------
    def add_order(self, order: Order) -> None:
        with self.lock:
            order.number = alpha_order(order.number)
            for operation in order.operations.values():
                if not operation.conf_no:
                    operation.conf_no = f"{next(self._conf_numbers):010d}"
            self.orders[order.number] = order

    def add_material(self, material: str, fields: dict[str, str]) -> None:
        with self.lock:
            self.materials[alpha_material(material)] = fields

    def add_batch(self, material: str, plant: str, batch: str, fields: dict[str, str] | None = None,
                  stock: Decimal | None = DEFAULT_BATCH_STOCK) -> None:
        with self.lock:
            key = (alpha_material(material), plant, batch.upper())
            self.batches[key] = dict(fields or {})
            if stock is not None:
                self.stock.setdefault((*key, "U"), stock)

    def set_stock(self, material: str, plant: str, batch: str, quantity: Decimal, category: str = "U") -> None:
        with self.lock:
            key = (alpha_material(material), plant, batch.upper())
            self.batches.setdefault(key, {})
            self.stock[(*key, category)] = quantity

    def stock_of(self, material: str, plant: str, batch: str, category: str = "U") -> Decimal:
        with self.lock:
            return self.stock.get((alpha_material(material), plant, batch.upper(), category), Decimal("0"))

    # -- locks -------------------------------------------------------------------------
    @contextmanager
    def order_locks(self, orders: set[str]) -> Iterator[str | None]:
        """Lock the orders for one posting; yields the first order another call holds, or None."""
        with self.lock:
            busy = sorted(orders & self._busy_orders)
            if busy:
                taken: set[str] = set()
            else:
                taken = set(orders)
                self._busy_orders |= taken
        try:
            yield busy[0] if busy else None
        finally:
            with self.lock:
                self._busy_orders -= taken

    def busy_orders(self) -> set[str]:
        """The orders a posting holds locked right now."""
        with self.lock:
            return set(self._busy_orders)

    @contextmanager
    def hold_order_lock(self, order: str) -> Iterator[None]:
        """Hold an order's lock like another user would (for tests and demos)."""
        with self.order_locks({alpha_order(order)}) as busy:
            if busy:
                raise RuntimeError(f"order {order} is already locked")
            yield

    # -- goods movements -----------------------------------------------------------------
    def _deltas(self, lines: list[GoodsLine]) -> dict[StockKey, Decimal]:
        deltas: dict[StockKey, Decimal] = {}
        for line in lines:
            for side, category, sign in MOVEMENTS[line.move_type]:
                if side == "from":
                    key = (alpha_material(line.material), line.plant, line.batch.upper(), category)
                else:
                    key = (alpha_material(line.move_material or line.material), line.move_plant or line.plant,
                           (line.move_batch or line.batch).upper(), category)
                deltas[key] = deltas.get(key, Decimal("0")) + sign * line.quantity
        return deltas

    def check_goods(self, lines: list[GoodsLine]) -> None:
        """Raise :class:`Deficit` when the lines would leave a batch's stock negative."""
        with self.lock:
            for key, delta in self._deltas(lines).items():
                if delta < 0 and key[2]:
                    after = self.stock.get(key, Decimal("0")) + delta
                    if after < 0:
                        line = next((x for x in lines if alpha_material(x.material) == key[0]
                                     and x.batch.upper() == key[2]), lines[0])
                        raise Deficit(line, key, -after)

    def post_goods(self, lines: list[GoodsLine], *, posting_date: str, header_text: str = "", username: str = "",
                   ref_doc_no: str = "", confirmation: tuple[str, str] | None = None,
                   reversal_of: tuple[str, str] | None = None) -> MaterialDocument:
        """Post the lines as one material document (the caller checked them with check_goods)."""
        with self.lock:
            for key, delta in self._deltas(lines).items():
                self.stock[key] = self.stock.get(key, Decimal("0")) + delta
                if key[2] and delta > 0:
                    self.batches.setdefault(key[:3], {})  # a receipt creates its batch
            document = MaterialDocument(
                number=str(next(self._document_numbers)), year=posting_date[:4], posting_date=posting_date,
                header_text=header_text, items=list(lines), username=username, ref_doc_no=ref_doc_no,
                confirmation=confirmation, reversal_of=reversal_of,
            )
            self.documents[document.key] = document
            return document

    # -- confirmations -------------------------------------------------------------------
    def next_counter(self, conf_no: str) -> str:
        with self.lock:
            return f"{self._last_counter.get(conf_no, 0) + 1:08d}"

    def add_confirmation(self, confirmation: Confirmation) -> None:
        with self.lock:
            self.confirmation_records[confirmation.key] = confirmation
            number, counter = confirmation.key
            self._last_counter[number] = max(self._last_counter.get(number, 0), int(counter))

    def operation_by_conf_no(self, conf_no: str) -> tuple[Order, Operation] | None:
        with self.lock:
            for order in self.orders.values():
                for operation in order.operations.values():
                    if operation.conf_no == conf_no.zfill(10):
                        return order, operation
            return None

    # -- helpers for tests ---------------------------------------------------------------
    def confirmations(self) -> list[Confirmation]:
        """Every confirmation record (cancellations included), in posting order."""
        with self.lock:
            return list(self.confirmation_records.values())

    def material_documents(self) -> list[MaterialDocument]:
        """Every material document (reversals included), in posting order."""
        with self.lock:
            return list(self.documents.values())
