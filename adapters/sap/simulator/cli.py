"""``bridge simulate sap``: run the SAP simulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.sap.simulator.context import parse_periods
from adapters.sap.simulator.server import SapSimulator
from bridge.errors import ConfigError
from bridge.receivers.auth import secret_from_env
from bridge.simulation.faults import FaultSettings, fault_options
from bridge.simulation.serving import serve_until_signalled

__all__ = ["sap"]


def _secret(value: str | None, variable: str) -> str | None:
    """The option's value, else ``$variable`` or ``$variable_FILE`` (so it stays out of ``ps``)."""
    return value if value is not None else secret_from_env(variable, required=False)


@click.command("sap")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: a free one, printed at start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--user", default=None, help="Basic-auth user every caller must send.")
@click.option("--password", default=None,
              help="Its password (default $SAP_SIM_PASSWORD or the file named by $SAP_SIM_PASSWORD_FILE).")
@click.option("--client", default="100", show_default=True, help="SAP client in the endpoint paths.")
@click.option("--seed", "seeds", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="LOIPRO/MATMAS/BATMAS IDoc file (flat or XML) to seed from; repeatable.")
@click.option("--stock", multiple=True, metavar="MATERIAL:PLANT:BATCH=QTY",
              help="Unrestricted stock of a batch; repeatable (BATMAS batches start with 1000).")
@click.option("--open-periods", default=None, metavar="YYYY/MM,YYYY/MM",
              help="Open posting periods (default: the current and the previous month).")
@click.option("--push-to", default=None, metavar="URL", help="POST the seed IDocs to this receiver after start.")
@click.option("--push-user", default=None, help="Basic-auth user for --push-to.")
@click.option("--push-password", default=None,
              help="Its password (default $SAP_SIM_PUSH_PASSWORD or $SAP_SIM_PUSH_PASSWORD_FILE).")
@fault_options
def sap(port: int, host: str, user: str | None, password: str | None, client: str, seeds: tuple[Path, ...],
        stock: tuple[str, ...], open_periods: str | None, push_to: str | None, push_user: str | None,
        push_password: str | None, faults: FaultSettings) -> None:
    """Play SAP: the BAPI web services, their WSDLs, an IDoc endpoint and a push port."""
    try:
        password = _secret(password, "SAP_SIM_PASSWORD") if user else password
        push_password = _secret(push_password, "SAP_SIM_PUSH_PASSWORD") if push_user else push_password
        if user and not password:
            raise ConfigError("--user needs --password (or $SAP_SIM_PASSWORD / $SAP_SIM_PASSWORD_FILE)")
        if password and not user:
            raise ConfigError("--password needs --user")
        periods = parse_periods(open_periods) if open_periods else None
        simulator = SapSimulator(host, port, user=user, password=password, client=client, seeds=seeds,
                                 stock=stock, faults=faults, open_periods=periods, push_to=push_to,
                                 push_user=push_user, push_password=push_password)
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    def banner() -> str:
        return (f"SAP simulator: index {simulator.url}/ (client {client}, {len(simulator.state.orders)} orders, "
                f"{len(simulator.state.batches)} batches)")

    serve_until_signalled(simulator, "SAP", banner, address=f"{host}:{port}")
