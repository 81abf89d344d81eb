"""``bridge simulate <system>``: the simulators the installed adapters bring (``Adapter.simulator``),
found through the registry: the CLI names no vendor."""

from __future__ import annotations

import click

from bridge.cli_kit import reported

__all__ = ["simulate"]


class _SimulateGroup(click.Group):
    """``bridge simulate <system>``: the simulator each installed adapter brings."""

    def _simulators(self) -> dict[str, click.Command]:
        from bridge.adapter import adapters

        with reported():
            return {name: a.simulator for name, a in adapters().items() if a.simulator is not None}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._simulators())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._simulators().get(cmd_name)


@click.group(cls=_SimulateGroup)
def simulate() -> None:
    """Play an external system (SAP, ...) for demos and tests."""
