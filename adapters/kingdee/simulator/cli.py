"""``bridge simulate kingdee``: run the K/3 Cloud simulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.kingdee.simulator.server import KingdeeSimulator
from bridge.errors import ConfigError
from bridge.receivers.auth import secret_from_env
from bridge.simulation.faults import FaultSettings, fault_options
from bridge.simulation.serving import serve_until_signalled

__all__ = ["kingdee_simulator"]


def _secret(value: str | None, variable: str) -> str | None:
    """The option's value (click reads ``$variable``), else the file named by ``$variable_FILE``."""
    return value if value else secret_from_env(variable, required=False)


@click.command("kingdee")
@click.option("--port", type=click.IntRange(0, 65535), default=8090, show_default=True,
              help="Port to listen on (0: a free one, printed at start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--acct-id", envvar="KINGDEE_ACCT_ID", required=True, help="The data center (账套) id callers name.")
@click.option("--user", envvar="KINGDEE_USER", required=True, help="The user callers log in as.")
@click.option("--app-id", envvar="KINGDEE_APP_ID", required=True,
              help="The third-party app's AppId (<clientId>_<encSecret>, as 第三方系统登录授权 issues it).")
@click.option("--app-secret", envvar="KINGDEE_APP_SECRET", default=None,
              help="The app's secret (default $KINGDEE_APP_SECRET or the file named by $KINGDEE_APP_SECRET_FILE).")
@click.option("--password", envvar="KINGDEE_PASSWORD", default=None,
              help="The user's password, enabling ValidateUser ($KINGDEE_PASSWORD or $KINGDEE_PASSWORD_FILE).")
@click.option("--virtual-directory", default="/k3cloud", show_default=True, help="The path the services live under.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A SQLite file keeping the bills across runs (default: in memory).")
@click.option("--seed", "seed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help='A JSON file {"BD_MATERIAL": [models], "PRD_MO": [models], ...}, seeded in its order, audited.')
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="The server's time zone.")
@click.option("--session-loss-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of calls before which the server forgets every session (0..1).")
@fault_options
def kingdee_simulator(port: int, host: str, acct_id: str, user: str, app_id: str, app_secret: str | None,
                      password: str | None, virtual_directory: str, store_path: Path | None, seed_file: Path | None,
                      timezone: str, session_loss_rate: float, faults: FaultSettings) -> None:
    """Play K/3 Cloud (金蝶云星空): its WebAPI, with bills that what is saved can be read back from."""
    try:
        secret = _secret(app_secret, "KINGDEE_APP_SECRET")
        if not secret:
            raise ConfigError("--app-secret is needed (or $KINGDEE_APP_SECRET / $KINGDEE_APP_SECRET_FILE)")
        simulator = KingdeeSimulator(acct_id=acct_id, user=user, app_id=app_id, app_secret=secret,
                                     password=_secret(password, "KINGDEE_PASSWORD"), store=store_path,
                                     timezone=timezone, faults=faults, session_loss_rate=session_loss_rate,
                                     host=host, port=port, virtual_directory=virtual_directory)
        seeded = simulator.seed_file(seed_file) if seed_file else 0
    except (ConfigError, ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    def banner() -> str:  # once listening: the URL has its port
        return (f"Kingdee simulator: {simulator.url} (data center {acct_id}, user {user}, {seeded} records seeded, "
                f"store {store_path or 'in memory'})")

    serve_until_signalled(simulator, "Kingdee", banner, address=f"{host}:{port}")


if __name__ == "__main__":
    kingdee_simulator()
