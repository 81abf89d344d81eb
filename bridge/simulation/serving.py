"""What every ``bridge simulate <system>`` command does once its simulator is built: listen,
print one line saying where, serve until SIGINT or SIGTERM, stop cleanly."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import click

__all__ = ["serve_until_signalled"]


def serve_until_signalled(simulator: Any, name: str, banner: Callable[[], str], *, address: str) -> None:
    """Start ``simulator``, echo ``banner()``, block until a signal, then stop it (and close it
    when it has a store to close).

    Raises:
        click.ClickException: it cannot listen on ``address``.
    """
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            simulator.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {address}: {exc.strerror or exc}") from None
        try:
            click.echo(banner())
            sys.stdout.flush()
            stopping.wait()
        finally:
            simulator.stop()
            if hasattr(simulator, "close"):
                simulator.close()
            click.echo(f"{name} simulator stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
