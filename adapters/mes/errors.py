"""What the MES's answers mean for a message (the MES adapter's error table).

The bridge reaches the MES through the broker (``mes.events``) or, where a site has one, the
MES's HTTP API; these rows classify what either answers. Integrators put rows of their own in
front (:meth:`bridge.adapter.ErrorTable.with_overrides`).
"""

from __future__ import annotations

from bridge.adapter import ErrorFacts, ErrorKind, ErrorRule, ErrorTable

__all__ = ["ERRORS"]


def _transport(name: str) -> type[Exception]:
    """An exception class called ``name`` (rows match client libraries' classes by name)."""
    return type(name, (Exception,), {})


ERRORS = ErrorTable(
    "mes",
    (
        ErrorRule(
            ErrorKind.CONFIGURATION,
            "the MES refused the bridge's credentials (HTTP 401/403): check the token or user",
            status=(401, 403),
            example=ErrorFacts(status=401),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the MES did not answer in time (HTTP 408)",
            status=408,
            example=ErrorFacts(status=408),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the MES holds the object elsewhere (HTTP 409 with a lock)",
            status=409,
            text="lock",
            example=ErrorFacts(status=409, text="order 1895938 is locked by another station"),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the MES asks to slow down (HTTP 429)",
            status=429,
            example=ErrorFacts(status=429),
        ),
        ErrorRule(
            ErrorKind.PERMANENT,
            "the MES refused the payload (HTTP 4xx): its answer says which field",
            status=(400, 499),
            example=ErrorFacts(status=422, text="operation 0010 unknown for order 1895938"),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the MES or the network in between is unavailable (HTTP 5xx)",
            status=(500, 599),
            example=ErrorFacts(status=503),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "no connection to the MES",
            exception="ConnectionError",
            example=ErrorFacts(exception=ConnectionRefusedError(111, "Connection refused")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the MES did not answer in time",
            exception="TimeoutError",
            example=ErrorFacts(exception=TimeoutError("timed out")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the HTTP transport to the MES failed",
            exception="TransportError",  # httpx.TransportError
            example=ErrorFacts(exception=_transport("TransportError")("connection reset")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the broker connection to the MES exchange was lost",
            exception="AMQPConnectionError",  # pika.exceptions.AMQPConnectionError
            example=ErrorFacts(exception=_transport("AMQPConnectionError")("connection lost")),
        ),
    ),
)
