"""What the bridge polls in YonBIP (``sources.yonyou``): the client keys and ``poll:``::

    sources:
      yonyou:
        timezone: Asia/Shanghai             # YonBIP's times (pubts) carry no zone
        url: ${YONYOU_URL}                  # where getGatewayAddress is asked
        tenant_id: ${YONYOU_TENANT_ID}
        app_key_env: YONYOU_APP_KEY
        app_secret_env: YONYOU_APP_SECRET
        poll:
          poll_s: 60
          overlap_s: 300                    # documents committed late with an earlier pubts
          page_size: 100                    # the list APIs' pageSize
          since: "2026-01-01 00:00:00"      # where a first start begins (tenant-local time)
          feeds: [productionorder, product, batchno]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.yonyou.settings import YonyouClientSettings

__all__ = ["FEEDS", "YonyouPollSettings", "YonyouSourceSettings"]

FEEDS = ("productionorder", "product", "batchno")
_LOCAL_TIME = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$"


class YonyouPollSettings(BaseModel):
    """Incremental polling by pubts (see :mod:`adapters.yonyou.poller`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    poll_s: float = Field(60.0, gt=0, le=86400)
    overlap_s: float = Field(300.0, ge=0, le=7 * 86400)
    page_size: int = Field(100, ge=1, le=500)
    since: str | None = Field(None, pattern=_LOCAL_TIME)
    feeds: tuple[Literal["productionorder", "product", "batchno"], ...] = FEEDS


class YonyouSourceSettings(YonyouClientSettings):
    """YonBIP as a source: the client and what is polled (nothing without ``poll:``)."""

    poll: YonyouPollSettings | None = None
    errors: tuple[dict[str, Any], ...] = ()

    def codec_options(self) -> dict[str, Any]:
        return {}
