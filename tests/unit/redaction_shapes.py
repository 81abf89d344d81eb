"""The secret shapes of tests/data/hostile/secrets/shapes.yaml: encoders, strategies, leak checks."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import yaml
from hypothesis import strategies as st

from ..conftest import DATA

SHAPES_FILE = DATA / "hostile" / "secrets" / "shapes.yaml"


def _libpq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: How a password is written into each kind of shape.
ENCODERS: dict[str, Callable[[str], str]] = {
    "raw": lambda text: text,  # as typed, not percent-encoded: any character but a line break
    "percent": lambda text: quote(text, safe=""),
    "query": lambda text: quote_plus(text, safe=""),
    "libpq": _libpq,
    "json": json.dumps,
    "repr": repr,
    "bare": lambda text: text,  # an unquoted value: no whitespace, no "&", no leading quote
    "token": lambda text: text,  # an HTTP token68 (bearer, basic)
    "xml": escape,
}


@dataclass(frozen=True)
class Shape:
    """One row of shapes.yaml."""

    id: str
    template: str
    secret: str
    encode: str
    keep: tuple[str, ...]
    wrap: str = "{}"

    def text(self, secret: str) -> str:
        """The shape with ``secret`` in it."""
        return self.template.replace("{secret}", self.encoded(secret))

    def encoded(self, secret: str) -> str:
        return ENCODERS[self.encode](self.wrap.replace("{}", secret))


def load_shapes() -> list[Shape]:
    rows = yaml.safe_load(SHAPES_FILE.read_text(encoding="utf-8"))
    return [
        Shape(row["id"], row["template"], row["secret"], row["encode"], tuple(row["keep"]), row.get("wrap", "{}"))
        for row in rows
    ]


SHAPES = load_shapes()

# Printable text: quotes, spaces, "@:/<>", any script; no line breaks (a secret is one line).
_PRINTABLE = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
_BARE = _PRINTABLE.filter(lambda c: not c.isspace() and c != "&")
_TOKEN = st.sampled_from(string.ascii_letters + string.digits + "-._~+/")


def passwords(shape: Shape, min_size: int = 1) -> st.SearchStrategy[str]:
    """Arbitrary passwords this shape can carry."""
    if shape.encode == "token":
        body = st.text(_TOKEN, min_size=min_size, max_size=40)
        return st.tuples(body, st.sampled_from(["", "=", "=="])).map("".join)
    if shape.encode == "bare":
        return st.text(_BARE, min_size=min_size, max_size=40).filter(lambda s: s[0] not in "'\"")
    return st.text(_PRINTABLE, min_size=min_size, max_size=40)


def neutral_like(secret: str) -> str:
    """A harmless password that a repr quotes the same way as ``secret``."""
    return "N" + "".join(q for q in "'\"" if q in secret) + "N"


def secret_forms(shape: Shape, secret: str) -> set[str]:
    """The secret as it may appear in output: as given, as encoded, and escaped by repr or JSON."""
    return {secret, shape.encoded(secret), repr(secret)[1:-1], json.dumps(secret)[1:-1]}


def leaked_fragments(output: str, forms: set[str], baseline: str) -> list[str]:
    """4-character pieces of a secret found in ``output`` (unless the harmless baseline has them too)."""
    return sorted(
        {
            form[i : i + 4]
            for form in forms
            for i in range(len(form) - 3)
            if form[i : i + 4] in output and form[i : i + 4] not in baseline
        }
    )
