"""What a route to YonBIP may say (the route's own keys, beside name, sink, events)::

    routes:
      - name: yonyou
        sink: yonyou
        events: ["report.*", "lot.status_changed"]
        url: ${YONYOU_URL}                  # the client keys of adapters/yonyou/settings.py
        tenant_id: ${YONYOU_TENANT_ID}
        app_key_env: YONYOU_APP_KEY
        app_secret_env: YONYOU_APP_SECRET
        in_flight: 8                        # calls outstanding at once (never two for one order)
        workflow: audit                     # save or audit
        key_field: out_sys_id               # the header field holding the report's key
        documents: [finishedreport, storeprorecord, materialout]   # what a report makes, in order
        mappings:
          finishedreport: yonyou.report.finishedreport
          storeprorecord: yonyou.report.storeprorecord
          materialout: yonyou.report.materialout
        bustypes: {storeprorecord: "A10001", materialout: "A10002"}   # the tenant's 交易类型 codes
        warehouse: WH-FG                    # when neither the report nor the mapping names one

A report's order_id is ``<code>-<lineNo>`` of the production order line it was delivered as (see
mappings/yonyou/productionorder_order.yaml); the sink finds the line's ids by it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adapters.yonyou.settings import YonyouClientSettings

__all__ = ["DOCUMENTS", "YonyouTargetSettings"]

#: The documents a report can make: their API path under /yonbip.
DOCUMENTS = {"finishedreport": "mfg/finishedreport", "storeprorecord": "scm/storeprorecord", "materialout": "scm/materialout"}
Document = Literal["finishedreport", "storeprorecord", "materialout"]


def _default_mappings() -> dict[str, str]:
    return {d: f"yonyou.report.{d}" for d in DOCUMENTS}


class YonyouTargetSettings(YonyouClientSettings):
    """A YonBIP tenant the bridge posts to (validated by the adapter at start)."""

    in_flight: int = Field(8, ge=1, le=256)
    workflow: Literal["save", "audit"] = "audit"
    key_field: str = Field("out_sys_id", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,60}$")
    documents: tuple[Document, ...] = ("finishedreport", "storeprorecord", "materialout")
    mappings: dict[str, str] = Field(default_factory=_default_mappings)
    bustypes: dict[str, str] = Field(default_factory=dict)
    warehouse: str | None = Field(None, min_length=1, max_length=100)
    lot_status: dict[str, bool] = Field(default_factory=lambda: {"blocked": True, "released": False})
    errors: tuple[dict[str, object], ...] = ()

    @field_validator("mappings", "bustypes")
    @classmethod
    def _known_documents(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DOCUMENTS))
        if unknown:
            raise ValueError(f"unknown document {', '.join(unknown)} (known: {', '.join(DOCUMENTS)})")
        return value

    @field_validator("lot_status")
    @classmethod
    def _known_statuses(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - {"released", "restricted", "blocked"})
        if unknown:
            raise ValueError(f"unknown lot status {', '.join(unknown)} (canonical: released, restricted, blocked)")
        return value
