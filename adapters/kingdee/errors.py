"""What K/3 Cloud's answers mean for a message: its ``MsgCode`` (reference kingdee-yonyou §1.4),
HTTP statuses and connection failures -> transient, permanent or configuration."""

from __future__ import annotations

from bridge.adapter.errors import ErrorFacts, ErrorKind, ErrorRule, ErrorTable

__all__ = ["ERRORS", "msg_code"]


def msg_code(number: int | str) -> str:
    """The error-table code of a ``MsgCode`` (``MsgCode 13``)."""
    return f"MsgCode {number}"


def _code(number: int, kind: ErrorKind, reason: str) -> ErrorRule:
    return ErrorRule(kind, reason, code=msg_code(number), example=ErrorFacts(code=msg_code(number), text=reason))


ERRORS = ErrorTable(
    "Kingdee",
    (
        # 1 comes after one fresh login (the client's own retry): then the identity itself is refused
        _code(1, ErrorKind.CONFIGURATION, "MsgCode 1: the identity is refused (user, app, secret or lcid), even after a fresh login"),
        _code(2, ErrorKind.CONFIGURATION, "MsgCode 2: the user lacks the permission for this operation"),
        _code(6, ErrorKind.TRANSIENT, "MsgCode 6: the database operation failed"),
        _code(7, ErrorKind.CONFIGURATION, "MsgCode 7: a licence error"),
        _code(9, ErrorKind.CONFIGURATION, "MsgCode 9: a field or value the form does not have (check the mapping's field keys)"),
        _code(13, ErrorKind.TRANSIENT, "MsgCode 13: a network-control conflict (another user holds the bill)"),
        _code(14, ErrorKind.TRANSIENT, "MsgCode 14: the call limit was reached"),
        _code(15, ErrorKind.CONFIGURATION, "MsgCode 15: an administrator may not log in through the API"),
        _code(4, ErrorKind.PERMANENT, "MsgCode 4: K/3 Cloud raised an exception (e.g. the object does not exist)"),
        _code(8, ErrorKind.PERMANENT, "MsgCode 8: a parameter is wrong"),
        _code(10, ErrorKind.PERMANENT, "MsgCode 10: no such data"),
        _code(11, ErrorKind.PERMANENT, "MsgCode 11: the bill failed validation"),
        _code(12, ErrorKind.PERMANENT, "MsgCode 12: the operation is not allowed on the bill"),
        ErrorRule(ErrorKind.CONFIGURATION, "the data center (acctId) is unknown to the server", text="Fail to verify thirty passport",
                  example=ErrorFacts(status=500, text="Fail to verify thirty passport")),
        ErrorRule(ErrorKind.CONFIGURATION, "HTTP 401/403: the server refuses the bridge", status=(401, 403),
                  example=ErrorFacts(status=401)),
        ErrorRule(ErrorKind.TRANSIENT, "K/3 Cloud or the network in between is unavailable (HTTP 5xx)", status=(500, 599),
                  example=ErrorFacts(status=503)),
        ErrorRule(ErrorKind.TRANSIENT, "no connection to K/3 Cloud", exception="ConnectionError",
                  example=ErrorFacts(exception=ConnectionRefusedError(111, "Connection refused"))),
        ErrorRule(ErrorKind.TRANSIENT, "K/3 Cloud did not answer in time", exception="TimeoutError",
                  example=ErrorFacts(exception=TimeoutError("timed out"))),
        ErrorRule(ErrorKind.TRANSIENT, "the connection to K/3 Cloud failed", exception="TransportError",
                  example=ErrorFacts(exception=type("TransportError", (Exception,), {})("reset"))),
    ),
)
