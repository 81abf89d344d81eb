"""The ``bridge`` command line: translate documents, inspect IDocs, test and lint mappings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from bridge.cli_config import config
from bridge.cli_dlq import dlq
from bridge.cli_kit import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    DocumentFiles,
    Progress,
    config_option,
    configure_one_shot_logging,
    counted,
    definitions_option,
    document_files,
    encoding_option,
    fail,
    load_settings_logged,
    reported,
    strict_option,
    verbose_option,
)
from bridge.cli_mapping import mapping, mappings_option
from bridge.cli_reconcile import reconcile
from bridge.cli_simulate import simulate
from bridge.errors import BridgeError, ConfigError

__all__ = ["main"]

#: Commands that run until stopped: they log as the settings say (JSON lines by default). Every
#: other command is one-shot: it prints what a person needs and logs warnings only (``--verbose``).
SERVICE_COMMANDS = frozenset({"run", "simulate"})


class _BridgeGroup(click.Group):
    """The ``bridge`` group: its own commands plus those the installed adapters bring."""

    def _adapter_commands(self) -> dict[str, click.Command]:
        from bridge.adapter import adapters

        with reported():
            return {c.name: c for a in adapters().values() for c in a.commands if c.name}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._adapter_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._adapter_commands().get(cmd_name)


@click.group(cls=_BridgeGroup)
@click.version_option(package_name="erp-mes-bridge", prog_name="bridge")
@verbose_option
@click.pass_context
def main(ctx: click.Context) -> None:
    """erp-mes-bridge: connect a factory's ERP (SAP, Kingdee, Yonyou) with its MES."""
    if ctx.invoked_subcommand not in SERVICE_COMMANDS:
        configure_one_shot_logging()


# -- translate --------------------------------------------------------------------------


def _counting_translator(**options: Any) -> Any:
    """A :class:`~bridge.translate.Translator` that counts the documents it decoded (a file may
    hold several IDocs) in ``documents``; imported here, not at start-up: the CLI starts faster."""
    from bridge.translate import Translator

    class CountingTranslator(Translator):
        documents = 0

        def decode(self, data: bytes, origin: str) -> Any:
            documents = super().decode(data, origin)
            self.documents += len(documents)
            return documents

    return CountingTranslator.create(**options)


def _sniffer(source_system: str | None) -> tuple[Callable[[bytes], bool], str]:
    """Whether bytes look like a document, as translate reads them: the named system's codec
    recognises them, or (no system named) any codec does; and how to name that in a reason."""
    from bridge.codecs import codec_for, sniff_codec
    from bridge.errors import DecodeError

    if source_system:
        return codec_for(source_system).sniff, f"the {source_system} codec"

    def any_codec(data: bytes) -> bool:
        try:
            sniff_codec(data)
        except DecodeError:
            return False
        return True

    return any_codec, "any codec"


def _report_skipped(found: DocumentFiles, progress: Progress) -> None:
    for path, reason in found.skipped:
        progress.err(f"skipped {path}: not a document ({reason})")


def _summarised(paths: Sequence[Path], found: DocumentFiles) -> bool:
    """A run over a folder or several files ends with a summary line (one file needs none)."""
    return bool(found.folders) or len(paths) > 1


def _error_lines(path: Path, exc: BridgeError) -> list[str]:
    message = str(exc)
    if str(path.name) not in message:
        message = f"{path}: {message}"
    return [f"bridge: error: {line}" for line in message.splitlines()]


@main.command()
@click.argument("paths", metavar="FILES_OR_FOLDERS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mapping", "mapping_name", help="Use this mapping instead of choosing by document type.")
@click.option("--source-system", help="Source system of the files (default: detected from the bytes).")
@click.option("--document-type", help="Choose the mapping for this document type (e.g. LOIPRO05).")
@click.option("--target-system", help="A canonical envelope's target (sap, kingdee, yonyou): its reverse mapping.")
@click.option(
    "--idoc-type",
    help="Decode every IDoc as this basic type (e.g. LOIPRO05), whatever its control record's "
    "IDOCTYP says (EDI tools may put junk there).",
)
@definitions_option
@encoding_option
@mappings_option
@strict_option
@verbose_option
def translate(
    paths: Sequence[Path],
    mapping_name: str | None,
    source_system: str | None,
    document_type: str | None,
    target_system: str | None,
    idoc_type: str | None,
    definitions: Sequence[Path],
    encoding: str | None,
    mappings_dir: Path | None,
    strict: bool,
) -> None:
    """Translate source documents to canonical envelopes (JSON lines on stdout).

    Files and folders alike: a folder's files are read recursively, and those that are not
    documents (by extension, or because no codec recognises their first bytes) are skipped
    with one line each on stderr (``--strict``: refused). A canonical envelope (JSON) given as
    FILE goes the other way: the reverse mapping for its entity renders the target payload.
    What the decoder doubts (e.g. a flat line that ends inside a field) is printed as
    ``bridge: warning: FILE: line N: ...`` on stderr. Over a folder or several files, a
    progress counter (when stderr is a terminal) and a closing summary go to stderr: stdout
    holds only the output lines.
    """
    with reported():
        translator = _counting_translator(
            mappings_dir=mappings_dir,
            mapping_name=mapping_name,
            source_system=source_system,
            document_type=document_type,
            codec_options={"definitions": list(definitions), "idoc_type": idoc_type, "encoding": encoding},
            target_system=target_system,
        )
        sniff, reader = _sniffer(source_system)
        found = document_files(paths, sniff, reader=reader, strict=strict)
    documents = events = failures = 0
    with Progress("translate", len(found.files)) as progress:
        _report_skipped(found, progress)
        for path in found.files:
            decoded = translator.documents

            def warn(warning: str, path: Path = path) -> None:
                progress.err(f"bridge: warning: {path}: {warning}")

            try:
                for line in translator.translate_file(path, on_warning=warn):
                    progress.out(line)
                    events += 1
            except ConfigError as exc:
                progress.clear()
                fail(str(exc), EXIT_CONFIG)
            except BridgeError as exc:
                failures += 1
                for line in _error_lines(path, exc):
                    progress.err(line)
            else:  # a canonical envelope rendered to a target payload is one document too
                documents += max(1, translator.documents - decoded)
            progress.advance(path.name)
        if _summarised(paths, found):
            progress.err(
                f"{counted(documents, 'document')}, {counted(events, 'event')}, "
                f"{len(found.skipped)} skipped, {failures} failed"
            )
    if failures:
        sys.exit(EXIT_BAD_INPUT)


# -- runtime ----------------------------------------------------------------------------

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
    from bridge.runtime import ROLES, Runtime
    from bridge.supervisor import install_signal_handlers, run_processes

    with reported():
        settings = load_settings_logged(config_path, service=True)
        if workers > 1:
            argv = [*(["--config", str(config_path)] if config_path else []), *(f"--role={r}" for r in roles)]
            sys.exit(run_processes(argv, workers, settings))
        from bridge.observability.metrics import Metrics

        runtime = Runtime(settings, roles=tuple(roles) or ROLES, metrics=Metrics.default())
        install_signal_handlers(runtime)
        runtime.start(serve_http=not no_http)
    runtime.wait()


#: Documents read, archived and published together by ``bridge ingest`` (at most this many,
#: and no more bytes than INGEST_BATCH_BYTES unless one document alone is larger).
INGEST_BATCH = 200
INGEST_BATCH_BYTES = 64 * 1024 * 1024


def _ingest_batches(files: Sequence[Path]) -> list[list[Path]]:
    """Files in batches, each file's size checked against the document limit before any is read.

    Raises:
        DecodeError: a file is larger than the limit (nothing has been published yet).
        ConfigError: ``BRIDGE_MAX_DOCUMENT_BYTES`` is not a positive integer.
    """
    import os
    import stat

    from bridge.limits import max_document_bytes, too_large

    limit = max_document_bytes()
    batches: list[list[Path]] = []
    size = 0
    for path in files:
        try:
            info = os.stat(path)
            length = info.st_size if stat.S_ISREG(info.st_mode) else 0
        except OSError:
            length = 0  # read_input says what is wrong with it, in its turn
        if length > limit:
            raise too_large(length, limit, source=str(path))
        if not batches or len(batches[-1]) >= INGEST_BATCH or (batches[-1] and size + length > INGEST_BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += length
    return batches


@main.command()
@click.argument("paths", metavar="FILES_OR_FOLDERS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source-system", required=True, help="Source system of the documents (e.g. sap).")
@click.option(
    "--deadline",
    help="How long to wait for a restarting broker or a busy ledger, per batch and at start-up "
    "(e.g. 30s, 5m; default broker.ingest_deadline_s).",
)
@click.option(
    "--encoding",
    default=None,
    help="Encoding of flat IDoc files (as for translate), overriding sources.<system>.encoding "
    "while this command reads them; translate workers read the configuration's: set it there too.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decode, map and validate each document and print what would be published; publish "
    "nothing, write no ledger, connect to no broker.",
)
@strict_option
@config_option
@verbose_option
def ingest(
    paths: Sequence[Path],
    source_system: str,
    deadline: str | None,
    encoding: str | None,
    dry_run: bool,
    strict: bool,
    config_path: Path | None,
) -> None:
    """Publish source documents to the bridge; returns once the broker confirmed them.

    Files and folders alike: a folder's files are read recursively, and those the source
    system's codec does not recognise (or whose extension no document has) are skipped with
    one line each on stderr (``--strict``: refused before anything is published); a file named
    itself must be a document. Documents go in batches: each is printed (message id, routing
    key, file) once the broker confirmed it. A broker restart or a locked ledger is waited for,
    up to the deadline; then ingest fails with one line naming what it waited for and for how
    long. ``--dry-run`` prints the same lines plus each document's event count, with translate's
    reason for any it would dead-letter (exit 1 then), and changes nothing.
    """
    import time

    from bridge.codecs import codec_for
    from bridge.config import parse_duration

    started = time.monotonic()
    with reported():
        settings = load_settings_logged(config_path)
        found = document_files(
            paths, codec_for(source_system).sniff, reader=f"the {source_system} codec", strict=strict, check_named=True
        )
        batches = _ingest_batches(found.files)
        seconds, setting = settings.broker.ingest_deadline_s, "broker.ingest_deadline_s"
        if deadline is not None:
            try:
                seconds, setting = parse_duration(deadline), "--deadline"
            except ConfigError as exc:
                raise ConfigError(f"--deadline: {exc}") from None
        _check_codec_option(source_system, "encoding", encoding)  # before waiting for any service
    if dry_run:
        _ingest_dry_run(settings, source_system, encoding, found, batches)
        return
    ingested, rode = 0, ""
    with reported(), Progress("ingest", len(found.files)) as progress:
        _report_skipped(found, progress)
        if batches:  # nothing to publish: no broker, no ledger needed
            ingested, rode = _ingest_batches_run(
                settings, source_system, encoding, batches, progress, seconds=seconds, setting=setting
            )
        progress.err(
            f"{ingested} document(s) ingested and confirmed by the broker in "
            f"{time.monotonic() - started:.1f} s, {len(found.skipped)} skipped{rode}"
        )


def _ingest_batches_run(
    settings: Any,
    source_system: str,
    encoding: str | None,
    batches: list[list[Path]],
    progress: Progress,
    *,
    seconds: float,
    setting: str,
) -> tuple[int, str]:
    """Publish the batches; returns how many documents the broker confirmed and what was ridden through."""
    from bridge.pipeline.deadline import Deadline
    from bridge.runtime import Runtime
    from bridge.translate import read_input

    runtime = Runtime(settings, roles=("ingest",))
    Deadline(seconds, setting=setting).run(
        "the broker and the ledger to start ingest",
        lambda left: runtime.start(serve_http=False, connect_wait=max(1.0, min(30.0, left))),
    )
    try:
        ingestor = runtime.ingestor(deadline=seconds, deadline_setting=setting)
        _override_codec_option(ingestor, source_system, "encoding", encoding)
        for batch in batches:
            documents = ingestor.prepare([(read_input(f), f.name) for f in batch], source_system)
            for document in ingestor.ingest(documents):
                progress.out(f"{document.message_id}\t{document.routing_key}\t{document.origin}")
            progress.advance(batch[-1].name, len(batch))
    finally:
        runtime.stop()
    stats = ingestor.stats
    return stats.documents, f"; {stats.summary()}" if stats.summary() else ""


def _ingest_dry_run(
    settings: Any, system: str, encoding: str | None, found: DocumentFiles, batches: list[list[Path]]
) -> None:
    """What ``bridge ingest`` would publish, each document decoded, mapped and validated as
    translate would; no broker, no ledger. Exits 1 when translate would dead-letter one."""
    from bridge.codecs import codec_for
    from bridge.pipeline.ingest import identify
    from bridge.source_options import codec_options, load_catalog
    from bridge.translate import Translator, read_input

    dead = events = published = 0
    with reported(), Progress("ingest --dry-run", len(found.files)) as progress:
        codec = codec_for(system)
        options = dict(codec_options(settings).get(system, {}))
        if encoding:
            options["encoding"] = encoding
            try:
                codec.check_options(**options)
            except ConfigError as exc:
                raise ConfigError(f"--encoding: {exc}") from None
        translator = Translator(load_catalog(settings), source_system=system, codec_options=options)
        _report_skipped(found, progress)
        for path in (f for batch in batches for f in batch):
            data = read_input(path)
            raw = identify(data, system=system, origin=path.name, codec=codec, options=options)
            head = f"{raw.message_id}\t{raw.routing_key}\t{raw.origin}"
            try:
                count = 0
                for document in translator.decode(data, path.name):
                    for warning in document.warnings:
                        progress.err(f"bridge: warning: {path}: {warning}")
                    count += len(translator.map_document(document))
            except BridgeError as exc:
                problem: BridgeError | None = exc
            except Exception as exc:  # a decoder bug: translate dead-letters the document too
                problem = BridgeError(f"unexpected {type(exc).__name__}: {exc}")
            else:
                problem = None
            published += 1
            if problem is None:
                events += count
                progress.out(f"{head}\t{counted(count, 'event')}")
            else:
                dead += 1
                progress.out(f"{head}\tdead letter")
                for line in _error_lines(path, problem):
                    progress.err(f"{line} (translate would dead-letter it)")
            progress.advance(path.name)
        progress.err(
            f"dry run: {counted(published, 'document')} would be published ({counted(events, 'event')}, "
            f"{counted(dead, 'dead letter')}), {len(found.skipped)} skipped; nothing was published, "
            "no ledger was written"
        )
    if dead:
        sys.exit(EXIT_BAD_INPUT)


def _check_codec_option(system: str, name: str, value: Any) -> None:
    """Refuse a command-line codec option the system's codec would not take."""
    if not value:
        return
    from bridge.codecs import codec_for

    try:
        codec_for(system).check_options(**{name: value})
    except ConfigError as exc:
        raise ConfigError(f"--{name}: {exc}") from None


def _override_codec_option(ingestor: Any, system: str, name: str, value: Any) -> None:
    """A command-line codec option wins over the configuration's for this run.

    Raises:
        ConfigError: the codec refuses the option (checked before any document is read, since
            ingest files an undecodable document as type ``unknown`` rather than failing).
    """
    if not value:
        return
    options = dict(ingestor.codec_options)
    options[system] = {**options.get(system, {}), name: value}
    try:
        ingestor.codec_for(system).check_options(**options[system])
    except ConfigError as exc:
        raise ConfigError(f"--{name}: {exc}") from None
    ingestor.codec_options = options


@main.group()
def topology() -> None:
    """RabbitMQ exchanges and queues."""


@topology.command("declare")
@config_option
@verbose_option
def topology_declare(config_path: Path | None) -> None:
    """Declare every exchange, queue and binding (idempotent)."""
    from bridge.broker.declare import declare_topology
    from bridge.runtime import topology_for

    with reported():
        settings = load_settings_logged(config_path)
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
@verbose_option
def schema_export(directory: Path) -> None:
    """Write one JSON Schema file per canonical entity into DIRECTORY."""
    from bridge.canonical.schema_export import export_schemas

    for path in export_schemas(directory):
        click.echo(str(path))


main.add_command(mapping)
main.add_command(simulate)
main.add_command(dlq)
main.add_command(reconcile)
main.add_command(config)

if __name__ == "__main__":  # pragma: no cover
    main()
