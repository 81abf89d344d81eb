"""``bridge dlq``: list, show, replay and purge dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bridge.cli_kit import config_option, load_settings_logged, reported, verbose_option
from bridge.errors import ConfigError

__all__ = ["dlq"]

_dry_run_option = click.option(
    "--dry-run", is_flag=True, help="List what would be done and change nothing (every dead letter stays)."
)


def _dlq_filters(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--id", "ids", multiple=True, help="Only this message id (repeatable)."),
        click.option("--source-system", help="Only dead letters from this source system (e.g. sap)."),
        click.option("--document-type", help="Only this document type (e.g. LOIPRO05)."),
        click.option("--error-class", help="Only this error class (e.g. MappingError, TransientError)."),
        click.option("--older-than", help="Only dead letters older than this (e.g. 10m, 2h)."),
        click.option("--newer-than", help="Only dead letters newer than this (e.g. 30m)."),
        click.option("--queue", help="Only this dead-letter queue or its work queue."),
    ]
    for option in reversed(options):
        func = option(func)
    return config_option(verbose_option(func))


def _dlq_context(config_path: Path | None, filters: dict[str, Any]) -> tuple[Any, Any, list[str], Any]:
    from bridge.broker import dlq
    from bridge.config import parse_duration
    from bridge.runtime import topology_for

    settings = load_settings_logged(config_path)
    try:
        older = parse_duration(filters["older_than"]) if filters.get("older_than") else None
        newer = parse_duration(filters["newer_than"]) if filters.get("newer_than") else None
    except ValueError as exc:
        raise ConfigError(f"--older-than/--newer-than: {exc}") from exc
    criteria = dlq.DeadLetterFilter(
        ids=tuple(filters.get("ids") or ()),
        source_system=filters.get("source_system"),
        document_type=filters.get("document_type"),
        error_class=filters.get("error_class"),
        older_than_s=older,
        newer_than_s=newer,
        queue=filters.get("queue"),
    )
    return dlq, settings, dlq.dead_letter_queues(topology_for(settings)), criteria


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _dead_letter_json(dl: Any) -> dict[str, Any]:
    return {
        "id": dl.id,
        "queue": dl.queue,
        "source_system": dl.source_system,
        "document_type": dl.document_type,
        "document_id": dl.document_id,
        "stage": dl.stage,
        "error_class": dl.error_class,
        "error_message": dl.error_message,
        "mapping": dl.mapping,
        "field": dl.field,
        "attempts": dl.attempts,
        "first_failure": dl.first_failure.isoformat() if dl.first_failure else None,
        "last_failure": dl.last_failure.isoformat() if dl.last_failure else None,
        "age_seconds": dl.age_seconds,
        "original_exchange": dl.original_exchange,
        "original_routing_key": dl.original_routing_key,
        "replay_count": dl.replay_count,
    }


@click.group()
def dlq() -> None:
    """Operate dead letters: list, show, replay, purge."""


@dlq.command("list")
@_dlq_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def dlq_list(config_path: Path | None, as_json: bool, **filters: Any) -> None:
    """List dead letters (nothing is removed)."""
    from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

    with reported():
        module, settings, queues, criteria = _dlq_context(config_path, filters)
        with RabbitDeadLetterStore(settings.amqp_url) as store:
            letters = module.list_dead_letters(store, queues, criteria)
    if as_json:
        for dl in letters:
            click.echo(json.dumps(_dead_letter_json(dl), ensure_ascii=False))
        return
    width = max([len(dl.id) for dl in letters] + [2])
    header = f"{'ID':<{width}} {'SOURCE':<7} {'DOCTYPE':<9} {'DOCUMENT':<17} {'STAGE':<9} {'ERROR':<17} {'TRIES':>5} {'AGE':>5}  MESSAGE"
    click.echo(header)
    for dl in letters:
        message = (dl.error_message or "").replace("\n", " ")
        if len(message) > 120:  # where and why come last in bridge errors: keep the tail
            message = "…" + message[-119:]
        click.echo(
            f"{dl.id:<{width}} {dl.source_system or '-':<7} {dl.document_type or '-':<9} {dl.document_id or '-':<17} "
            f"{dl.stage or '-':<9} {dl.error_class or '-':<17} {dl.attempts:>5} {_age(dl.age_seconds):>5}  {message}"
        )
    click.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq.command("show")
@click.argument("message_id")
@config_option
@verbose_option
def dlq_show(message_id: str, config_path: Path | None) -> None:
    """Show one dead letter: its error, its headers and its decoded payload."""
    from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

    with reported():
        module, settings, queues, criteria = _dlq_context(config_path, {"ids": (message_id,)})
        with RabbitDeadLetterStore(settings.amqp_url) as store:
            letters = module.list_dead_letters(store, queues, criteria)
        if not letters:
            raise ConfigError(f"no dead letter with id {message_id!r}")
    for dl in letters:
        for key, value in _dead_letter_json(dl).items():
            click.echo(f"{key + ':':<22}{value if value is not None else '-'}")
        click.echo("payload:")
        click.echo(module.decode_payload(dl))


def _confirm_scope(criteria: Any, all_: bool, verb: str) -> None:
    if criteria.is_empty and not all_:
        raise ConfigError(f"{verb} needs a filter (--id, --source-system, --error-class, ...) or --all")


@dlq.command("replay")
@_dlq_filters
@click.option("--all", "all_", is_flag=True, help="Replay every dead letter (no filter).")
@click.option("--by", default=None, help="Who replays (default: the login name); recorded in a header.")
@_dry_run_option
def dlq_replay(config_path: Path | None, all_: bool, by: str | None, dry_run: bool, **filters: Any) -> None:
    """Send matching dead letters back to their original exchange and routing key."""
    import getpass

    from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

    with reported():
        module, settings, queues, criteria = _dlq_context(config_path, filters)
        _confirm_scope(criteria, all_, "replay")
        with RabbitDeadLetterStore(settings.amqp_url) as store:
            letters = module.replay(store, queues, criteria, by=by or getpass.getuser(), dry_run=dry_run)
    verb = "would replay" if dry_run else "replayed"
    for dl in letters:
        click.echo(f"{verb} {dl.id} -> {dl.original_exchange}/{dl.original_routing_key}")
    if dry_run:
        click.echo(f"{len(letters)} dead letter(s) would be replayed (dry run: nothing was changed)", err=True)
    else:
        click.echo(f"{len(letters)} dead letter(s) replayed", err=True)


@dlq.command("purge")
@_dlq_filters
@click.option("--all", "all_", is_flag=True, help="Purge every dead letter (no filter).")
@_dry_run_option
def dlq_purge(config_path: Path | None, all_: bool, dry_run: bool, **filters: Any) -> None:
    """Delete matching dead letters for good."""
    from bridge.broker.dlq_rabbitmq import RabbitDeadLetterStore

    with reported():
        module, settings, queues, criteria = _dlq_context(config_path, filters)
        _confirm_scope(criteria, all_, "purge")
        with RabbitDeadLetterStore(settings.amqp_url) as store:
            letters = module.purge(store, queues, criteria, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    for dl in letters:
        click.echo(f"{verb} {dl.id}")
    if dry_run:
        click.echo(f"{len(letters)} dead letter(s) would be purged (dry run: nothing was changed)", err=True)
    else:
        click.echo(f"{len(letters)} dead letter(s) purged", err=True)
