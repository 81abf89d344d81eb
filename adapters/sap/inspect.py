"""``bridge idoc show``: a decoded IDoc as plain JSON-ready data (control + segment tree)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from adapters.sap.codec import SapCodec
from adapters.sap.show import idoc_to_dict

__all__ = ["describe"]


def describe(
    data: bytes,
    *,
    origin: str | None = None,
    definitions: Sequence[str | os.PathLike[str]] = (),
    idoc_type: str | None = None,
) -> list[dict[str, Any]]:
    """Every IDoc in ``data`` as ``{"idoc_type", "extension", "control", "segments"}``."""
    idocs = SapCodec().decode_idocs(data, origin=origin, definitions=definitions, idoc_type=idoc_type)
    return [idoc_to_dict(idoc) for idoc in idocs]
