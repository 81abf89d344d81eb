"""One HTTP request as a receiver sees it, and the answer it gives."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = ["BodyError", "HttpRequest", "HttpResponse", "Route"]


class BodyError(Exception):
    """The request body cannot be read: ``status`` is the answer (411, 413, 400)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class HttpRequest:
    """A request: method, path, query string, headers (names lower-case) and the body stream."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    stream: BinaryIO
    client: str = ""

    def header(self, name: str) -> str | None:
        """A header's value (case-insensitive name), or None."""
        return self.headers.get(name.lower())

    def read_body(self, limit: int) -> bytes:
        """The body, refused before reading when it is larger than ``limit`` bytes.

        Raises:
            BodyError: no Content-Length (411; chunked bodies are not taken), a length that is
                not a number (400), over the limit (413), or a body shorter than announced (400).
        """
        length_text = self.header("content-length")
        if length_text is None:
            raise BodyError(411, "a Content-Length header is required (chunked bodies are not accepted)")
        if not length_text.strip().isdigit():
            raise BodyError(400, f"Content-Length {length_text[:40]!r} is not a number of bytes")
        length = int(length_text)
        if length > limit:
            raise BodyError(413, f"the body has {length} bytes; this endpoint takes at most {limit}")
        body = self.stream.read(length) if length else b""
        if len(body) != length:
            raise BodyError(400, f"the body ended after {len(body)} of {length} announced bytes")
        return body


@dataclass
class HttpResponse:
    """What a receiver answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> HttpResponse:
        """A JSON answer."""
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json", dict(headers))

    @classmethod
    def error(cls, status: int, reason: str, **headers: str) -> HttpResponse:
        """``{"status": "error", "error": reason}`` with ``status``."""
        return cls.json(status, {"status": "error", "error": reason}, **headers)


@dataclass(frozen=True)
class Route:
    """A receiver bound to one method and path."""

    method: str
    path: str
    handler: Callable[[HttpRequest], HttpResponse]
