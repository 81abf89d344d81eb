"""What a SAP source system's section of the configuration may say beyond its time zone::

    sources:
      sap:
        timezone: Asia/Shanghai
        encoding: gbk                       # flat IDoc files; default UTF-8
        definitions: [/etc/bridge/we60/]    # extra WE60 parser exports
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["SapSourceSettings"]


class SapSourceSettings(BaseModel):
    """A SAP system's source settings (validated by the SAP adapter when the bridge starts).

    Attributes:
        encoding: the encoding of the system's flat IDoc files: a Python codec name (``gbk``)
            or a SAP code page number (``8400``); default UTF-8. IDoc-XML declares its own.
        definitions: extra files or folders of SAP WE60 "parser" exports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str | None = None
    definitions: tuple[Path, ...] = ()

    @field_validator("encoding", mode="before")
    @classmethod
    def _code_page_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # YAML reads `encoding: 8400` as a number
        return value

    def codec_options(self) -> dict[str, Any]:
        """The options :class:`~adapters.sap.codec.SapCodec` decodes this system's documents with."""
        options: dict[str, Any] = {}
        if self.definitions:
            options["definitions"] = [str(p) for p in self.definitions]
        if self.encoding:
            options["encoding"] = self.encoding
        return options
