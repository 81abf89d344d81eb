"""``POST /api/v1/feedback``: the MES hands its feedback to the bridge over HTTP.

The body is one JSON document (a canonical ``report``/``lot`` envelope or a plain MES work
report, see :mod:`adapters.mes.codec`) or a JSON array of them, each then its own raw message
with its own id. The answer is 202 ``{"status": "accepted", "message_ids": [...]}`` only after
the ingest path returned, i.e. after the ledger archived the bytes and the broker confirmed
them; 503 (with ``Retry-After``) when the broker or the ledger could not take them in time, so
the MES sends again (same bytes, same ids: nothing is doubled).

What is refused at once, since the caller hears the reason synchronously: bad credentials (401
with ``WWW-Authenticate``), a body over the limit (413, before it is read), a body that is not
JSON (400 naming line and column) or a JSON array with something other than objects in it (400
naming the path). A JSON document that *is* an object is always accepted, even when it is not
valid: translate dead-letters it with each invalid field named, so nothing is dropped and the
operator sees it (``bridge dlq``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.mes.json_reader import json_path, load_json, split_array
from adapters.mes.settings import FeedbackSettings, MesSourceSettings
from bridge.adapter.source import SourceContext
from bridge.errors import ConfigError, DecodeError
from bridge.receivers import (
    BasicCredentials,
    BodyError,
    Credentials,
    HttpRequest,
    HttpResponse,
    Route,
    TokenCredentials,
    secret_from_env,
)
from bridge.receivers.handover import RETRY_AFTER_S, NotTaken, hand_over

__all__ = ["RETRY_AFTER_S", "FeedbackReceiver", "credentials_from_env", "sources"]

log = logging.getLogger(__name__)


Ingest = Callable[[Sequence[tuple[bytes, str]]], Sequence[Any]]


def credentials_from_env(settings: FeedbackSettings, env: Mapping[str, str] | None = None) -> list[Credentials]:
    """The bearer token and the basic-auth pair the settings name, those that are set.

    Raises:
        ConfigError: neither is set, only one of user and password is, or a variable and its
            ``_FILE`` twin are both set; the message names the variables, never a secret.
    """
    found: list[Credentials] = []
    token = secret_from_env(settings.token_env, env, required=False)
    if token is not None:
        found.append(TokenCredentials(token))
    user = secret_from_env(settings.user_env, env, required=False)
    password = secret_from_env(settings.password_env, env, required=False)
    if (user is None) != (password is None):
        missing = settings.password_env if password is None else settings.user_env
        raise ConfigError(f"MES feedback receiver: basic auth needs {missing} (or {missing}_FILE) as well")
    if user is not None and password is not None:
        found.append(BasicCredentials(user, password))
    if not found:
        raise ConfigError(
            f"MES feedback receiver ({settings.path}) has no credentials; set {settings.token_env} "
            f"(or {settings.token_env}_FILE) for a bearer token, or {settings.user_env} and "
            f"{settings.password_env} for basic auth"
        )
    return found


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # not said: the body decides
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class FeedbackReceiver:
    """The MES feedback route (a :class:`bridge.adapter.source.Source`).

    Args:
        ingest: ``ingest([(bytes, origin), ...]) -> [RawDocument]`` (SourceContext.ingest).
        credentials: who may post; at least one.
        settings: path and limits.
    """

    name = "mes-feedback"

    def __init__(self, ingest: Ingest, credentials: Sequence[Credentials], settings: FeedbackSettings) -> None:
        if not credentials:
            raise ConfigError(f"MES feedback receiver ({settings.path}) has no credentials")
        self.ingest = ingest
        self.credentials = tuple(credentials)
        self.settings = settings
        self.routes = (Route("POST", settings.path, self.handle),)
        challenges = sorted({c.scheme for c in self.credentials}, reverse=True)
        self._challenge = ", ".join(f'{scheme} realm="erp-mes-bridge"' for scheme in challenges)

    def start(self) -> None:
        """Nothing to start: the bridge's HTTP server serves :attr:`routes`."""

    def stop(self) -> None:
        """Nothing to stop: a request in hand finishes (or its caller sends it again)."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Authenticate, read, split, ingest; 202 once the broker confirmed (module docstring)."""
        if not any(c.allows(request) for c in self.credentials):
            return HttpResponse.error(401, "authentication required", **{"WWW-Authenticate": self._challenge})
        if not _is_json(request.header("content-type")):
            return HttpResponse.error(
                415, f"the body must be JSON (Content-Type application/json), got {request.header('content-type')!r}"
            )
        try:
            body = request.read_body(self.settings.max_body_bytes)
        except BodyError as exc:
            return HttpResponse.error(exc.status, exc.reason)
        try:
            documents = self._documents(body, request.client)
        except DecodeError as exc:
            return HttpResponse.error(400, str(exc))
        try:
            raw = hand_over(self.ingest, documents, "feedback", request.client)
        except NotTaken as refused:
            return HttpResponse.error(refused.status, refused.text, **refused.headers)
        return HttpResponse.json(202, {"status": "accepted", "message_ids": [d.message_id for d in raw]})

    def _documents(self, body: bytes, client: str) -> list[tuple[bytes, str]]:
        """The body's documents with their origins; DecodeError for a body that is not JSON."""
        value = load_json(body, max_bytes=self.settings.max_body_bytes)
        origin = f"POST {self.settings.path} from {client or 'unknown'}"
        if not isinstance(value, list):
            return [(body, origin)]
        if not value:
            raise DecodeError("$: an empty list holds no document")
        if len(value) > self.settings.max_documents:
            raise DecodeError(f"$: {len(value)} documents in one request; at most {self.settings.max_documents}")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise DecodeError(f"{json_path((index,))}: expected a JSON object (one document)")
        return [(part, f"{origin} [{index}]") for index, part in enumerate(split_array(body))]


def sources(context: SourceContext) -> list[FeedbackReceiver]:
    """The MES's sources from ``sources.mes``: the feedback receiver unless it is disabled.

    Raises:
        ConfigError: the receiver has no credentials (see :func:`credentials_from_env`).
    """
    settings = context.settings if isinstance(context.settings, MesSourceSettings) else MesSourceSettings()
    feedback = settings.feedback
    if not feedback.enabled:
        return []
    return [FeedbackReceiver(context.ingest, credentials_from_env(feedback, context.env), feedback)]
