"""What the MES source system's section of the configuration may say beyond its time zone::

    sources:
      mes:
        timezone: Asia/Shanghai
        feedback:                              # POST /api/v1/feedback on the bridge's HTTP port
          token_env: MES_FEEDBACK_TOKEN        # bearer token (or MES_FEEDBACK_TOKEN_FILE)
          user_env: MES_FEEDBACK_USER          # basic auth, when both variables are set
          password_env: MES_FEEDBACK_PASSWORD
          max_body_bytes: 1048576
          max_documents: 1000

Secrets never stand in the file: only the names of the variables holding them (each also read
from ``<NAME>_FILE``, a mounted secret).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FeedbackSettings", "MesSourceSettings"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class FeedbackSettings(BaseModel):
    """The feedback receiver (``POST /api/v1/feedback``).

    Attributes:
        enabled: serve the route.
        path: where it is served.
        token_env: the variable holding the bearer token the MES sends.
        user_env, password_env: the variables holding the basic-auth user and password.
        max_body_bytes: the largest body taken; refused (413) before it is read.
        max_documents: the most documents one JSON array may hold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    path: str = Field("/api/v1/feedback", pattern=r"^/[A-Za-z0-9/_.-]*$")
    token_env: str = Field("MES_FEEDBACK_TOKEN", pattern=_ENV_NAME)
    user_env: str = Field("MES_FEEDBACK_USER", pattern=_ENV_NAME)
    password_env: str = Field("MES_FEEDBACK_PASSWORD", pattern=_ENV_NAME)
    max_body_bytes: int = Field(1024 * 1024, ge=1, le=256 * 1024 * 1024)
    max_documents: int = Field(1000, ge=1)


class MesSourceSettings(BaseModel):
    """The MES's source settings (validated by the MES adapter when the bridge starts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback: FeedbackSettings = FeedbackSettings()

    def codec_options(self) -> dict[str, Any]:
        """The MES codec takes no option: JSON says its own encoding (UTF-8)."""
        return {}
