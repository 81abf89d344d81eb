"""What an adapter offers the runtime: one object per external system, found by entry point.

An adapter is a package (``adapters/sap/``, or a third party's own distribution) that exposes
one :class:`Adapter` under the entry point group :data:`bridge.adapter.registry.ENTRY_POINT_GROUP`::

    [project.entry-points."erp_mes_bridge.adapters"]
    sap = "adapters.sap.adapter:adapter"

The runtime looks adapters up by system name and never imports a vendor module by name. The
roles: a codec (bytes -> the tree mappings walk), payload formats (a reverse mapping's
``target.format``), mapping transforms that only make sense for this system (SAP dates, ALPHA
keys), subcommands for the CLI (``bridge idoc show``), the error table, sources (receivers and
watchers), a sink, a query (what the target holds) and a simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bridge.adapter.errors import ErrorTable
from bridge.adapter.sink import SinkContext
from bridge.document import Codec

if TYPE_CHECKING:
    import click

__all__ = ["Adapter", "Serialiser", "SourceSettingsModel"]

#: ``render(document_type, payload) -> bytes``: a target payload in one wire format.
Serialiser = Callable[[str, dict[str, Any]], bytes]


class SourceSettingsModel(Protocol):
    """A pydantic model of an adapter's keys in ``sources.<system>`` (beyond ``timezone``)."""

    @classmethod
    def model_validate(cls, obj: Any) -> SourceSettingsModel: ...

    def codec_options(self) -> dict[str, Any]:
        """The options the adapter's codec decodes the system's documents with."""
        ...


@dataclass(frozen=True)
class Adapter:
    """One external system's roles, each optional.

    Attributes:
        name: the system name used in configuration and message ids (``sap``, ``kingdee``).
        codec: builds the system's codec (called once per process).
        formats: payload serialisers by format name (``rfc-xml``); names are global.
        transforms: mapping transforms by name (``sap_date``); names are global and must not
            shadow the built-in ones.
        commands: ``bridge`` subcommands of this system (``idoc`` with ``idoc show``); names
            are global.
        source_settings: validates the adapter's keys in ``sources.<system>`` (pydantic;
            errors name the key) and turns them into codec options.
        errors: what each failure of the system means (transient, permanent, configuration);
            integrators put rows of their own in front (:meth:`ErrorTable.with_overrides`).
        route_settings: validates a route's own keys (``path`` of a file route, a SAP target's
            URL and services) when the route's ``sink`` names this adapter.
        sink: builds the sink of one route (:mod:`bridge.adapter.sink`).
        sources: builds the receivers and watchers of one source system (``sources.<system>``):
            ``sources(system, settings, context) -> [Source]`` (:mod:`bridge.adapter.source`).
        query: builds the reader of one target (``query(QueryContext) -> Query``,
            :mod:`bridge.adapter.query`): what the target holds, for reconciliation.
        views: the reconciliation views over that query, by view name (``orders``,
            ``quantities``, ``consumption``, ``genealogy``; :mod:`bridge.reconcile.views`).
        order_feeds: the feeds of the system's poller that bring its production orders
            (watermarks ``<name>:<feed>``), set back by ``bridge reconcile run --repair`` to read
            an order again; empty for a system that pushes its orders.
        simulator: ``bridge simulate <name>``: the system played for demos and tests.
    """

    name: str
    codec: Callable[[], Codec] | None = None
    formats: Mapping[str, Serialiser] = field(default_factory=dict)
    transforms: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    commands: tuple[click.Command, ...] = ()
    errors: ErrorTable | None = None
    source_settings: type[SourceSettingsModel] | None = None
    route_settings: type[Any] | None = None
    sink: Callable[[SinkContext], Any] | None = None
    sources: Callable[..., Sequence[Any]] | None = None
    query: Callable[..., Any] | None = None
    views: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    order_feeds: tuple[str, ...] = ()
    simulator: click.Command | None = None
