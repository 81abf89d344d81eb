"""A file sink for trials: one canonical envelope per line (JSON lines), exactly once.

The sink is *stateful*: the ledger keeps the byte offset the file had when the last delivery
committed, in the same transaction as the delivery's idempotency keys. Before each write the
sink cuts off whatever lies beyond that offset (lines written by a delivery whose transaction
never committed because the process was killed), so every event is in the file exactly once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from bridge.errors import TransientError
from bridge.sinks.base import SinkItem, body_of

__all__ = ["FileSink"]

log = logging.getLogger(__name__)


class FileSink:
    """Appends envelopes to a JSON-lines file."""

    stateful = True

    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path)

    def write(self, items: Sequence[SinkItem], state: str | None = None) -> str:
        """Append and fsync after the committed offset ``state``; return the new offset.

        Raises:
            TransientError: an OS error (disk full, permissions, a missing folder).
        """
        data = b"".join(body_of(item) + b"\n" for item in items)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                size = handle.seek(0, os.SEEK_END)
                committed = int(state) if state else size
                if size > committed:
                    log.warning(
                        "%s: dropping %d uncommitted byte(s) after offset %d",
                        self.path,
                        size - committed,
                        committed,
                    )
                    handle.truncate(committed)
                elif size < committed:
                    log.warning(
                        "%s is shorter than its committed offset %d (rotated?); appending at %d",
                        self.path,
                        committed,
                        size,
                    )
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                return str(handle.tell())
        except OSError as exc:
            raise TransientError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Nothing held open between batches."""
