"""What the SAP receiver and file port decide about a document before and after ingesting it.

Both take the bytes as they came (a SOAP envelope is unwrapped first, see
:mod:`adapters.sap.soap_envelope`) and decode them once with the system's codec:

- a document that does not decode is still ingested (translate dead-letters it with the
  reason, so nothing is lost) and its sender hears why (HTTP 400, or the file goes to error/);
- a document that decodes but whose control record names another client (``MANDT``) or sender
  (``SNDPRN``) than ``sources.sap.client`` / ``logical_system`` is refused and NOT ingested:
  translate knows neither setting and would publish it as this system's orders; the sender
  keeps it (SAP's port marks the IDoc failed, the file stays in error/).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.sap.settings import SapSourceSettings
from bridge.adapter.source import SourceContext
from bridge.document import SourceDocument
from bridge.errors import BridgeError, PermanentError

__all__ = ["Examined", "WrongSystemError", "check_system", "examine", "settings_of"]

log = logging.getLogger(__name__)


class WrongSystemError(PermanentError):
    """The document's control record names another SAP client or logical system."""


@dataclass(frozen=True)
class Examined:
    """What decoding a document told.

    Attributes:
        documents: the IDocs it holds (empty when it did not decode or no codec was given).
        unreadable: why it does not decode (None when it does or could not be tried).
    """

    documents: tuple[SourceDocument, ...] = ()
    unreadable: str | None = None


def settings_of(context: SourceContext) -> SapSourceSettings:
    """The context's SAP settings, the defaults when ``sources.sap`` holds only a time zone."""
    return context.settings if isinstance(context.settings, SapSourceSettings) else SapSourceSettings()


def examine(context: SourceContext, data: bytes, origin: str) -> Examined:
    """Decode ``data`` with the context's codec; a failure is described, never raised."""
    if context.codec is None:
        return Examined()
    try:
        documents = context.codec.decode(data, origin=origin, **dict(context.codec_options))
    except BridgeError as exc:
        return Examined(unreadable=str(exc))
    except Exception as exc:  # a decoder bug: the ingest path dead-letters the document all the same
        log.warning("%s: the SAP decoder failed with an unexpected %s", origin, type(exc).__name__)
        return Examined(unreadable=f"the SAP decoder failed ({type(exc).__name__})")
    if not documents:
        return Examined(unreadable="the document holds no IDoc")
    return Examined(tuple(documents))


def check_system(settings: SapSourceSettings, documents: Sequence[SourceDocument]) -> None:
    """Refuse IDocs from another client or logical system than the settings name.

    Raises:
        WrongSystemError: names the IDoc, what it says and what was expected.
    """
    for document in documents:
        label = f"IDoc {document.document_id or '(no DOCNUM)'}"
        if settings.logical_system and document.instance != settings.logical_system:
            raise WrongSystemError(
                f"{label} was sent by logical system {document.instance or '(no SNDPRN)'!s}, "
                f"this source is {settings.logical_system} (sources.sap.logical_system)"
            )
        client = document.meta.get("MANDT")
        if settings.client and client is not None and client != settings.client:
            raise WrongSystemError(
                f"{label} comes from client {client}, "
                f"this source is client {settings.client} (sources.sap.client)"
            )
