"""One error table per adapter: what a failure of its system means for the message.

A failure is described by what the adapter saw (:class:`ErrorFacts`: HTTP status, the system's
own message type and code, the exception, the text) and classified by the first matching row of
the adapter's :class:`ErrorTable`: transient (retry), permanent (dead-letter now) or
configuration (stop: the bridge cannot work until someone fixes a setting). Rows are data, so
an integrator can put rows of their own in front of the adapter's in YAML::

    errors:
      - {code: "M7/021", kind: transient, retry_for: 10m, reason: "stock deficit: receipt pending"}
      - {http_status: 409, kind: permanent}

A transient row may bound its retries (``retry_for``): past that time since the first failure
the failure counts as permanent, so a deficit that never clears still reaches a person.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.errors import BridgeError, ConfigError, PermanentError, TransientError

__all__ = ["ErrorFacts", "ErrorKind", "ErrorRule", "ErrorTable"]


class ErrorKind(enum.StrEnum):
    """What a failure means for the message."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    CONFIGURATION = "configuration"


@dataclass(frozen=True, slots=True)
class ErrorFacts:
    """What an adapter saw of one failure; each part optional.

    Attributes:
        status: the HTTP status of the reply.
        message_type: the system's own severity (SAP RETURN ``TYPE``: ``E``, ``A``, ``W``).
        code: the system's own message code (SAP ``ID/NUMBER`` such as ``M7/021``).
        exception: the exception raised by the client library.
        text: the system's message text.
        flags: further named facts the system returns (SAP ``FLG_LOCKED``).
    """

    status: int | None = None
    message_type: str | None = None
    code: str | None = None
    exception: BaseException | None = None
    text: str = ""
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row: the facts it matches (all given ones must hold) and what they mean.

    Attributes:
        kind: transient, permanent or configuration.
        reason: a short explanation for logs and dead-letter headers.
        status: an HTTP status, or an inclusive range ``(500, 599)``.
        message_type: matches one of these severities.
        code: matches this code exactly (case-insensitive).
        exception: matches when an exception class of this name is in the exception's MRO.
        text: matches when the message text contains this (case-insensitive).
        flag: matches when this flag is set.
        retry_for_s: for a transient row, how long after the first failure it stays transient.
        example: facts this row classifies, for the contract tests.
    """

    kind: ErrorKind
    reason: str
    status: int | tuple[int, int] | None = None
    message_type: frozenset[str] | None = None
    code: str | None = None
    exception: str | None = None
    text: str | None = None
    flag: str | None = None
    retry_for_s: float | None = None
    example: ErrorFacts | None = field(default=None, compare=False)

    def matches(self, facts: ErrorFacts) -> bool:
        """Whether every fact this row names holds for ``facts``."""
        if self.status is not None:
            if facts.status is None:
                return False
            low, high = self.status if isinstance(self.status, tuple) else (self.status, self.status)
            if not low <= facts.status <= high:
                return False
        if self.message_type is not None and (facts.message_type or "").upper() not in self.message_type:
            return False
        if self.code is not None and (facts.code or "").upper() != self.code.upper():
            return False
        if self.exception is not None and (
            facts.exception is None or all(c.__name__ != self.exception for c in type(facts.exception).__mro__)
        ):
            return False
        if self.text is not None and self.text.casefold() not in facts.text.casefold():
            return False
        return self.flag is None or self.flag in facts.flags


class _RuleEntry(BaseModel):
    """An integrator's row in YAML."""

    model_config = ConfigDict(extra="forbid")

    kind: ErrorKind
    reason: str = "set in the configuration"
    http_status: int | tuple[int, int] | None = None
    message_type: list[str] | None = None
    code: str | None = None
    exception: str | None = None
    text: str | None = Field(None, min_length=1)
    flag: str | None = None
    retry_for: float | None = None

    @field_validator("http_status")
    @classmethod
    def _a_status(cls, value: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
        bounds = value if isinstance(value, tuple) else (value, value) if value is not None else None
        if bounds is not None and not (100 <= bounds[0] <= bounds[1] <= 599):
            raise ValueError("an HTTP status 100-599, or a range [low, high] of them")
        return value

    @field_validator("retry_for", mode="before")
    @classmethod
    def _a_duration(cls, value: object) -> object:
        from bridge.config import parse_duration

        if value is None:
            return None
        try:
            seconds = parse_duration(value)  # type: ignore[arg-type]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if seconds <= 0:
            raise ValueError("must be longer than 0 s")
        return seconds


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """Ordered rows; the first row that matches decides, else ``default``.

    Attributes:
        system: whose table it is, for messages.
        rules: the rows, in order.
        default: the kind of a failure no row matches.
    """

    system: str
    rules: tuple[ErrorRule, ...]
    default: ErrorKind = ErrorKind.PERMANENT

    def classify(self, facts: ErrorFacts) -> ErrorRule | None:
        """The first row matching ``facts``, or None."""
        return next((rule for rule in self.rules if rule.matches(facts)), None)

    def kind(self, facts: ErrorFacts, *, failing_for_s: float = 0.0) -> ErrorKind:
        """What ``facts`` mean, ``failing_for_s`` after the first failure of this message."""
        rule = self.classify(facts)
        if rule is None:
            return self.default
        if rule.kind is ErrorKind.TRANSIENT and rule.retry_for_s is not None and failing_for_s > rule.retry_for_s:
            return ErrorKind.PERMANENT
        return rule.kind

    def error(self, facts: ErrorFacts, message: str, *, failing_for_s: float = 0.0) -> BridgeError:
        """The typed error to raise for ``facts``, with the row's reason after ``message``."""
        rule = self.classify(facts)
        kind = self.kind(facts, failing_for_s=failing_for_s)
        reason = rule.reason if rule else f"not in the {self.system} error table"
        if rule is not None and rule.kind is not kind:
            reason += f", still failing after {rule.retry_for_s:g} s"
        text = f"{message} ({kind}: {reason})"
        if kind is ErrorKind.TRANSIENT:
            return TransientError(text)
        if kind is ErrorKind.CONFIGURATION:
            return ConfigError(text)
        return PermanentError(text)

    def with_overrides(self, entries: Iterable[Mapping[str, Any]] | None, *, setting: str) -> ErrorTable:
        """This table with an integrator's rows (from YAML) in front of its own.

        Raises:
            ConfigError: a row that is not valid, naming ``setting`` and the row's index.
        """
        added: list[ErrorRule] = []
        for index, entry in enumerate(entries or ()):
            try:
                row = _RuleEntry.model_validate(entry)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
                )
                raise ConfigError(f"{setting}[{index}]: {problems}") from None
            matchers = (row.http_status, row.message_type, row.code, row.exception, row.text, row.flag)
            if all(m is None for m in matchers):
                raise ConfigError(
                    f"{setting}[{index}]: a row must match on something (http_status, message_type, "
                    "code, exception, text or flag)"
                )
            added.append(
                ErrorRule(
                    kind=row.kind,
                    reason=row.reason,
                    status=row.http_status,
                    message_type=frozenset(t.upper() for t in row.message_type) if row.message_type else None,
                    code=row.code,
                    exception=row.exception,
                    text=row.text,
                    flag=row.flag,
                    retry_for_s=row.retry_for,
                )
            )
        return ErrorTable(self.system, (*added, *self.rules), self.default)
