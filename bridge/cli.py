"""The ``bridge`` command line: translate documents, inspect IDocs, test and lint mappings."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from bridge.errors import BridgeError, ConfigError

__all__ = ["main"]

#: Exit codes: 1 a document could not be translated, 2 bad usage or configuration.
EXIT_BAD_INPUT = 1
EXIT_CONFIG = 2

mappings_option = click.option(
    "--mappings",
    "mappings_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of mapping files (default $BRIDGE_MAPPINGS_DIR or ./mappings).",
)
definitions_option = click.option(
    "--definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Extra SAP WE60 'parser' definition file or folder (repeatable).",
)


def _fail(message: str, code: int) -> NoReturn:
    for line in str(message).splitlines() or [""]:
        click.echo(f"bridge: error: {line}", err=True)
    sys.exit(code)


@contextmanager
def _reported() -> Iterator[None]:
    """Turn bridge errors into one-line messages and exit codes, never tracebacks."""
    try:
        yield
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except BridgeError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)


@click.group()
@click.version_option(package_name="erp-mes-bridge")
def main() -> None:
    """erp-mes-bridge: connect a factory's ERP (SAP, Kingdee, Yonyou) with its MES."""


# -- translate --------------------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mapping", "mapping_name", help="Use this mapping instead of choosing by document type.")
@click.option("--source-system", help="Source system of the files (default: detected from the bytes).")
@click.option("--document-type", help="Choose the mapping for this document type (e.g. LOIPRO05).")
@click.option("--idoc-type", help="IDoc type of flat files whose control record does not name it.")
@definitions_option
@mappings_option
def translate(
    files: Sequence[Path],
    mapping_name: str | None,
    source_system: str | None,
    document_type: str | None,
    idoc_type: str | None,
    definitions: Sequence[Path],
    mappings_dir: Path | None,
) -> None:
    """Translate source documents to canonical envelopes (JSON lines on stdout).

    A canonical envelope (JSON) given as FILE goes the other way: the reverse mapping for its
    entity renders the target payload.
    """
    from bridge.translate import Translator

    with _reported():
        translator = Translator.create(
            mappings_dir=mappings_dir,
            mapping_name=mapping_name,
            source_system=source_system,
            document_type=document_type,
            codec_options={"definitions": list(definitions), "idoc_type": idoc_type},
        )
    failures = 0
    for path in files:
        try:
            for line in translator.translate_file(path):
                click.echo(line)
        except ConfigError as exc:
            _fail(str(exc), EXIT_CONFIG)
        except BridgeError as exc:
            failures += 1
            message = str(exc)
            if str(path.name) not in message:
                message = f"{path}: {message}"
            for line in message.splitlines():
                click.echo(f"bridge: error: {line}", err=True)
    if failures:
        sys.exit(EXIT_BAD_INPUT)


# -- idoc -------------------------------------------------------------------------------


@main.group()
def idoc() -> None:
    """Inspect SAP IDocs."""


@idoc.command("show")
@click.argument("file", type=click.Path(path_type=Path))
@definitions_option
@click.option("--idoc-type", help="IDoc type of a flat file whose control record does not name it.")
def idoc_show(file: Path, definitions: Sequence[Path], idoc_type: str | None) -> None:
    """Print a parsed IDoc as JSON: control record and segment tree."""
    from bridge.translate import read_input

    with _reported():
        data = read_input(file)
        describe = _inspector("sap")
        shown = describe(data, origin=file.name, definitions=list(definitions), idoc_type=idoc_type)
        click.echo(json.dumps(shown[0] if len(shown) == 1 else shown, indent=2, ensure_ascii=False))


def _inspector(system: str) -> Callable[..., list[dict[str, Any]]]:
    """The adapter's document inspector, found by entry point (no vendor import by name)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="erp_mes_bridge.inspectors", name=system):
        return entry.load()
    raise ConfigError(f"no inspector registered for {system}")


# -- mapping ----------------------------------------------------------------------------


@main.group()
def mapping() -> None:
    """Test and lint YAML mappings."""


@mapping.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@mappings_option
@click.option("-v", "--verbose", is_flag=True, help="Also print details of passing cases.")
def mapping_test(path: Path | None, mappings_dir: Path | None, verbose: bool) -> None:
    """Run the test cases next to each mapping (or those below PATH) and print a table."""
    from bridge.mapping import MappingCatalog
    from bridge.mapping.testing import run_cases

    with _reported():
        catalog = MappingCatalog.load(mappings_dir)
        results = run_cases(catalog, path)
    if not results:
        _fail("no mapping test cases found", EXIT_CONFIG)
    width = max(len(r.case.id) for r in results)
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        click.echo(f"{status}  {result.case.id.ljust(width)}  {result.case.file.name}:{result.case.line}")
        if result.detail and (verbose or not result.passed):
            for line in result.detail.splitlines():
                click.echo(f"      {line}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@mapping.command("lint")
@mappings_option
def mapping_lint(mappings_dir: Path | None) -> None:
    """Validate every mapping against the schema; check transforms, lookups and paths exist."""
    from bridge.mapping import MappingCatalog

    with _reported():
        catalog = MappingCatalog.load(mappings_dir)
    for compiled in catalog:
        click.echo(f"ok  {compiled.name}  {compiled.file}")
    click.echo(f"{len(catalog.mappings)} mapping(s) valid, {len(catalog.lookups)} lookup table(s)")


# -- runtime ----------------------------------------------------------------------------

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Bridge configuration YAML (default $BRIDGE_CONFIG; built-in defaults without one).",
)


def _settings(config_path: Path | None) -> Any:
    from bridge.config import load_settings
    from bridge.observability.logging import configure_logging

    settings = load_settings(config_path)
    configure_logging(settings.log_level, settings.log_format)
    return settings


@main.command()
@config_option
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["ingest", "translate", "deliver"]),
    help="Run only this role (repeatable); default: every role.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (competing consumers, one connection each).",
)
@click.option("--no-http", is_flag=True, help="Do not serve /metrics, /healthz, /readyz.")
def run(config_path: Path | None, roles: Sequence[str], workers: int, no_http: bool) -> None:
    """Run the bridge: consume, translate and deliver until SIGTERM."""
    from bridge.runtime import ROLES, Runtime, install_signal_handlers, run_processes

    with _reported():
        settings = _settings(config_path)
        if workers > 1:
            argv = [*(["--config", str(config_path)] if config_path else []), *(f"--role={r}" for r in roles)]
            sys.exit(run_processes(argv, workers, settings))
        from bridge.observability.metrics import Metrics

        runtime = Runtime(settings, roles=tuple(roles) or ROLES, metrics=Metrics.default())
        install_signal_handlers(runtime)
        runtime.start(serve_http=not no_http)
    runtime.wait()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--source-system", required=True, help="Source system of the documents (e.g. sap).")
@config_option
def ingest(paths: Sequence[Path], source_system: str, config_path: Path | None) -> None:
    """Publish source documents to the bridge; returns once the broker confirmed them."""
    from bridge.broker.declare import declare_topology
    from bridge.runtime import Runtime, topology_for
    from bridge.translate import read_input

    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    with _reported():
        settings = _settings(config_path)
        declare_topology(settings.amqp_url, topology_for(settings))
        runtime = Runtime(settings, roles=("ingest",))
        runtime.start(serve_http=False)
        try:
            ingestor = runtime.ingestor()
            documents = ingestor.prepare([(read_input(f), f.name) for f in files], source_system)
            for start in range(0, len(documents), 200):
                ingestor.ingest(documents[start : start + 200])
        finally:
            runtime.stop()
    for document in documents:
        click.echo(f"{document.message_id}\t{document.routing_key}\t{document.origin}")
    click.echo(f"{len(documents)} document(s) ingested and confirmed by the broker", err=True)


@main.group()
def topology() -> None:
    """RabbitMQ exchanges and queues."""


@topology.command("declare")
@config_option
def topology_declare(config_path: Path | None) -> None:
    """Declare every exchange, queue and binding (idempotent)."""
    from bridge.broker.declare import declare_topology
    from bridge.runtime import topology_for

    with _reported():
        settings = _settings(config_path)
        plan = topology_for(settings)
        declare_topology(settings.amqp_url, plan)
    for exchange in plan.exchanges:
        click.echo(f"exchange {exchange.name} ({exchange.type})")
    for queue in plan.queues:
        click.echo(f"queue    {queue.name} {queue.arguments}")


# -- schema -----------------------------------------------------------------------------


@main.group()
def schema() -> None:
    """JSON Schemas of the canonical model."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schema_export(directory: Path) -> None:
    """Write one JSON Schema file per canonical entity into DIRECTORY."""
    from bridge.canonical.schema_export import export_schemas

    for path in export_schemas(directory):
        click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    main()
