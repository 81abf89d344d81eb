"""SAP's errors: decode errors that name an IDoc's DOCNUM and segment, as SAP's own tools do,
and the table that says what a failure of SAP means for a message (:data:`ERRORS`)."""

from __future__ import annotations

from bridge.adapter.errors import ErrorFacts, ErrorKind, ErrorRule, ErrorTable
from bridge.errors import DecodeError

__all__ = ["DEFICIT_RETRY_S", "ERRORS", "DefinitionError", "IDocError"]


class IDocError(DecodeError):
    """An IDoc (flat or XML) or other SAP document that cannot be read.

    Attributes:
        segment: the segment (type or definition, with its number or line) being read.
    """

    id_label = "DOCNUM"
    part_label = "segment"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        document_id: str | None = None,
        segment: str | None = None,
    ) -> None:
        super().__init__(message, source=source, document_id=document_id, part=segment)

    @property
    def segment(self) -> str | None:
        """The segment being read, when known."""
        return self.part


class DefinitionError(IDocError):
    """No segment definition is known for an IDoc type or one of its segments."""


# -- what a failure of SAP means (bridge.adapter.errors) -------------------------------------
# Order matters: a lock is transient whatever its TYPE and is checked first (a lock message
# comes with TYPE E); then SAP's known business messages; then TYPE E/A; then transport.
_LOCK_TEXTS = ("is locked by", "is currently being processed by", "gesperrt")


def _rules() -> tuple[ErrorRule, ...]:
    lock_rows = tuple(
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP reports a lock: another user or process holds the object",
            text=text,
            example=ErrorFacts(message_type="E", text=f"Order 1000042 {text} user BATCH01"),
        )
        for text in _LOCK_TEXTS
    )
    return (
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP reports a lock (FLG_LOCKED): another user or process holds the object",
            flag="FLG_LOCKED",
            example=ErrorFacts(message_type="E", flags=frozenset({"FLG_LOCKED"})),
        ),
        *lock_rows,
        ErrorRule(
            ErrorKind.TRANSIENT,
            "stock deficit (M7 021): a pending receipt may bring the batch; retried for a while",
            code="M7/021",
            retry_for_s=DEFICIT_RETRY_S,
            example=ErrorFacts(message_type="E", code="M7/021", text="Deficit of SL Unrestricted-use 13 L : A706 1110 1001"),
        ),
        ErrorRule(
            ErrorKind.PERMANENT,
            "posting period closed (M7 053): open the period or post with another date",
            code="M7/053",
            example=ErrorFacts(message_type="E", code="M7/053", text="Posting only possible in periods 2026/10 and 2026/09"),
        ),
        ErrorRule(
            ErrorKind.PERMANENT,
            "SAP refused the posting (RETURN type E or A)",
            message_type=frozenset({"E", "A"}),
            example=ErrorFacts(message_type="E", code="M7/096", text="Goods movement not possible with mvmt type 999"),
        ),
        ErrorRule(
            ErrorKind.CONFIGURATION,
            "SAP refused the credentials (HTTP 401/403): check the user, password and its roles",
            status=(401, 403),
            example=ErrorFacts(status=401),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP or the network in between is unavailable (HTTP 5xx)",
            status=(500, 599),
            example=ErrorFacts(status=503),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP did not answer in time (HTTP 408)",
            status=408,
            example=ErrorFacts(status=408),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP asks to slow down (HTTP 429)",
            status=429,
            example=ErrorFacts(status=429),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "no connection to SAP",
            exception="ConnectionError",
            example=ErrorFacts(exception=ConnectionRefusedError(111, "Connection refused")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP did not answer in time",
            exception="TimeoutError",
            example=ErrorFacts(exception=TimeoutError("timed out")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "SAP did not answer in time",
            exception="Timeout",  # requests.exceptions.Timeout (zeep's transport)
            example=ErrorFacts(exception=type("ReadTimeout", (type("Timeout", (OSError,), {}),), {})("read timed out")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the HTTP exchange with SAP broke off",
            exception="RequestException",  # requests: a reset, a truncated reply
            example=ErrorFacts(exception=type("ChunkedEncodingError", (type("RequestException", (OSError,), {}),), {})("reset")),
        ),
        ErrorRule(
            ErrorKind.TRANSIENT,
            "the HTTP transport to SAP failed",
            exception="TransportError",  # httpx.TransportError and zeep.exceptions.TransportError
            example=ErrorFacts(exception=type("TransportError", (Exception,), {})("reset")),
        ),
    )


#: How long a stock deficit (M7 021) is retried before it is dead-lettered.
DEFICIT_RETRY_S = 15 * 60

#: What each failure of SAP means; integrators put rows of their own in front in YAML.
ERRORS = ErrorTable("sap", _rules())
