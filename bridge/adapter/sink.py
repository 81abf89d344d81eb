"""The sink role: deliver one canonical event to a target, exactly once, and say what it made.

Two modes:

* ``transactional`` (file, MES): ``write(items[, state])`` runs inside the ledger transaction
  that records the delivery; the target's write and the ledger's commit succeed or fail together
  (the file sink truncates what an uncommitted write left, the broker de-duplicates by id).
* ``remote`` (an ERP): the call is never made inside a ledger transaction. The sink turns one
  event into its calls (:meth:`RemoteSink.plan`: a work report is a confirmation, a goods
  receipt and a goods issue); the ledger records each call's attempt *before* it is made and its
  acknowledgement after; a call found in flight when its event comes again (the bridge was
  killed between the target's reply and the ledger's commit, or the reply was lost) is *in
  doubt* and is looked up at the target (:meth:`RemoteSink.lookup`) before it is ever sent
  again. Each call is settled on its own, so a half-delivered event is completed, never re-sent
  whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from bridge.sinks.base import SinkEvent

__all__ = [
    "Acknowledgement",
    "DeliveryContext",
    "DocumentRef",
    "RemoteCall",
    "RemoteSink",
    "SinkContext",
    "order_serial_key",
    "route_mappings",
]


@dataclass(frozen=True)
class DocumentRef:
    """One document the target made: ``("confirmation", "00001234", counter="00000001")``,
    ``("material_document", "4900000012", year="2026")``."""

    kind: str
    number: str
    year: str = ""
    counter: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("kind", self.kind),
                ("number", self.number),
                ("year", self.year),
                ("counter", self.counter),
            )
            if v
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentRef:
        return cls(
            str(data["kind"]), str(data["number"]), str(data.get("year", "")), str(data.get("counter", ""))
        )


@dataclass(frozen=True)
class Acknowledgement:
    """The target's answer to one call: the documents it made, and its messages."""

    documents: tuple[DocumentRef, ...] = ()
    messages: tuple[str, ...] = ()
    found_by_lookup: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.as_dict() for d in self.documents],
            "messages": list(self.messages),
            **({"found_by_lookup": True} if self.found_by_lookup else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Acknowledgement:
        return cls(
            tuple(DocumentRef.from_dict(d) for d in data.get("documents", ())),
            tuple(str(m) for m in data.get("messages", ())),
            bool(data.get("found_by_lookup", False)),
        )


@dataclass(frozen=True)
class RemoteCall:
    """One call to the target.

    Attributes:
        key: unique per call across all events of the target (``<report_id>/confirmation``);
            the ledger settles each key once.
        operation: what the call does (``confirmation``, ``receipt``, ``issue``, ``cancel``...).
        request: what the sink sends (its own shape).
        ident: the idempotency mark the target keeps and returns (SAP: the confirmation's
            EX_IDENT, the goods movement's header text), used by :meth:`RemoteSink.lookup`.
        needs: keys of earlier calls whose acknowledgements this call's request depends on
            (a cancellation needs the confirmation number); see :meth:`RemoteSink.complete`.
    """

    key: str
    operation: str
    request: Mapping[str, Any]
    ident: str = ""
    needs: tuple[str, ...] = ()


@dataclass
class DeliveryContext:
    """What a remote sink may ask the ledger while planning an event's calls."""

    acknowledgement: Callable[[str], Acknowledgement | None]
    """The recorded acknowledgement of a call key (None when not settled)."""
    order: Callable[[str], Mapping[str, Any] | None] = field(default=lambda _order_id: None)
    """Facts of an order the bridge delivered (site, material, storage location), by order_id."""


@runtime_checkable
class RemoteSink(Protocol):
    """A sink whose target is reached by calls outside the ledger's transactions."""

    name: str
    mode: Literal["remote"]
    in_flight: int
    """How many calls may be outstanding at once (events of one ``serial_key`` never overlap)."""

    def serial_key(self, event: SinkEvent) -> str:
        """Events with the same key are delivered one at a time, in order (an order's id)."""
        ...

    def plan(self, event: SinkEvent, context: DeliveryContext) -> Sequence[RemoteCall]:
        """The calls that deliver ``event``, in the order they are made.

        Raises:
            PermanentError: the event cannot be delivered to this target (names why).
        """
        ...

    def lookup(self, call: RemoteCall) -> Acknowledgement | None:
        """Whether the target already holds ``call``'s effect (by its ident); its documents if so.

        Raises:
            TransientError: the target cannot be asked now (the call stays in doubt).
        """
        ...

    def send(self, call: RemoteCall, earlier: Mapping[str, Acknowledgement]) -> Acknowledgement:
        """Make the call; ``earlier`` holds the acknowledgements of ``call.needs``.

        Raises:
            TransientError: retry later (lock, outage, lost reply: the call is in doubt).
            PermanentError: the target refused it for good (its message in the error).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def order_serial_key(event: SinkEvent) -> str:
    """The usual :meth:`RemoteSink.serial_key`: a report's production order, or a lot
    (``lot:<material>:<lot>``), so that an ERP gets each one's events in order."""
    payload = event.envelope.get("payload") or {}
    if event.entity == "lot":
        return f"lot:{payload.get('material_id')}:{payload.get('lot_id')}"
    return f"order:{payload.get('order_id', '')}"


def route_mappings(context: SinkContext, wanted: Sequence[str], names: Mapping[str, str], what: str) -> dict[str, Any]:
    """The reverse mapping of each document a route makes (``wanted``), by the route's
    ``mappings:`` names.

    Raises:
        ConfigError: no catalog, a document without a mapping, or a name the catalog lacks.
    """
    from bridge.errors import ConfigError

    if context.catalog is None:
        raise ConfigError(f"route {context.route}: the {what} sink needs the mapping catalog")
    missing = [document for document in wanted if document not in names]
    if missing:
        raise ConfigError(f"route {context.route}: mappings: no mapping for {', '.join(missing)}")
    return {document: context.catalog.get(names[document]) for document in wanted}


@dataclass(frozen=True)
class SinkContext:
    """What an adapter's sink factory gets from the runtime.

    Attributes:
        route: the route's name.
        settings: the adapter's validated model of the route's own keys (None when it takes none).
        channel: opens a broker channel by name (sinks that publish).
        mes_exchange: the exchange MES events go to.
        confirm_timeout: the broker's confirm timeout.
        catalog: the mapping catalog (reverse mappings to the target).
    """

    route: str
    settings: Any = None
    channel: Callable[[str], Any] | None = None
    mes_exchange: str = "mes.events"
    confirm_timeout: float = 30.0
    catalog: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


SinkMode = Literal["transactional", "remote"]
