"""``bridge idoc show``: a decoded IDoc as plain JSON-ready data (control + segment tree)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from adapters.sap.codec import SapCodec
from adapters.sap.model import IDoc
from adapters.sap.show import idoc_to_dict, json_chunks

__all__ = ["describe", "describe_json"]


def _decode(data: bytes, **options: Any) -> list[IDoc]:
    return SapCodec().decode_idocs(data, **options)


def describe(
    data: bytes,
    *,
    origin: str | None = None,
    definitions: Sequence[str | os.PathLike[str]] = (),
    idoc_type: str | None = None,
    encoding: str | int | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every IDoc in ``data`` as ``{"idoc_type", "extension", "control", "segments"}``.

    ``encoding`` and ``on_warning`` go to :meth:`SapCodec.decode_idocs` (a flat file's
    encoding; called with each decoder warning).
    """
    options = {"origin": origin, "definitions": definitions, "idoc_type": idoc_type}
    return [idoc_to_dict(idoc) for idoc in _decode(data, encoding=encoding, on_warning=on_warning, **options)]


def describe_json(
    data: bytes,
    *,
    origin: str | None = None,
    definitions: Sequence[str | os.PathLike[str]] = (),
    idoc_type: str | None = None,
    encoding: str | int | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """The JSON text of :func:`describe` (``indent=2``, not ASCII-escaped; one IDoc as an object,
    several as a list), in pieces, so that it is never held whole.

    The document is decoded (and any error raised) before this returns; ``data`` is not kept.
    """
    options = {"origin": origin, "definitions": definitions, "idoc_type": idoc_type}
    return json_chunks(_decode(data, encoding=encoding, on_warning=on_warning, **options))
