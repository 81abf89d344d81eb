"""Codecs by system name: each adapter's codec (see :mod:`bridge.adapter`), built once; the
runtime looks them up by system name and never imports a vendor module by name."""

from __future__ import annotations

from functools import cache

from bridge.adapter import adapters
from bridge.document import Codec
from bridge.errors import ConfigError, DecodeError

__all__ = ["codec_for", "codec_names", "sniff_codec"]


@cache
def _codecs() -> dict[str, Codec]:
    return {name: adapter.codec() for name, adapter in adapters().items() if adapter.codec is not None}


def codec_names() -> list[str]:
    """Names of the registered codecs (source systems)."""
    return sorted(_codecs())


def codec_for(system: str) -> Codec:
    """The codec of a source system; ConfigError naming the known ones if there is none."""
    try:
        return _codecs()[system]
    except KeyError:
        raise ConfigError(
            f"no codec for source system {system!r} (known: {', '.join(codec_names()) or 'none'})"
        ) from None


def sniff_codec(data: bytes, source: str | None = None) -> Codec:
    """The first codec that recognises the bytes; DecodeError if none does."""
    for codec in _codecs().values():
        if codec.sniff(data):
            return codec
    raise DecodeError(
        "format not recognised (expected IDoc-XML, a flat IDoc file or canonical JSON); "
        "name the source system with --source-system",
        source=source,
    )
