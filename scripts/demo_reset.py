"""Delete the queues of the configuration's topology (``BRIDGE_CONFIG``, as `bridge run` reads it),
so that a demo loop starts empty and leaves no queue bound to the shared MES exchanges behind:
the loops share ``mes.events`` and ``mes.feedback``, and a queue left bound there would collect
the next loop's traffic. Only for the demo; exchanges stay (declaring them again is idempotent).

Usage: BRIDGE_CONFIG=examples/kingdee-loop.yaml .venv/bin/python scripts/demo_reset.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.config import load_settings
from bridge.runtime import topology_for


def main() -> None:
    settings = load_settings()
    topology = topology_for(settings)
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url.reveal()))
    try:
        channel = connection.channel()
        for queue in topology.queues:
            channel.queue_delete(queue.name)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
