"""Receivers: the HTTP endpoints through which other systems hand documents to the bridge.

A receiver is a handler ``(HttpRequest) -> HttpResponse`` registered for one method and path on
the bridge's HTTP port (:class:`bridge.observability.http.HealthServer` ``routes``). It
authenticates the caller (:mod:`bridge.receivers.auth`), reads the body within a limit checked
before reading (:meth:`HttpRequest.read_body`), and answers 2xx only once the broker has
confirmed what it received.
"""

from bridge.receivers.auth import BasicCredentials, Credentials, TokenCredentials, secret_from_env
from bridge.receivers.request import BodyError, HttpRequest, HttpResponse, Route

__all__ = [
    "BasicCredentials",
    "BodyError",
    "Credentials",
    "HttpRequest",
    "HttpResponse",
    "Route",
    "TokenCredentials",
    "secret_from_env",
]
