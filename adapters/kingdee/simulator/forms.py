"""The business objects (forms) the simulator knows, as K/3 Cloud's metadata describes them: the
number field and how new numbers look, the entities (entry tables) under their Save key and View
name, the link table a pushed bill points at, and the standard fields an ExecuteBillQuery may name
(more are learned from what was saved: a tenant's custom ``F_XXX_*`` fields).

Field keys are matched without regard to case, as on the real server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FORMS", "REF_FORMS", "VALIDATED_REFS", "Form", "ref_kind"]


def _keys(text: str) -> frozenset[str]:
    return frozenset(k.lower() for k in text.split())


_COMMON = ("FID FDocumentStatus FCreateDate FModifyDate FApproveDate FCreatorId FModifierId FApproverId FCancelStatus "
           "FCancelDate FDescription FCreateOrgId FUseOrgId")
_BILL = _COMMON + " FBillNo FDate FBillType FPrdOrgId FOwnerTypeId FOwnerId FWorkShopId FStockOrgId FStockId FCurrId"


@dataclass(frozen=True)
class Form:
    """One form: ``entities`` maps each entry table's Save key to its View name."""

    form_id: str
    title: str  # the name the server's messages give it
    header: frozenset[str]
    entities: Mapping[str, str] = field(default_factory=dict)
    entry_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    number_key: str = "FBillNo"
    prefix: str = ""
    digits: int = 8
    pk: str = "FID"
    base: bool = False
    tables: Mapping[str, str] = field(default_factory=dict)  # entity -> its table, as link rows name it
    subheads: Mapping[str, str] = field(default_factory=dict)  # one-row sub-heads (BD_MATERIAL) -> View name
    bill_type: str = ""  # the default FBillType number
    unique_with: str = ""  # a field the number is unique together with (a lot number per material)

    @property
    def number_label(self) -> str:
        return "编码" if self.base else "单据编号"

    def entity_of(self, key: str) -> str | None:
        low = key.lower()
        return next((e for e in self.entities if e.lower() == low), None)

    def subhead_of(self, key: str) -> str | None:
        low = key.lower()
        return next((s for s in self.subheads if s.lower() == low), None)


_MO_ENTRY = _keys(
    "FMaterialId FQty FBaseUnitQty FUnitId FBaseUnitId FPlanStartDate FPlanFinishDate FStatus FLot FMTONo FBomId "
    "FStockId FStockInOrgId FWorkShopID FYieldRate FStockInQuaQty FNoStockInQty FRepQuaQty FRepFailQty FRptFinishQty "
    "FSaleOrderNo FSaleOrderId FSaleOrderEntryId FRequestOrgId FSrcBillType FSrcBillNo FProductType FMemo "
    "FInStockOwnerTypeId FInStockOwnerId FCheckProduct FISBACKFLUSH FCostRate FConveyDate FStartDate FFinishDate "
    "FPlanConfirmDate FProjectNo FRoutingId FPickMtlQty FStockInLimitH FStockInLimitL")
_PPBOM_ENTRY = _keys(
    "FMaterialID2 FUnitID2 FBaseUnitID FMustQty FBaseMustQty FNeedQty FStdQty FPickedQty FNoPickedQty FRePickedQty "
    "FScrapQty FStockID FLot FMTONO FIssueType FMaterialType FNumerator FDenominator FUseRate FScrapRate FMoBillNo "
    "FMoId FMoEntryId FMoEntrySeq FOwnerID FOwnerTypeId FNeedDate FSupplyOrg FStockStatusId FBOMEntryID")
_LINKED = ("FMaterialId FUnitID FBaseUnitId FLot FStockId FMoBillNo FMoId FMoEntryId FMoEntrySeq FSrcBillType "
           "FSrcBillNo FSrcInterId FSrcEntryId FSrcEntrySeq FOwnerTypeId FOwnerId FBomId FMtoNo FProjectNo "
           "FWorkShopId FProductType FProduceDate FExpiryDate FStockStatusId FKeeperTypeId FKeeperId FMemo ")
_MORPT_ENTRY = _keys(_LINKED + "FReportType FWorkshipId FCheckProduct FIsEntrust FMOMAINENTRYID FFinishQty FQuaQty "
                     "FFailQty FScrapQty FReworkQty FHumanQty FMachineQty FStartTime FEndTime FStockInOrgId FCostRate "
                     "FISBACKFLUSH FDescription FBaseFinishQty FBaseQuaQty")
_INSTOCK_ENTRY = _keys(_LINKED + "FInStockType FMustQty FBaseMustQty FRealQty FBaseRealQty FStockLocId FStockUnitId "
                       "FStockRealQty FPrice FAmount FCheckProduct FIsNew FISBACKFLUSH FMoMainEntryId")
_PICK_ENTRY = _keys(_LINKED + "FStockLocId FPPBomEntryId FPPBomBillNo FOperId FProcessId FAppQty FActualQty "
                    "FStockAppQty FStockActualQty FBaseAppQty FBaseActualQty FStockUnitId FSrcEnteryId "
                    "FParentMaterialId FPrice FAmount FReserveType")

_MATERIAL_SUBHEADS = {
    "SubHeadEntity": "MaterialBase", "SubHeadEntity1": "MaterialStock", "SubHeadEntity2": "MaterialSale",
    "SubHeadEntity3": "MaterialPurchase", "SubHeadEntity4": "MaterialPlan", "SubHeadEntity5": "MaterialProduce",
    "SubHeadEntity6": "MaterialQM", "SubHeadEntity7": "MaterialSubcon",
}
_MATERIAL = _keys(
    _COMMON + " FMATERIALID FNumber FName FSpecification FMnemonicCode FOldNumber FMaterialGroup FForbidStatus "
    "FForbidDate FErpClsID FBaseUnitId FCategoryID FIsInventory FIsProduce FIsPurchase FIsSale FStoreUnitID "
    "FAuxUnitID FIsBatchManage FIsSNManage FIsKFPeriod FExpPeriod FExpUnit FStoreURNum FStoreURNom FUnitConvertDir "
    "FProduceUnitId FPrdURNum FPrdURNom FIssueType FPickStockId FSaleUnitId FPurchaseUnitId")

FORMS: dict[str, Form] = {f.form_id: f for f in (
    Form("PRD_MO", "生产订单", _keys(_BILL + " FPlannerID FBusinessType FIsRework FIsEntrust FPPBOMType FWorkGroupId"),
         {"FTreeEntity": "TreeEntity"}, {"FTreeEntity": _MO_ENTRY}, prefix="MO", digits=6,
         tables={"FTreeEntity": "T_PRD_MOENTRY"}, bill_type="SCDD01_SYS"),
    Form("PRD_PPBOM", "生产用料清单", _keys(
        _BILL + " FMOBillNO FMOEntrySeq FMOEntryID FMoId FMaterialID FQty FBaseQty FUnitID FBaseUnitID FWorkshopID "
        "FBOMID FMOType FParentOwnerTypeId FParentOwnerId FSALEORDERNO"),
         {"FEntity": "PPBomEntry"}, {"FEntity": _PPBOM_ENTRY}, prefix="PPBOM", tables={"FEntity": "T_PRD_PPBOMENTRY"}),
    Form("PRD_MORPT", "生产汇报单", _keys(_BILL), {"FEntity": "Entity"}, {"FEntity": _MORPT_ENTRY}, prefix="SCHB",
         bill_type="SCHBD01_SYS"),
    Form("PRD_INSTOCK", "生产入库单", _keys(_BILL + " FOwnerTypeId0 FOwnerId0 FIsEntrust FSTOCKERID"),
         {"FEntity": "Entity"}, {"FEntity": _INSTOCK_ENTRY}, prefix="SCRK", bill_type="SCRKD01_SYS"),
    Form("PRD_PickMtrl", "生产领料单", _keys(_BILL + " FPickerId FSTOCKERID FTransferBizType FSourceType"),
         {"FEntity": "Entity"}, {"FEntity": _PICK_ENTRY}, prefix="SCLL", bill_type="SCLLD01_SYS"),
    Form("BD_MATERIAL", "物料", _MATERIAL, number_key="FNumber", pk="FMATERIALID", base=True,
         subheads=_MATERIAL_SUBHEADS),
    Form("BD_BatchMainFile", "批号主档", _keys(
        _COMMON + " FLOTID FNumber FName FMaterialId FForbidStatus FForbidDate FProduceDate FExpiryDate FBizType "
        "FLotStatus FSupplierId FSupplyLot FInStockDate"), number_key="FNumber", pk="FLOTID", base=True,
         unique_with="FMaterialId"),
)}

#: Reference fields whose number names a record the simulator keeps (the rest get made-up ids).
REF_FORMS: dict[str, str] = {"fmaterialid": "BD_MATERIAL", "fmaterialid2": "BD_MATERIAL",
                             "fparentmaterialid": "BD_MATERIAL", "flot": "BD_BatchMainFile"}
#: Reference fields a Save checks (the material must exist once materials are kept).
VALIDATED_REFS = frozenset({"fmaterialid", "fmaterialid2"})
_ORG_FIELDS = frozenset({"fownerid", "fownerid0", "fkeeperid", "fsupplyorg", "fparentownerid", "finstockownerid"})


def ref_kind(key: str) -> str:
    """What a reference field refers to, so that one org or unit keeps one id across fields."""
    low = key.lower()
    if low in REF_FORMS:
        return REF_FORMS[low]
    if low.endswith("orgid") or low in _ORG_FIELDS:
        return "ORG"
    if "unitid" in low:
        return "UNIT"
    if low.endswith(("stockid", "stockid0")):
        return "STOCK"
    return low
