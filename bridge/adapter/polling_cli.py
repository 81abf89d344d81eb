"""``bridge <system> positions`` and ``bridge <system> backfill``: where a polling source stands,
and setting it back so that the running poller reads a period again (the ledger absorbs what it
had taken in already). Adapters with a poller add :func:`position_commands` to their commands."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bridge.adapter.polling import Watermark, parse_local_time
from bridge.cli_kit import config_option, load_settings_logged, reported
from bridge.errors import ConfigError

__all__ = ["position_commands"]


def _ledger(config_path: Path | None) -> Any:
    from bridge.ledger import Ledger

    settings = load_settings_logged(config_path)
    return Ledger.connect(settings.database_url, busy_timeout=settings.ledger.busy_timeout_s)


def position_commands(system: str, feeds: Sequence[str], label: str = "feed") -> click.Group:
    """The ``bridge <system>`` group with ``positions`` and ``backfill`` for the system's feeds."""

    @click.group(name=system, help=f"The {system} poller's positions (watermarks) and backfill.")
    def group() -> None:
        pass

    @group.command("positions")
    @config_option
    def positions(config_path: Path | None) -> None:
        """Where each polled feed stands: its watermark, when it moved and who set it."""
        with reported():
            ledger = _ledger(config_path)
            try:
                saved = {p.source: p for p in ledger.positions.all(f"{system}:")}
            finally:
                ledger.close()
            for feed in feeds:
                found = saved.get(f"{system}:{feed}")
                if found is None:
                    click.echo(f"{feed:<20} not polled yet")
                    continue
                mark = Watermark.from_text(found.position, f"position {found.source}")
                click.echo(f"{feed:<20} {mark.modified.isoformat(sep=' ', timespec='milliseconds')}"
                           f"{'  id ' + mark.id if mark.id else ''}  (set {found.updated_at:%Y-%m-%d %H:%M:%S} UTC by {found.updated_by})")

    @group.command("backfill")
    @config_option
    @click.option("--since", required=True, help=f"Read again from this {system} local time (2026-01-01 or 2026-01-01 08:00:00).")
    @click.option(f"--{label}", "chosen", multiple=True, type=click.Choice(list(feeds)),
                  help=f"Only this {label} (repeatable; default: all).")
    @click.option("--by", default=None, help="Who asks (default: the login name); recorded with the position.")
    def backfill(config_path: Path | None, since: str, chosen: tuple[str, ...], by: str | None) -> None:
        """Set the watermark back: the running poller reads from there on its next poll."""
        with reported():
            moment = parse_local_time(since, "--since")
            who = by or _login()
            ledger = _ledger(config_path)
            try:
                for feed in chosen or feeds:
                    ledger.positions.set(f"{system}:{feed}", Watermark(moment).to_text(), by=f"backfill by {who}")
                    click.echo(f"{feed}: polled again from {moment.isoformat(sep=' ')} on the next poll")
            finally:
                ledger.close()

    return group


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise ConfigError("who asks for the backfill? (no login name: pass --by)") from None
