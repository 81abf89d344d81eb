"""Keeping secrets out of text: secret values that mask themselves, and a pattern pass for any text.

Two lines of defence, both applied wherever text leaves the process (log lines, dead-letter
headers, ``/readyz`` bodies, configuration errors, the CLI's error lines):

1. **Structural.** A secret setting is held as a :class:`Secret` (a whole value to hide, such as an
   ERP password or app secret) or a :class:`SecretUrl` (a URL whose password is hidden). Either is
   the real ``str`` (libraries such as pika and SQLAlchemy read it as it is), but its ``str()``,
   ``repr()``, f-string and pydantic JSON forms are masked: ``amqp://bridge:***@rabbit:5672/%2F``.
   :func:`redact_data` also masks values by key name (``password``, ``app_secret``, ``token``...).
2. **Patterns.** :func:`redact` hides credentials in free text: URL passwords of any scheme,
   ``key=value`` / ``key: value`` / ``"key": "value"`` pairs whose key names a secret (quoted or
   not, with ``\\'`` and ``\\"`` escapes), ``Authorization: Bearer ...`` and other auth schemes,
   ``Cookie:`` headers, ``<Password>...</Password>`` elements and ``netloc='user:pw@host'``.

What a pattern cannot know, it over-masks: a URL password runs to the last ``@`` of its line (a
raw ``@``, ``/``, quote or space in it is hidden too, and with two such URLs on one line the text
between them); an unquoted value runs to whitespace or to the next ``&name=``. Masking text twice
may therefore hide a little more, never less.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported only when a model uses a Secret: the CLI starts faster
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema, core_schema

__all__ = [
    "MASK",
    "REVEAL_SECRETS",
    "Secret",
    "SecretUrl",
    "is_secret_key",
    "mask_url",
    "redact",
    "redact_data",
]

#: What a hidden secret is shown as.
MASK = "***"
#: Serialization context that makes pydantic dumps show secrets as they are, e.g. to write a
#: configuration file for a child process: ``settings.model_dump(mode="json", context=REVEAL_SECRETS)``.
REVEAL_SECRETS: Mapping[str, bool] = MappingProxyType({"reveal_secrets": True})

# Words that make a key name a secret's, anywhere in the name and in any case: client_secret,
# appSecret, access_token, X-Api-Signature, kdservice-sessionid, Proxy-Authorization, Set-Cookie.
_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|private[_-]?key|signature"
    r"|sess(?:ion)?[_-]?id|credentials?|authorization|cookie"
    r"|(?<![a-z])(?:pass|pw)(?![a-z])"  # db_pass, pw; not bypass or passenger
)
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE | re.ASCII)
# Pieces one of which every secret word (and "netloc") holds: text without any of them (in
# lower case) has no secret pair, and skips the pair pattern (most log fields). The patterns
# are ASCII-only, so that no case-insensitive match (such as the long s "ſ" for "s") can
# escape this check.
_SECRET_WORD_PIECES = (
    "pass", "pw", "secret", "token", "key", "signature", "sess", "credential", "authorization", "cookie", "netloc"
)
# A key whose value is a URL's netloc (urllib's SplitResult repr): only the password is hidden.
_NETLOC_KEY = "netloc"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")

# scheme://user: -- the password that follows runs to the last "@" of the line (see _mask_urls).
# The scheme is bounded so that a long run of letters costs linear time.
_URL_HEAD = re.compile(r"[a-z][a-z0-9+.-]{0,30}://[^\s:/@]*:", re.IGNORECASE | re.ASCII)
# <Password>...</Password>, <ns:ClientSecret attr="x">...</ns:ClientSecret>
_XML_ELEMENT = re.compile(
    rf"(<(?:[\w.-]+:)?(?>[\w.-]*?(?:{_SECRET_WORDS})[\w.-]*+)(?:\s[^<>]*)?>)[^<]+", re.IGNORECASE | re.ASCII
)
# key=value, key = value, key: value, "key": "value", 'key': 'value', key=>value, key%3Dvalue.
# The key is a whole token (atomic, so a long token is scanned once) that holds a secret word.
_PAIR = re.compile(
    rf"""
    (?<![\w.-])
    (?P<key>(?>[\w.-]*?(?:{_SECRET_WORDS}|{_NETLOC_KEY})[\w.-]*+))
    (?P<kq>['"]?)
    (?P<sep>[ \t]*(?:=>|[=:]|%3D)[ \t]*)
    (?P<scheme>(?:bearer|basic|digest|negotiate|ntlm|token)[ \t]+(?=[^\s'"]))?
    (?:
        '(?P<sq>(?:[^'\\\n]|\\.)*)(?P<sq_end>'?)
      | "(?P<dq>(?:[^"\\\n]|\\.)*)(?P<dq_end>"?)
      | (?P<bare>(?:[^\s&]|&(?![\w.-]+=))+)
    )
    """,
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)
# A bearer token on its own (a header dump without its name).
_BEARER = re.compile(r"\b(bearer[ \t]+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE | re.ASCII)


def redact(text: str) -> str:
    """Hide credentials in any text: ``amqp://user:pw@host`` -> ``amqp://user:***@host``.

    Also ``password=...``, ``client_secret: ...``, ``{"access_token": "..."}``,
    ``Authorization: Bearer ...``, ``<Password>...</Password>`` and the other shapes listed in
    the module docstring. Text without ``:``, ``=``, ``<`` or "bearer" is returned as it is.
    """
    lower = text.lower()
    if ":" not in text and "=" not in text and "<" not in text and "bearer" not in lower:
        return text
    text = _mask_urls(text)
    if "<" in text:
        text = _XML_ELEMENT.sub(rf"\1{MASK}", text)
    if "bearer" in lower:  # before pairs: a token may look like "key="
        text = _BEARER.sub(rf"\1{MASK}", text)
    if any(piece in lower for piece in _SECRET_WORD_PIECES):
        text = _PAIR.sub(_mask_pair, text)
    return text


def _mask_urls(text: str) -> str:
    """``scheme://user:<anything>@`` -> ``scheme://user:***@``, up to the line's last ``@``."""
    if "://" not in text or "@" not in text:
        return text
    pieces: list[str] = []
    kept = 0  # text[:kept] is in pieces
    start = 0
    while (head := _URL_HEAD.search(text, start)) is not None:
        line_end = text.find("\n", head.end())
        line_end = len(text) if line_end < 0 else line_end
        at = text.rfind("@", head.end(), line_end)
        if at >= 0:
            pieces += (text[kept : head.end()], MASK)
            kept = at
        # past the line's last "@", no URL on this line can carry a password
        start = line_end
    pieces.append(text[kept:])
    return "".join(pieces)


def _mask_pair(match: re.Match[str]) -> str:
    head = match["key"] + match["kq"] + match["sep"] + (match["scheme"] or "")
    if match["sq"] is not None:
        quote, body, end = "'", match["sq"], match["sq_end"]
    elif match["dq"] is not None:
        quote, body, end = '"', match["dq"], match["dq_end"]
    else:
        quote, body, end = "", match["bare"], ""
    if match["key"].lower().endswith(_NETLOC_KEY):
        return f"{head}{quote}{_mask_userinfo(body)}{end}"
    return f"{head}{quote}{MASK}{end}"


def _mask_userinfo(netloc: str) -> str:
    """``user:pw@host`` -> ``user:***@host`` (the password runs to the last ``@``)."""
    userinfo, at, host = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}@{host}" if at and colon else netloc


def is_secret_key(name: str) -> bool:
    """Whether a key or setting name is a secret's (``password``, ``appSecret``, ``X-Api-Signature``...)."""
    return _SECRET_KEY.search(name) is not None


def mask_url(url: str) -> str:
    """A URL with its password masked (``postgresql://u:***@db/x``); not a URL: all of it masked.

    The userinfo runs to the last ``@`` (a host has none), so a password typed raw, with ``@``,
    ``/``, ``?`` or ``#`` in it, is hidden whole; an ``@`` in the path or query hides more than
    the password, never less. Secret query parameters (``?password=...``) are masked as well.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return MASK if url else url
    at = rest.rfind("@")
    userinfo, tail = (rest[:at], rest[at:]) if at >= 0 else ("", rest)
    user, colon, _ = userinfo.partition(":")
    path, question, query = tail.partition("?")
    return f"{scheme}://{f'{user}:{MASK}' if colon else userinfo}{path}{question}{_PAIR.sub(_mask_pair, query)}"


def redact_data(value: Any) -> Any:
    """Data (dicts, lists, scalars) with every secret masked, ready for JSON.

    :class:`Secret` values show their masked form, values under a secret key name (see
    :func:`is_secret_key`) become ``***`` (``None`` and booleans stay), and every other text goes
    through :func:`redact`. Tuples become lists; other objects are returned as they are.
    """
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            redact(key) if isinstance(key, str) else key: _masked_item(key, item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def _masked_item(key: Any, item: Any) -> Any:
    if not isinstance(key, str) or item is None or isinstance(item, bool):
        return redact_data(item)
    if key.lower().endswith(_NETLOC_KEY) and isinstance(item, str):
        return redact(_mask_userinfo(item))
    return MASK if is_secret_key(key) else redact_data(item)


class Secret(str):
    """A secret text: the real ``str`` for code, masked wherever it becomes text.

    ``str()``, ``repr()``, ``format()``/f-strings, ``%s`` and pydantic's JSON dumps show
    :meth:`masked`; :meth:`reveal` returns the plain value. Operations of ``str`` itself (slicing,
    ``+``, ``join``, ``json.dumps``) see the real value, so the pattern pass stays the second line.
    Use it as a pydantic field type for any secret setting (an ERP password, an app secret)::

        class KingdeeSettings(BaseModel):
            app_secret: Secret
    """

    __slots__ = ()

    @classmethod
    def mask(cls, text: str) -> str:
        """The masked form of ``text`` (for a plain secret: ``***``, or ``''`` when empty)."""
        return MASK if text else text

    def reveal(self) -> str:
        """The real value as a plain ``str``."""
        return str.__str__(self)

    def masked(self) -> str:
        """The value as it may be shown."""
        return type(self).mask(self.reveal())

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return repr(self.masked())

    def __format__(self, spec: str) -> str:
        return format(self.masked(), spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.reveal(),)  # pickling keeps the real value (never str(self))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        def serialize(value: Any, info: core_schema.SerializationInfo) -> Any:
            secret = value if isinstance(value, Secret) else cls(value)
            if (info.context or {}).get("reveal_secrets"):
                return secret.reveal()
            return secret.masked() if info.mode_is_json() else secret

        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(serialize, info_arg=True),
        )


class SecretUrl(Secret):
    """A URL that may carry a password: shown as ``scheme://user:***@host/...`` (see :func:`mask_url`)."""

    __slots__ = ()

    @classmethod
    def mask(cls, text: str) -> str:
        """The URL with its password masked; a value that is not a URL is masked whole."""
        return mask_url(text)
