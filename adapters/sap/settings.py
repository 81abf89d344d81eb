"""What a SAP source system's section of the configuration may say beyond its time zone::

    sources:
      sap:
        timezone: Asia/Shanghai
        encoding: gbk                       # flat IDoc files; default UTF-8
        definitions: [/etc/bridge/we60/]    # extra WE60 parser exports
        client: "100"                       # EDI_DC40 MANDT, when set; quote it ("010")
        logical_system: S4HCLNT100          # EDI_DC40 SNDPRN, when set
        receiver:                           # POST /api/v1/sap/idoc on the bridge's HTTP port
          enabled: true                     # default false
          path: /api/v1/sap/idoc
          user_env: SAP_INBOUND_USER        # basic auth SAP sends (or SAP_INBOUND_USER_FILE)
          password_env: SAP_INBOUND_PASSWORD
          max_body_bytes: 16777216
        file_port:                          # a directory SAP's file port writes IDocs into
          directory: /var/spool/sap-idoc    # required; processing/, processed/, error/ inside
          poll_s: 5
          pattern: "*.xml"                  # default "*"
          min_age_s: 1                      # a younger file may still be being written
          enabled: true
        status:                             # each received IDoc's status back to SAP (ALEAUD01)
          poll_s: 5
          sap:                              # the SAP system it goes to: a SAP route's keys
            url: https://sap.plant.example:44300
            user_env: SAP_USER
            password_env: SAP_PASSWORD
            idoc: {sender_partner: MES, sender_port: MESPORT}

A document whose control record names another client or sender than configured is refused
(HTTP 400, or the file port's error/ folder) and not published: translate does not know these
settings and would take it for this system's. Secrets never stand in the file: only the names
of the variables holding them (each also read from ``<NAME>_FILE``, a mounted secret).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["FilePortSettings", "IDocReceiverSettings", "IdocStatusSettings", "SapSourceSettings"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class IDocReceiverSettings(BaseModel):
    """The IDoc receiver (``POST /api/v1/sap/idoc``), as SAP's XML-HTTP port or PI/CPI post.

    Attributes:
        enabled: serve the route (off unless asked for: it needs credentials).
        path: where it is served.
        user_env, password_env: the variables holding the basic-auth user and password SAP sends.
        max_body_bytes: the largest body taken; refused (413) before it is read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    path: str = Field("/api/v1/sap/idoc", pattern=r"^/[A-Za-z0-9/_.-]*$")
    user_env: str = Field("SAP_INBOUND_USER", pattern=_ENV_NAME)
    password_env: str = Field("SAP_INBOUND_PASSWORD", pattern=_ENV_NAME)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1, le=256 * 1024 * 1024)


class FilePortSettings(BaseModel):
    """A watched directory of flat or XML IDoc files (SAP's file port, or anything writing there).

    Attributes:
        enabled: watch it.
        directory: the folder files arrive in; ``processing/``, ``processed/`` and ``error/``
            are made inside it.
        poll_s: seconds between two looks.
        pattern: which file names are taken (a glob; names starting with ``.`` never are).
        min_age_s: a file modified more recently than this may still be being written: left
            for a later look.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    directory: Path
    poll_s: float = Field(5.0, gt=0, le=3600)
    pattern: str = Field("*", min_length=1)
    min_age_s: float = Field(1.0, ge=0)

    @field_validator("pattern")
    @classmethod
    def _a_name_pattern(cls, value: str) -> str:
        if "/" in value or "\\" in value:
            raise ValueError("a file name pattern, without a folder (the directory says where)")
        return value


class IdocStatusSettings(BaseModel):
    """Each received IDoc's outcome back to SAP as ALEAUD01 audit IDocs, so that SAP's IDoc
    monitor (WE02/BD87) shows the IDoc it sent as processed or failed.

    Attributes:
        enabled: send them (``status:`` present and not disabled).
        poll_s: seconds between two looks at the ledger for outcomes not reported yet.
        processed: the inbound status reported for an IDoc translated into events (53,
            application document posted).
        failed: the one reported for an IDoc dead-lettered by translate (51, with its reason).
        sap: the SAP system the audit IDocs go to: the keys of a SAP route (``url``,
            credentials, TLS, ``idoc:`` path or directory and partners).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    poll_s: float = Field(5.0, gt=0, le=3600)
    processed: str = Field("53", pattern=r"^5\d$")
    failed: str = Field("51", pattern=r"^5\d$")
    sap: Any

    @field_validator("sap")
    @classmethod
    def _a_sap_target(cls, value: object) -> object:
        from adapters.sap.target import SapTargetSettings

        return value if isinstance(value, SapTargetSettings) else SapTargetSettings.model_validate(value)


class SapSourceSettings(BaseModel):
    """A SAP system's source settings (validated by the SAP adapter when the bridge starts).

    Attributes:
        encoding: the encoding of the system's flat IDoc files: a Python codec name (``gbk``)
            or a SAP code page number (``8400``); default UTF-8. IDoc-XML declares its own.
        definitions: extra files or folders of SAP WE60 "parser" exports.
        client: the SAP client (``MANDT``, three digits) the system's IDocs come from.
        logical_system: the SAP system's own logical system (its IDocs' ``SNDPRN``).
        receiver: the HTTP IDoc receiver.
        file_port: the watched IDoc directory, when there is one.
        status: each received IDoc's status back to SAP, when configured.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str | None = None
    definitions: tuple[Path, ...] = ()
    client: str | None = Field(None, pattern=r"^\d{3}$")
    logical_system: str | None = Field(None, pattern=r"^[A-Z0-9_]{1,10}$")
    receiver: IDocReceiverSettings = IDocReceiverSettings()
    file_port: FilePortSettings | None = None
    status: IdocStatusSettings | None = None

    @field_validator("encoding", mode="before")
    @classmethod
    def _code_page_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # YAML reads `encoding: 8400` as a number
        return value

    @field_validator("client", mode="before")
    @classmethod
    def _client_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
            return str(value)  # YAML reads `client: 100` as a number; "010" must be quoted
        return value

    def codec_options(self) -> dict[str, Any]:
        """The options :class:`~adapters.sap.codec.SapCodec` decodes this system's documents with."""
        options: dict[str, Any] = {}
        if self.definitions:
            options["definitions"] = [str(p) for p in self.definitions]
        if self.encoding:
            options["encoding"] = self.encoding
        return options
