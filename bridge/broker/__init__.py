"""RabbitMQ: names, topology, the pika connection, an in-memory stub, dead-letter operations."""

from bridge.broker.messages import Delivery, Headers, OutMessage
from bridge.broker.names import Names
from bridge.broker.topology import Topology, build_topology

__all__ = ["Delivery", "Headers", "Names", "OutMessage", "Topology", "build_topology"]
