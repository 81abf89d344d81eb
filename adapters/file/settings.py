"""A file route's own keys."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["FileRouteSettings"]


class FileRouteSettings(BaseModel):
    """``path``: the JSON-lines file the route appends to (relative to the working directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
