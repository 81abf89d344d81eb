"""``bridge mapping scaffold`` and ``bridge mapping diff``: start a mapping from a sample
document (:mod:`bridge.mapping.scaffold`); see which canonical outputs a change to a mapping
would change over the raw documents the ledger archived (:mod:`bridge.mapping.diff`).

Both are plain click commands, added to the ``bridge mapping`` group by :mod:`bridge.cli_mapping`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli_kit import config_option, definitions_option, encoding_option, load_settings_logged, reported
from bridge.errors import ConfigError

__all__ = ["mapping_diff", "mapping_scaffold"]

_ENTITIES = ("order", "report", "material", "lot")


# -- scaffold ---------------------------------------------------------------------------------


@click.command("scaffold")
@click.argument("sample", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--system", help="Source system of the sample (default: detected from the bytes, as translate does).")
@click.option("--entity", type=click.Choice(_ENTITIES),
              help="Canonical entity the documents become (default: the one existing mappings of the type give).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to (default: <mappings>/<system>/).")
@click.option("--mappings", "mappings_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of mapping files (default $BRIDGE_MAPPINGS_DIR or ./mappings).")
@definitions_option
@encoding_option
def mapping_scaffold(sample: Path, system: str | None, entity: str | None, out_dir: Path | None,
                     mappings_dir: Path | None, definitions: Sequence[Path], encoding: str | None) -> None:
    """Write a starting mapping and its cases file from the sample document SAMPLE.

    The mapping lists every source field of the sample (path = value) in comments and leaves
    the entity's required canonical fields for you to fill; the cases file runs the sample.
    Existing files are never overwritten.
    """
    from bridge.mapping.scaffold import build_scaffold, write_scaffold

    with reported():
        scaffold = build_scaffold(
            sample, system=system, entity=entity, out=out_dir, mappings_dir=mappings_dir,
            codec_options={"definitions": list(definitions), "encoding": encoding},
        )
        write_scaffold(scaffold)
    for warning in scaffold.warnings:
        click.echo(f"bridge: warning: {warning}", err=True)
    click.echo(f"wrote {scaffold.mapping_file}  (mapping {scaffold.name}: "
               f"{scaffold.system} {scaffold.document_type} -> {scaffold.entity})")
    click.echo(f"wrote {scaffold.cases_file}")
    click.echo(f"next: fill in the fields: block, then `bridge mapping test {scaffold.cases_file.parent}`")


# -- diff -------------------------------------------------------------------------------------


@click.command("diff")
@click.argument("mapping_file", type=click.Path(path_type=Path))
@click.option("--against", "old_file", type=click.Path(path_type=Path), default=None,
              help="The old version of the mapping as a file.")
@click.option("--git-ref", default=None,
              help="Take the old version from git at this revision (default HEAD when --against is not given).")
@click.option("--raw-since", default="7d", show_default=True,
              help="Read the documents archived in this past period (30m, 12h, 7d, 2w).")
@config_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Compare at most N documents.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (changed documents and the summary) on stdout.")
def mapping_diff(mapping_file: Path, old_file: Path | None, git_ref: str | None, raw_since: str,
                 config_path: Path | None, limit: int | None, as_json: bool) -> None:
    """Run the old and the new version of MAPPING_FILE over the raw documents the ledger archived
    and show which canonical outputs would change (per document, field by field)."""
    from bridge.mapping import diff

    with reported():
        if old_file is not None and git_ref is not None:
            raise ConfigError("--against and --git-ref both give the old version: choose one")
        since = diff.parse_since(raw_since, datetime.now(UTC))
        settings = load_settings_logged(config_path)
        new, old = _versions(mapping_file, old_file, git_ref or "HEAD", settings)
        against = old.file
        summary = diff.DiffSummary()
        changed: list[dict[str, Any]] = []
        ledger = _open_ledger(settings)
        try:
            for document in _compare(ledger, old, new, settings, since, limit, summary):
                if as_json:
                    changed.append(_document_json(document))
                else:
                    _echo_document(document)
        finally:
            ledger.close()
    head = {"mapping": new.name, "file": new.file, "against": against, "system": new.system,
            "documents": sorted(set(new.documents) | set(old.documents)), "since": since.isoformat()}
    if as_json:
        click.echo(json.dumps({**head, "changed": changed, "summary": vars(summary)}, ensure_ascii=False, default=str))
        return
    click.echo(_summary_line(summary, head))


def _versions(mapping_file: Path, old_file: Path | None, git_ref: str, settings: Any) -> tuple[Any, Any]:
    from bridge.mapping.diff import load_git_version, load_version, lookups_folder
    from bridge.mapping.lookups import load_lookup_dir
    from bridge.source_options import source_timezones

    if not mapping_file.is_file():
        raise ConfigError(f"{mapping_file}: no such mapping file")
    timezones = source_timezones(settings)
    folder = lookups_folder(mapping_file, Path(settings.mappings_dir))
    lookups = load_lookup_dir(folder) if folder is not None else {}
    new = load_version(mapping_file, lookups, timezones)
    old = (load_version(old_file, lookups, timezones) if old_file is not None
           else load_git_version(mapping_file, git_ref, lookups, timezones))
    for version in (new, old):
        if version.direction != "to_canonical":
            raise ConfigError(f"{version.label}: maps canonical envelopes to {version.system}; "
                              "diff runs mappings that read source documents (to canonical)")
    if old.system != new.system:
        raise ConfigError(f"{old.label} reads {old.system} documents, {new.label} {new.system}: not two versions of one mapping")
    return new, old


def _open_ledger(settings: Any) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from bridge.ledger import Ledger

    try:
        url = make_url(settings.database_url.reveal())
    except ArgumentError:
        url = None  # Ledger.connect names the problem
    local = url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if local and not Path(str(url.database)).is_file():  # reading must not leave an empty ledger behind
        raise ConfigError(f"database_url {settings.database_url}: no ledger at {url.database}")
    # read only: a ledger of another schema version is refused, not migrated
    return Ledger.connect(settings.database_url, migrate=False, busy_timeout=settings.ledger.busy_timeout_s)


def _compare(ledger: Any, old: Any, new: Any, settings: Any, since: datetime, limit: int | None,
             summary: Any) -> Iterator[Any]:
    from bridge.codecs import codec_for
    from bridge.mapping.diff import diff_documents
    from bridge.reconcile.ledger_sides import archived_documents
    from bridge.source_options import codec_options

    codec = codec_for(new.system)
    options = codec_options(settings).get(new.system, {})
    archived = archived_documents(ledger, new.system, since)
    for document in diff_documents(old, new, archived, codec=codec, codec_options=options, limit=limit,
                                   summary=summary):
        if document.changed:
            yield document


# -- output -----------------------------------------------------------------------------------


def _value(value: Any) -> str:
    from bridge.mapping.diff import ABSENT

    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if text.isprintable() else json.dumps(value, default=str)


def _document_name(document: Any) -> str:
    where = f" #{document.position}" if document.position else ""
    return f"{document.message_id}{where} ({document.document_type} {document.document_key})"


def _echo_document(document: Any) -> None:
    counts: dict[str, int] = {}
    for event in document.events:
        counts[event.change] = counts.get(event.change, 0) + 1
    parts = [f"{n} event(s) {change}" for change, n in counts.items()]
    if document.errors_differ:
        parts.append("errors differ")
    click.echo(f"{_line(_document_name(document))}: {', '.join(parts) or 'changed'}")
    for note in document.notes:
        click.echo(f"  note: {note}")
    for side, error in (("old", document.old_error), ("new", document.new_error)):
        if error:
            click.echo(f"  ! {side}: {_line(error)}")
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for event in document.events:
        click.echo(f"  {marks[event.change]} {_line(event.message_id)}  ({event.change}; event {_line(str(event.event))})")
        for change in event.fields:
            click.echo(f"      {_line(change.path)}: {_value(change.old)} -> {_value(change.new)}")


def _line(text: str) -> str:
    """One line, whatever the document put into it."""
    one = " | ".join(str(text).splitlines())
    return one if one.isprintable() else json.dumps(one)[1:-1]


def _document_json(document: Any) -> dict[str, Any]:
    from bridge.mapping.diff import ABSENT

    def field_json(change: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"path": change.path}
        for side in ("old", "new"):
            value = getattr(change, side)
            if value is not ABSENT:
                item[side] = value
        return item

    return {
        "message_id": document.message_id,
        "position": document.position,
        "document_key": document.document_key,
        "document_type": document.document_type,
        "old_error": document.old_error,
        "new_error": document.new_error,
        "notes": document.notes,
        "events": [
            {"change": e.change, "message_id": e.message_id, "event": e.event,
             "fields": [field_json(c) for c in e.fields]}
            for e in document.events
        ],
    }


def _summary_line(summary: Any, head: dict[str, Any]) -> str:
    extra = []
    if summary.undecodable:
        extra.append(f"{summary.undecodable} undecodable")
    if summary.other:
        extra.append(f"{summary.other} of other types left out")
    if summary.limited:
        extra.append("stopped at --limit")
    tail = f" ({', '.join(extra)})" if extra else ""
    return (
        f"{head['mapping']}: {head['file']} against {head['against']}, {head['system']} "
        f"{'/'.join(head['documents'])} archived since {head['since']}: "
        f"{summary.read} document(s) read, {summary.unchanged} unchanged, {summary.changed} changed; "
        f"errors: old {summary.errors_old}, new {summary.errors_new}{tail}"
    )
