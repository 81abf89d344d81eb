"""What a route to K/3 Cloud may say (the route's own keys, beside name, sink, events)::

    routes:
      - name: kingdee
        sink: kingdee
        events: ["report.*", "lot.status_changed"]
        url: ${KINGDEE_URL}                 # the connection keys of adapters/kingdee/settings.py
        acct_id: ${KINGDEE_ACCT_ID}
        user: ${KINGDEE_USER}
        app_id: ${KINGDEE_APP_ID}
        app_secret_env: KINGDEE_APP_SECRET
        in_flight: 8                        # calls outstanding at once (never two for one order)
        workflow: audit                     # save, submit or audit: how far each bill is taken
        key_field: FDescription             # the header field holding the report's key (a remark
                                            # or a custom field such as F_ABC_MesKey)
        bills: [PRD_MORPT, PRD_INSTOCK, PRD_PickMtrl]   # what a report makes, in this order
        mappings:                           # the reverse mapping rendering each bill's Model
          PRD_MORPT: kingdee.report.prd_morpt
          PRD_INSTOCK: kingdee.report.prd_instock
          PRD_PickMtrl: kingdee.report.prd_pickmtrl
        link_rules:                         # the conversion rule each bill is linked to its source by
          PRD_MORPT: PRD_MO2MORPT
          PRD_INSTOCK: PRD_MO2INSTOCK
          PRD_PickMtrl: PRD_PPBOM2PICKMTRL_NORMAL
        lot_status:                         # MES lot status -> the operation on BD_BatchMainFile
          blocked: Forbid
          released: Enable

A report's order_id is ``<FBillNo>-<FSeq>`` of the PRD_MO entry row it was delivered as (see
mappings/kingdee/prd_mo_order.yaml); the sink finds the row's FID and FEntryID by it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adapters.kingdee.settings import KingdeeConnection

__all__ = ["BILLS", "KingdeeTargetSettings"]

#: The bills a report can make, and the form each one links to.
BILLS = {"PRD_MORPT": "PRD_MO", "PRD_INSTOCK": "PRD_MO", "PRD_PickMtrl": "PRD_PPBOM"}
_FIELD = r"^F[A-Za-z0-9_]{1,60}$"


def _default_mappings() -> dict[str, str]:
    return {"PRD_MORPT": "kingdee.report.prd_morpt", "PRD_INSTOCK": "kingdee.report.prd_instock",
            "PRD_PickMtrl": "kingdee.report.prd_pickmtrl"}


def _default_rules() -> dict[str, str]:
    return {"PRD_MORPT": "PRD_MO2MORPT", "PRD_INSTOCK": "PRD_MO2INSTOCK", "PRD_PickMtrl": "PRD_PPBOM2PICKMTRL_NORMAL"}


class KingdeeTargetSettings(KingdeeConnection):
    """A K/3 Cloud data center the bridge posts to (validated by the adapter at start)."""

    in_flight: int = Field(8, ge=1, le=256)
    workflow: Literal["save", "submit", "audit"] = "audit"
    key_field: str = Field("FDescription", pattern=_FIELD)
    bills: tuple[Literal["PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl"], ...] = ("PRD_MORPT", "PRD_INSTOCK", "PRD_PickMtrl")
    mappings: dict[str, str] = Field(default_factory=_default_mappings)
    link_rules: dict[str, str] = Field(default_factory=_default_rules)
    lot_status: dict[str, Literal["Forbid", "Enable"]] = Field(
        default_factory=lambda: {"blocked": "Forbid", "released": "Enable"})
    order_cache: int = Field(10_000, ge=0, le=1_000_000)

    @field_validator("mappings", "link_rules")
    @classmethod
    def _known_bills(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(BILLS))
        if unknown:
            raise ValueError(f"unknown bill {', '.join(unknown)} (known: {', '.join(BILLS)})")
        return value

    @field_validator("lot_status")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - {"released", "restricted", "blocked"})
        if unknown:
            raise ValueError(f"unknown lot status {', '.join(unknown)} (canonical: released, restricted, blocked)")
        return value
