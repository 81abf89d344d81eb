"""``POST /api/v1/sap/idoc``: SAP (an XML-HTTP port, PI/CPI, a SOAP IDoc sender) posts IDocs.

The body is IDoc-XML (``<LOIPRO05><IDOC BEGIN="1">...``, several ``IDOC`` elements allowed: an
XML-HTTP port may batch), a SOAP 1.1 envelope whose Body holds one IDoc-XML document (the
namespace ``urn:sap-com:document:sap:idoc:soap:messages``; the document itself is ingested, see
:mod:`adapters.sap.soap_envelope`), or a flat IDoc file sent as ``text/plain``. One body is one
raw message (its id from the first IDoc's DOCNUM and sender, or the content hash of a batch).

Answers: 200 only after the ingest path returned, i.e. after the ledger archived the bytes and
the broker confirmed them (JSON ``{"status": "accepted", "message_ids": [...]}``; for the SOAP
form an envelope with an empty Body); 503 with ``Retry-After`` when the broker or the ledger
could not take it in time, so SAP sends again (same bytes, same id). Refused at once: bad
credentials (401 with ``WWW-Authenticate``), a body over the limit (413, before it is read),
another media type (415). A document that does not decode is ingested all the same (translate
dead-letters it) and answered 400 with the reason; one from another client or logical system
than configured is answered 400 and not ingested (:mod:`adapters.sap.inbound`). The SOAP form
hears what is found once its body was read as a SOAP Fault (``Client`` for 400, ``Server`` for
5xx). An envelope whose Body does not hold exactly one document is answered 400 and ingested as
sent (SAP puts one IDoc in an envelope, message EA728).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from adapters.sap.inbound import WrongSystemError, check_system, examine
from adapters.sap.settings import IDocReceiverSettings, SapSourceSettings
from adapters.sap.soap_envelope import is_soap_envelope, soap_fault, soap_reply, unwrap_idoc
from bridge.adapter.source import SourceContext
from bridge.errors import ConfigError, DecodeError
from bridge.receivers import BasicCredentials, BodyError, HttpRequest, HttpResponse, Route, secret_from_env
from bridge.receivers.handover import RETRY_AFTER_S, NotTaken, hand_over
from bridge.redaction import redact

__all__ = ["RETRY_AFTER_S", "IDocReceiver", "credentials_from_env"]

log = logging.getLogger(__name__)

# application/x-sap.idoc: what SAP-XML senders (the XML-HTTP port, adapters) declare; an
# octet stream is what some middleware says of anything: the body decides
_XML_TYPES = frozenset(
    {
        "application/xml",
        "text/xml",
        "application/soap+xml",
        "application/x-sap.idoc",
        "application/octet-stream",
    }
)
_FLAT_TYPES = frozenset({"text/plain"})

Ingest = Callable[[Sequence[tuple[bytes, str]]], Sequence[Any]]


def credentials_from_env(
    settings: IDocReceiverSettings, env: Mapping[str, str] | None = None
) -> BasicCredentials:
    """The basic-auth pair SAP must send, from the variables the settings name.

    Raises:
        ConfigError: either variable is unset (names both, never a secret), or a variable and
            its ``_FILE`` twin are both set.
    """
    user = secret_from_env(settings.user_env, env, required=False)
    password = secret_from_env(settings.password_env, env, required=False)
    if user is None or password is None:
        raise ConfigError(
            f"SAP IDoc receiver ({settings.path}) has no credentials; set {settings.user_env} and "
            f"{settings.password_env} (or {settings.user_env}_FILE and {settings.password_env}_FILE)"
        )
    return BasicCredentials(user, password)


def _media_type(content_type: str | None) -> str | None:
    return content_type.split(";", 1)[0].strip().lower() if content_type else None


class IDocReceiver:
    """The SAP IDoc route (a :class:`bridge.adapter.source.Source`).

    Args:
        context: the source context (ingest, codec and its options).
        credentials: the basic-auth pair SAP sends.
        settings: the system's SAP settings (receiver path and limit, client, logical system).
    """

    name = "sap-idoc-receiver"

    def __init__(
        self, context: SourceContext, credentials: BasicCredentials, settings: SapSourceSettings
    ) -> None:
        self.context = context
        self.credentials = credentials
        self.settings = settings
        self.receiver = settings.receiver
        self.routes = (Route("POST", self.receiver.path, self.handle),)

    def start(self) -> None:
        """Nothing to start: the bridge's HTTP server serves :attr:`routes`."""

    def stop(self) -> None:
        """Nothing to stop: a request in hand finishes (or SAP sends it again)."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Authenticate, read, unwrap, check, ingest; 200 once the broker confirmed (module docstring)."""
        if not self.credentials.allows(request):
            return HttpResponse.error(
                401, "authentication required", **{"WWW-Authenticate": 'Basic realm="erp-mes-bridge"'}
            )
        media = _media_type(request.header("content-type"))
        if media is not None and media not in _XML_TYPES | _FLAT_TYPES and not media.endswith("+xml"):
            return HttpResponse.error(
                415,
                "the body must be IDoc-XML (application/xml, text/xml, application/x-sap.idoc), "
                f"a SOAP envelope or a flat IDoc (text/plain), got {media!r}",
            )
        try:
            body = request.read_body(self.receiver.max_body_bytes)
        except BodyError as exc:
            return HttpResponse.error(exc.status, exc.reason)
        origin = f"POST {self.receiver.path} from {request.client or 'unknown'}"
        document, answer, unreadable = self._unwrapped(body, media, origin)
        if unreadable is None:
            examined = examine(self.context, document, origin)
            unreadable = examined.unreadable
            try:
                check_system(self.settings, examined.documents)
            except WrongSystemError as exc:
                log.warning("%s: refused, not ingested: %s", origin, exc)
                return answer.error(400, f"refused, not ingested: {exc}")
        try:
            raw = hand_over(self.context.ingest, [(document, origin)], "IDoc", request.client)
        except NotTaken as refused:
            return answer.error(refused.status, refused.text, **refused.headers)
        message_ids = [d.message_id for d in raw]
        if unreadable is not None:
            log.warning(
                "IDoc ingested as %s for the dead-letter queue, answered 400: %s",
                message_ids,
                redact(unreadable),
            )
            return answer.error(400, f"not a readable IDoc document (kept by the bridge): {unreadable}")
        return answer.accepted(message_ids)

    def _unwrapped(self, body: bytes, media: str | None, origin: str) -> tuple[bytes, _Answer, str | None]:
        """What to ingest, how to answer, and why the envelope is unreadable (None: it is not)."""
        if media in _FLAT_TYPES or not is_soap_envelope(body):
            return body, _JsonAnswer(), None
        try:
            unwrapped = unwrap_idoc(body, source=origin, max_bytes=self.receiver.max_body_bytes)
        except DecodeError as exc:
            return body, _SoapAnswer(), str(exc)  # ingested as sent: the bytes are kept
        if unwrapped is None:  # the sniff was wrong: not a SOAP envelope after all
            return body, _JsonAnswer(), None
        return unwrapped, _SoapAnswer(), None


class _Answer(Protocol):
    """How the sender hears the outcome."""

    def accepted(self, message_ids: list[str]) -> HttpResponse: ...

    def error(self, status: int, reason: str, **headers: str) -> HttpResponse: ...


class _JsonAnswer:
    """Answers for IDoc-XML and flat bodies."""

    def accepted(self, message_ids: list[str]) -> HttpResponse:
        return HttpResponse.json(200, {"status": "accepted", "message_ids": message_ids})

    def error(self, status: int, reason: str, **headers: str) -> HttpResponse:
        return HttpResponse.error(status, reason, **headers)


class _SoapAnswer:
    """Answers for SOAP-wrapped IDocs: an envelope, a Fault for each error."""

    def accepted(self, message_ids: list[str]) -> HttpResponse:
        return HttpResponse(200, soap_reply(), "text/xml; charset=utf-8")

    def error(self, status: int, reason: str, **headers: str) -> HttpResponse:
        code = "Client" if status < 500 else "Server"
        return HttpResponse(status, soap_fault(code, reason), "text/xml; charset=utf-8", dict(headers))
