"""``bridge simulate yonyou``: run the YonBIP simulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.yonyou.simulator.seeds import load_seed
from adapters.yonyou.simulator.server import YonyouSimulator
from bridge.errors import ConfigError
from bridge.receivers.auth import secret_from_env
from bridge.simulation.faults import FaultSettings, fault_options
from bridge.simulation.serving import serve_until_signalled

__all__ = ["DEMO_SEED", "yonyou"]

DEMO_SEED = Path(__file__).with_name("demo_seed.json")


def _secret(value: str | None, variable: str) -> str | None:
    """The option's value, else ``$variable`` or ``$variable_FILE`` (so it stays out of ``ps``)."""
    return value if value is not None else secret_from_env(variable, required=False)


def _store(value: Path | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.startswith("sqlite:///") else f"sqlite:///{text}"


@click.command("yonyou")
@click.option("--port", type=click.IntRange(0, 65535), default=8100, show_default=True,
              help="Port to listen on (0: a free one, printed at start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--app-key", default=None, help="The self-built app's key (default $YONYOU_APP_KEY or $YONYOU_APP_KEY_FILE).")
@click.option("--app-secret", default=None,
              help="Its secret (default $YONYOU_APP_SECRET or the file named by $YONYOU_APP_SECRET_FILE).")
@click.option("--tenant-id", default=None, help="The tenant getGatewayAddress knows (default: any).")
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the documents in this SQLite file (default: in memory).")
@click.option("--seed", "seeds", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON seed file (materials, batches, orders); repeatable. --demo seeds the bundled one.")
@click.option("--demo", is_flag=True, help=f"Seed {DEMO_SEED.name} (materials, lots, two production orders).")
@click.option("--token-ttl-s", type=click.FloatRange(min=1), default=7200, show_default=True,
              help="How long a token is valid (the expire the token service answers).")
@click.option("--token-expiry-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of gateway calls before which every token expires (0..1).")
@click.option("--contradict-counts", is_flag=True,
              help="Answer saves as the official finishedreport/save sample: row code 200, failCount 1.")
@fault_options
def yonyou(port: int, host: str, app_key: str | None, app_secret: str | None, tenant_id: str | None,
           store: Path | None, seeds: tuple[Path, ...], demo: bool, token_ttl_s: float, token_expiry_rate: float,
           contradict_counts: bool, faults: FaultSettings) -> None:
    """Play YonBIP: getGatewayAddress, the token service and the OpenAPI gateway on one port."""
    try:
        app_key = _secret(app_key, "YONYOU_APP_KEY")
        app_secret = _secret(app_secret, "YONYOU_APP_SECRET")
        if not app_key or not app_secret:
            raise ConfigError("give --app-key and --app-secret (or $YONYOU_APP_KEY / $YONYOU_APP_SECRET, or their _FILE)")
        simulator = YonyouSimulator(app_key=app_key, app_secret=app_secret, tenant_id=tenant_id, store=_store(store),
                                    faults=faults, token_ttl_s=token_ttl_s, token_expiry_rate=token_expiry_rate,
                                    contradict_counts=contradict_counts, host=host, port=port)
        counts = {"materials": 0, "batches": 0, "orders": 0}
        for seed in (DEMO_SEED, *seeds) if demo else seeds:
            for section, count in load_seed(simulator, seed).items():
                counts[section] += count
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    def banner() -> str:  # once listening: the URL has its port
        return (f"Yonyou simulator: {simulator.url} (tenant {tenant_id or 'any'}; {counts['materials']} materials, "
                f"{counts['batches']} lots, {counts['orders']} production orders)")

    serve_until_signalled(simulator, "Yonyou", banner, address=f"{host}:{port}")
