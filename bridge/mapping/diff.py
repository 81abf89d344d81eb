"""What a change to a mapping would change: the old and the new version run over the raw
documents the ledger archived, their canonical outputs compared.

``bridge mapping diff mappings/sap/batmas_lot.yaml --raw-since 7d`` (old version: ``git show
HEAD:...``, or ``--against OLD_FILE``) decodes every archived document of the mapping's source
system received in the window, keeps those of its document types, maps each with both versions
and the same clock (the moment the archive received it, as the translate stage does, so
``occurred_at`` and versions from it do not show as changes) and reports per document::

    raw-17 (BATMAS03 0000000000620001): 1 event(s) changed
      ~ sap:S4HCLNT100:0000000000620001:lot  (changed; event changed)
          payload.status: "restricted" -> "blocked"
    sap.batmas.lot: ... 2 document(s) read, 1 unchanged, 1 changed; errors: old 0, new 0

Events are matched by ``message_id`` (deterministic per document, entity and item); an event
only the new version produces is ``added``, one only the old produces ``removed``. A document a
version refuses counts as an error of that version; one that no codec option decodes is
``undecodable`` (it never reached a mapping in the runtime either).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.document import Codec, SourceDocument
from bridge.errors import BridgeError, ConfigError, MappingDefinitionError
from bridge.mapping.loader import compile_mapping, load_mapping
from bridge.mapping.lookups import LookupTable
from bridge.mapping.mapping import CompiledMapping
from bridge.mapping.yaml_source import load_yaml_file

__all__ = [
    "ABSENT",
    "DiffSummary",
    "DocumentDiff",
    "EventChange",
    "FieldChange",
    "compare_document",
    "diff_documents",
    "event_changes",
    "field_changes",
    "load_git_version",
    "load_version",
    "parse_since",
]

#: Seconds ``git show`` may take before the old version counts as unreadable.
GIT_TIMEOUT_S = 30


class _Absent:
    """A value one side does not have (a field left out, a shorter list)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs: ``path`` (``payload.components[1].quantity.value``), old, new;
    :data:`ABSENT` on the side without it."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class EventChange:
    """One canonical event that differs between the versions.

    Attributes:
        change: ``added`` (only the new version gives it), ``removed`` or ``changed``.
        message_id: the event's message id.
        event: the event name (of the new version, else the old).
        fields: the differing fields of a changed event.
    """

    change: str
    message_id: str
    event: str | None
    fields: tuple[FieldChange, ...] = ()


@dataclass
class DocumentDiff:
    """One archived document mapped with both versions.

    Attributes:
        message_id: the raw message's id in the archive.
        document_key: the document's own id (IDoc DOCNUM, bill number), else its fingerprint.
        document_type: its type.
        position: its place in the raw message (1-based) when the message holds several.
        events: the events that differ.
        old_error, new_error: why a version refused the document.
        notes: e.g. that a version does not read this document type.
        errors_differ: the versions refuse the document differently (or only one does).
    """

    message_id: str
    document_key: str
    document_type: str
    position: int | None = None
    events: list[EventChange] = field(default_factory=list)
    old_error: str | None = None
    new_error: str | None = None
    notes: list[str] = field(default_factory=list)
    errors_differ: bool = False

    @property
    def changed(self) -> bool:
        """Whether the versions' outputs (or their errors) differ."""
        return bool(self.events) or self.errors_differ


@dataclass
class DiffSummary:
    """Counts over a whole run.

    Attributes:
        scanned: raw messages read from the archive.
        read: documents of the mappings' types compared.
        unchanged, changed: of those.
        errors_old, errors_new: documents each version refused.
        undecodable: raw messages the codec could not decode.
        other: documents of other types, left out.
        limited: the run stopped at ``--limit``.
    """

    scanned: int = 0
    read: int = 0
    unchanged: int = 0
    changed: int = 0
    errors_old: int = 0
    errors_new: int = 0
    undecodable: int = 0
    other: int = 0
    limited: bool = False


# -- comparing --------------------------------------------------------------------------------


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every differing leaf of two JSON-like values (objects by key, lists by position)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[FieldChange] = []
        for key in [*old, *(k for k in new if k not in old)]:
            found.extend(field_changes(old.get(key, ABSENT), new.get(key, ABSENT), f"{path}.{key}" if path else str(key)))
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            found.extend(field_changes(old[index] if index < len(old) else ABSENT,
                                       new[index] if index < len(new) else ABSENT, f"{path}[{index}]"))
        return found
    if old is ABSENT and new is ABSENT:
        return []
    if type(old) is type(new) and old == new:
        return []
    return [FieldChange(path or "$", old, new)]


def event_changes(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[EventChange]:
    """The events that differ, matched by message id (then by order among equal ids)."""
    before, after = _by_id(old), _by_id(new)
    changes: list[EventChange] = []
    for key, envelope in after.items():
        previous = before.get(key)
        if previous is None:
            changes.append(EventChange("added", key[0], envelope.get("event")))
            continue
        fields = field_changes(previous, envelope)
        if fields:
            changes.append(EventChange("changed", key[0], envelope.get("event"), tuple(fields)))
    changes.extend(EventChange("removed", key[0], envelope.get("event")) for key, envelope in before.items()
                   if key not in after)
    return changes


def _by_id(envelopes: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    keyed: dict[tuple[str, int], Mapping[str, Any]] = {}
    seen: dict[str, int] = {}
    for envelope in envelopes:
        message_id = str(envelope.get("message_id"))
        seen[message_id] = seen.get(message_id, 0) + 1
        keyed[(message_id, seen[message_id])] = envelope
    return keyed


def _reads(mapping: CompiledMapping, document: SourceDocument) -> bool:
    return bool(({document.document_type, document.extension} - {None}) & set(mapping.documents))


def _run(mapping: CompiledMapping, document: SourceDocument, clock: Callable[[], datetime]
         ) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return mapping.apply(document, clock=clock), None
    except BridgeError as exc:
        return [], f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug met by this document: the translate stage dead-letters it so too
        return [], f"unexpected {type(exc).__name__}: {exc}"


def compare_document(
    old: CompiledMapping, new: CompiledMapping, document: SourceDocument, *, message_id: str,
    clock: Callable[[], datetime], position: int | None = None,
) -> DocumentDiff:
    """Map one document with both versions (same clock) and compare what they give."""
    diff = DocumentDiff(message_id, document.document_id or document.fingerprint or "-", document.document_type,
                        position)
    outputs = []
    for name, mapping in (("old", old), ("new", new)):
        if _reads(mapping, document):
            outputs.append(_run(mapping, document, clock))
        else:
            diff.notes.append(f"the {name} version does not read {document.document_type}")
            outputs.append(([], None))
    (old_events, diff.old_error), (new_events, diff.new_error) = outputs
    # the versions' own file names are in their messages: compare the messages without them
    diff.errors_differ = _bare(diff.old_error, old) != _bare(diff.new_error, new)
    diff.events = event_changes(old_events, new_events)
    return diff


def _bare(error: str | None, mapping: CompiledMapping) -> str | None:
    return None if error is None else error.replace(mapping.label, "<mapping>").replace(mapping.file, "<file>")


def diff_documents(
    old: CompiledMapping,
    new: CompiledMapping,
    archived: Iterable[Any],
    *,
    codec: Codec,
    codec_options: Mapping[str, Any] | None = None,
    limit: int | None = None,
    summary: DiffSummary | None = None,
) -> Iterator[DocumentDiff]:
    """The comparison of each archived document (``message_id``, ``payload``, ``received_at``
    as :func:`bridge.reconcile.ledger_sides.archived_documents` yields them) of the versions'
    document types, counted in ``summary``; stops after ``limit`` documents."""
    summary = summary if summary is not None else DiffSummary()
    options = dict(codec_options or {})
    for raw in archived:
        if limit is not None and summary.read >= limit:
            summary.limited = True
            return
        summary.scanned += 1
        try:
            documents = codec.decode(raw.payload, origin=raw.message_id, **options)
        except (BridgeError, ValueError):
            summary.undecodable += 1
            continue
        received = raw.received_at
        for position, document in enumerate(documents, start=1):
            if document.canonical_entities or not (_reads(old, document) or _reads(new, document)):
                summary.other += 1
                continue
            if limit is not None and summary.read >= limit:
                summary.limited = True
                return
            diff = compare_document(old, new, document, message_id=raw.message_id, clock=lambda r=received: r,
                                    position=position if len(documents) > 1 else None)
            summary.read += 1
            summary.errors_old += diff.old_error is not None
            summary.errors_new += diff.new_error is not None
            if diff.changed:
                summary.changed += 1
            else:
                summary.unchanged += 1
            yield diff


# -- loading the versions -----------------------------------------------------------------------


def parse_since(text: str, now: datetime) -> datetime:
    """``now`` minus a duration: ``7d``, ``2w``, ``12h``, ``30m``, ``90s`` or seconds.

    Raises:
        ConfigError: not a duration.
    """
    from bridge.config import parse_duration

    try:
        return now - timedelta(seconds=parse_duration(text))
    except (ConfigError, OverflowError):
        raise ConfigError(f"--raw-since {text!r}: not a duration (e.g. 30m, 12h, 7d, 2w)") from None


def load_version(path: Path, lookups: Mapping[str, LookupTable], timezones: Mapping[str, str] | None) -> CompiledMapping:
    """One version of the mapping, from a file (MappingDefinitionError when it does not compile)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such mapping file")
    return load_mapping(path, lookups, timezones=timezones)


def load_git_version(path: Path, ref: str, lookups: Mapping[str, LookupTable],
                     timezones: Mapping[str, str] | None) -> CompiledMapping:
    """The mapping as ``git show REF:path`` gives it, named ``REF:path`` in messages.

    Raises:
        ConfigError: git is missing, the ref or the file at it does not exist.
        MappingDefinitionError: that version does not compile.
    """
    if not ref or ref.startswith("-") or not ref.isprintable():
        raise ConfigError(f"--git-ref {ref!r}: not a git revision")
    label = f"{ref}:{path}"
    try:
        shown = subprocess.run(  # a fixed argument list, no shell
            ["git", "-C", str(path.resolve().parent), "show", f"{ref}:./{path.name}"],
            capture_output=True, timeout=GIT_TIMEOUT_S, check=False,
        )
    except FileNotFoundError:
        raise ConfigError("--git-ref: git is not installed (give the old version with --against)") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"--git-ref {ref}: git show failed: {exc}") from None
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"--git-ref {ref}: no {label} ({reason[0] if reason else f'git exit {shown.returncode}'})")
    with tempfile.TemporaryDirectory(prefix="bridge-mapping-diff-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(shown.stdout)
        try:
            data = load_yaml_file(copy)
        except MappingDefinitionError as exc:
            raise MappingDefinitionError(str(exc).replace(str(copy), label)) from None
    return compile_mapping(data, label, lookups, timezones=timezones)


def lookups_folder(mapping_file: Path, mappings_dir: Path | None) -> Path | None:
    """Where the shared lookup tables are: ``<mappings_dir>/lookups`` when it exists, else the
    nearest ``lookups/`` folder above the mapping file."""
    if mappings_dir is not None and (mappings_dir / "lookups").is_dir():
        return mappings_dir / "lookups"
    for folder in mapping_file.resolve().parents:
        if (folder / "lookups").is_dir():
            return folder / "lookups"
    return None
