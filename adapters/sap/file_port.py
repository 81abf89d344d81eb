"""The file port: a watched directory SAP (or anything else) writes flat or XML IDoc files into.

Every ``poll_s`` seconds the watcher first finishes what ``processing/`` still holds (left by a
crash, or by a broker that could not take it), then takes each new regular file matching the
pattern and older than ``min_age_s`` (a younger one may still be being written), in name
order: renamed into ``processing/`` (atomic: no other reader takes it), read (the size limit
checked first), ingested, then renamed into ``processed/``, or into ``error/`` with
``<name>.reason.txt`` beside it. A name already taken there gets a number (``a.1.xml``): nothing
is overwritten.

Nothing is lost and nothing is published twice:

- a file that does not decode is still ingested (translate dead-letters it) and goes to error/;
- a file whose message id the ledger journaled as ingested (the same content came before, or
  a crash came after publishing) goes to processed/ without being published again; the id is
  the ingest path's own (:func:`bridge.pipeline.ingest.identify`);
- when ingest fails for a while (broker or ledger away) the file stays in processing/ and is
  tried again at the next look;
- a file too large or unreadable, or from another client or logical system than configured
  (:mod:`adapters.sap.inbound`), is not ingested and goes to error/ with the reason.

Each move is logged, never a file's contents.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from adapters.sap.inbound import WrongSystemError, check_system, examine
from adapters.sap.settings import FilePortSettings, SapSourceSettings
from bridge.adapter.source import SourceContext
from bridge.errors import BridgeError, ConfigError, DecodeError
from bridge.limits import max_document_bytes, read_document
from bridge.pipeline.ingest import identify

__all__ = ["PROCESSED", "PROCESSING", "REFUSED", "FilePort"]

log = logging.getLogger(__name__)

PROCESSING = "processing"
PROCESSED = "processed"
REFUSED = "error"
REASON_SUFFIX = ".reason.txt"


class FilePort:
    """Watches one directory (a :class:`bridge.adapter.source.Source` without routes).

    Args:
        context: the source context (ingest, codec, already_ingested).
        settings: the system's SAP settings; ``settings.file_port`` must be set.
        clock: wall-clock seconds, compared with the files' modification times.
    """

    name = "sap-file-port"
    routes = ()

    def __init__(
        self, context: SourceContext, settings: SapSourceSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        if settings.file_port is None:
            raise ConfigError("sources.sap.file_port is not configured")
        self.context = context
        self.settings = settings
        self.port: FilePortSettings = settings.file_port
        self.directory = self.port.directory
        self.processing = self.directory / PROCESSING
        self.processed = self.directory / PROCESSED
        self.refused = self.directory / REFUSED
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Check the directory and make its three folders.

        Raises:
            ConfigError: the directory does not exist or is not a folder.
        """
        if not self.directory.is_dir():
            raise ConfigError(f"sources.sap.file_port.directory: {self.directory} is not an existing folder")
        for folder in (self.processing, self.processed, self.refused):
            folder.mkdir(exist_ok=True)

    def start(self) -> None:
        """Prepare the directory and watch it from a thread until :meth:`stop`."""
        self.prepare()
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"file-port-{self.directory.name}", daemon=True
        )
        self._thread.start()
        log.info("file port watching %s (%s) every %s s", self.directory, self.port.pattern, self.port.poll_s)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching; the file in hand is finished first (or left in processing/)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # the watcher must not die: the next look tries again
                log.exception("file port %s: the look at the directory failed", self.directory)
            if self._stopping.wait(self.port.poll_s):
                break

    # -- one look -------------------------------------------------------------------------

    def poll_once(self) -> None:
        """Finish what processing/ holds, then take the new files (module docstring)."""
        for path in sorted(self._regular_files(self.processing)):
            if self._stopping.is_set() or not self._finish(path):
                return
        now = self._clock()
        for path in sorted(self._regular_files(self.directory)):
            if self._stopping.is_set():
                return
            if not fnmatch.fnmatchcase(path.name, self.port.pattern):
                continue
            taken = self.processing / path.name
            if taken.exists():
                continue  # a file of that name is not finished yet: this one waits its turn
            try:
                if now - path.lstat().st_mtime < self.port.min_age_s:
                    continue  # may still be being written
                os.rename(path, taken)
            except FileNotFoundError:
                continue  # taken away by someone else since the directory was listed
            log.info("file port: took %s into %s/", path.name, PROCESSING)
            if not self._finish(taken):
                return

    @staticmethod
    def _regular_files(folder: Path) -> list[Path]:
        with os.scandir(folder) as entries:
            return [
                Path(entry.path)
                for entry in entries
                if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False)
            ]

    def _finish(self, path: Path) -> bool:
        """Ingest one file in processing/ and move it on; False when ingest must wait."""
        origin = str(self.directory / path.name)
        try:
            data = read_document(path, max_document_bytes())
        except DecodeError as exc:
            self._refuse(path, f"not ingested: {exc}")
            return True
        examined = examine(self.context, data, origin)
        try:
            check_system(self.settings, examined.documents)
        except WrongSystemError as exc:
            self._refuse(path, f"refused, not ingested: {exc}")
            return True
        try:
            message_id = self._message_id(data, origin)
            if message_id is not None and self._was_ingested(message_id):
                log.info(
                    "file port: %s was ingested before as %s; not published again", path.name, message_id
                )
                if examined.unreadable is not None:
                    self._refuse(
                        path, f"ingested before as {message_id} (dead-lettered): {examined.unreadable}"
                    )
                else:
                    self._move(path, self.processed)
                return True
            raw = self.context.ingest([(data, origin)])
        except BridgeError as exc:
            log.warning("file port: %s stays in %s/ for the next look: %s", path.name, PROCESSING, exc)
            return False
        ids = ", ".join(d.message_id for d in raw)
        if examined.unreadable is not None:
            self._refuse(path, f"ingested as {ids} for the dead-letter queue: {examined.unreadable}")
        else:
            self._move(path, self.processed)
        return True

    def _message_id(self, data: bytes, origin: str) -> str | None:
        if self.context.codec is None or self.context.already_ingested is None:
            return None
        return identify(
            data,
            system=self.context.system,
            origin=origin,
            codec=self.context.codec,
            options=self.context.codec_options,
        ).message_id

    def _was_ingested(self, message_id: str) -> bool:
        assert self.context.already_ingested is not None
        return message_id in self.context.already_ingested([message_id])

    # -- moves ----------------------------------------------------------------------------

    def _move(self, path: Path, folder: Path) -> Path:
        target = _free_name(folder, path.name)
        os.rename(path, target)
        log.info("file port: moved %s to %s/%s", path.name, folder.name, target.name)
        return target

    def _refuse(self, path: Path, reason: str) -> None:
        target = self._move(path, self.refused)
        reason_file = target.with_name(target.name + REASON_SUFFIX)
        reason_file.write_text(reason.rstrip() + "\n", encoding="utf-8")
        log.warning("file port: %s is in %s/; the reason is in %s", path.name, REFUSED, reason_file.name)


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>.<n><suffix>`` when that (or its reason file) exists."""
    stem, dot, suffix = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    candidate = folder / name
    number = 0
    while candidate.exists() or candidate.with_name(candidate.name + REASON_SUFFIX).exists():
        number += 1
        candidate = folder / (f"{stem}.{number}{dot}{suffix}" if dot else f"{name}.{number}")
    return candidate
