"""The BAPI interfaces the bridge calls over SOAP, as data: parameters, structures, DDIC types.

Written from the BAPIs' documented interfaces (docs/reference: BAPI_PP_TIMETICKET,
BAPI2017_GM_ITEM_CREATE, BAPI_CORU_RETURN, BAPIRET1/2, ...), not from a real system: lengths and
optionality are assumptions to check in SE37 / SOAMANAGER. One source for three readers: the
WSDL files in ``adapters/sap/wsdl/`` (``python -m adapters.sap.wsdl_writer``), the client's
checks before it sends (zeep checks no length, pattern or date) and the simulator's checks, which
refuse what SAP would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BAPIS", "STRUCTURES", "Bapi", "Param", "service_name"]

# DDIC-derived simple types as SOAMANAGER writes them: charN, numericN, quantumP.S, date10, time
CHAR = "char"
NUMC = "numeric"
QUAN = "quantum"
DATE = "date10"
TIME = "time"
INT = "int"


def c(n: int) -> tuple[str, int, int]:
    return (CHAR, n, 0)


def n(k: int) -> tuple[str, int, int]:
    return (NUMC, k, 0)


def q(p: int, s: int) -> tuple[str, int, int]:
    return (QUAN, p, s)


D = (DATE, 10, 0)
T = (TIME, 8, 0)
I4 = (INT, 10, 0)

BAPIRET1 = {"TYPE": c(1), "ID": c(20), "NUMBER": n(3), "MESSAGE": c(220), "LOG_NO": c(20), "LOG_MSG_NO": n(6),
            "MESSAGE_V1": c(50), "MESSAGE_V2": c(50), "MESSAGE_V3": c(50), "MESSAGE_V4": c(50)}
STRUCTURES: dict[str, dict[str, tuple[str, int, int]]] = {
    "BAPIRET1": BAPIRET1,
    "BAPIRET2": {**BAPIRET1, "PARAMETER": c(32), "ROW": I4, "FIELD": c(30), "SYSTEM": c(10)},
    "BAPI_CORU_RETURN": {**BAPIRET1, "PARAMETER": c(32), "ROW": I4, "FIELD": c(30), "SYSTEM": c(10),
                         "FLG_LOCKED": c(1), "CONF_NO": n(10), "CONF_CNT": n(8)},
    "BAPI_PP_TIMETICKET": {
        "CONF_NO": n(10), "ORDERID": c(12), "SEQUENCE": c(6), "OPERATION": c(4), "FIN_CONF": c(1),
        "CLEAR_RES": c(1), "POSTG_DATE": D, "DEV_REASON": c(4), "CONF_TEXT": c(40), "PLANT": c(4),
        "WORK_CNTR": c(8), "CONF_QUAN_UNIT": c(3), "YIELD": q(13, 3), "SCRAP": q(13, 3), "REWORK": q(13, 3),
        "CONF_ACTI_UNIT1": c(3), "CONF_ACTIVITY1": q(13, 3), "CONF_ACTI_UNIT2": c(3), "CONF_ACTIVITY2": q(13, 3),
        "EXEC_START_DATE": D, "EXEC_START_TIME": T, "EXEC_FIN_DATE": D, "EXEC_FIN_TIME": T,
        "PERS_NO": n(8), "EX_CREATED_BY": c(12), "EX_CREATED_DATE": D, "EX_CREATED_TIME": T, "EX_IDENT": c(32),
    },
    "BAPI2017_GM_ITEM_CREATE": {
        "MATERIAL": c(18), "PLANT": c(4), "STGE_LOC": c(4), "BATCH": c(10), "MOVE_TYPE": c(3), "STCK_TYPE": c(1),
        "ENTRY_QNT": q(13, 3), "ENTRY_UOM": c(3), "ITEM_TEXT": c(50), "ORDERID": c(12), "MVT_IND": c(1),
        "MOVE_MAT": c(18), "MOVE_PLANT": c(4), "MOVE_STLOC": c(4), "MOVE_BATCH": c(10), "MOVE_REAS": n(4),
    },
    "BAPI_LINK_CONF_GOODSMOV": {"INDEX_CONFIRM": I4, "INDEX_GOODSMOV": I4},
    "BAPI2017_GM_HEAD_01": {"PSTNG_DATE": D, "DOC_DATE": D, "PR_UNAME": c(12), "HEADER_TXT": c(25), "REF_DOC_NO": c(16)},
    "BAPI2017_GM_CODE": {"GM_CODE": c(2)},
    "BAPI2017_GM_HEAD_RET": {"MAT_DOC": c(10), "DOC_YEAR": n(4)},
    "BAPI_PP_ORDERRANGE": {"SIGN": c(1), "OPTION": c(2), "LOW": c(12), "HIGH": c(12)},
    "BAPI_PP_CONFRANGE": {"SIGN": c(1), "OPTION": c(2), "LOW": n(10), "HIGH": n(10)},
    "BAPI_CONF_KEY": {"CONF_NO": n(10), "CONF_CNT": n(8), "ORDERID": c(12), "SEQUENCE": c(6), "OPERATION": c(4),
                      "FIN_CONF": c(1), "REVERSED": c(1), "REV_CONF_CNT": n(8), "CONF_TEXT": c(40), "POSTG_DATE": D,
                      "EX_IDENT": c(32)},
    "BAPI_PP_CONFIRM": {"CONF_NO": n(10), "CONF_CNT": n(8), "ORDERID": c(12), "OPERATION": c(4), "FIN_CONF": c(1),
                        "POSTG_DATE": D, "CONF_QUAN_UNIT": c(3), "YIELD": q(13, 3), "SCRAP": q(13, 3),
                        "CONF_TEXT": c(40), "PERS_NO": n(8), "EX_IDENT": c(32), "REVERSED": c(1)},
    "BAPI2017_GM_ITEM_SHOW": {"MAT_DOC": c(10), "DOC_YEAR": n(4), "MATDOC_ITM": n(4), "MATERIAL": c(18),
                              "PLANT": c(4), "STGE_LOC": c(4), "BATCH": c(10), "MOVE_TYPE": c(3), "ENTRY_QNT": q(13, 3),
                              "ENTRY_UOM": c(3), "ORDERID": c(12), "X_AUTO_CRE": c(1)},
    "BAPI2017_GM_HEAD_02": {"MAT_DOC": c(10), "DOC_YEAR": n(4), "PSTNG_DATE": D, "HEADER_TXT": c(25),
                            "USERNAME": c(12), "REF_DOC_NO": c(16)},
    "BAPI2017_GM_MATERIAL_RA": {"SIGN": c(1), "OPTION": c(2), "LOW": c(18), "HIGH": c(18)},
    "BAPI2017_GM_BATCH_RA": {"SIGN": c(1), "OPTION": c(2), "LOW": c(10), "HIGH": c(10)},
    "BAPI2017_GM_MOVE_TYPE_RA": {"SIGN": c(1), "OPTION": c(2), "LOW": c(3), "HIGH": c(3)},
    "BAPI2017_GM_PSTNG_DATE_RA": {"SIGN": c(1), "OPTION": c(2), "LOW": D, "HIGH": D},
    "BAPI_ORDER_RANGE": {"SIGN": c(1), "OPTION": c(2), "LOW": c(12), "HIGH": c(12)},
    # BAPI_BATCH_CHANGE (reference §8.6): a subset of BAPIBATCHATT; RESTRICTED (batch status) is
    # the likely field name, unverified. BAPIBATCHATTX flags each attribute to change with X.
    "BAPIBATCHATT": {"EXPIRYDATE": D, "PROD_DATE": D, "LASTGRDATE": D, "VENDOR_NO": c(10), "VENDRBATCH": c(15),
                     "RESTRICTED": c(1)},
    "BAPIBATCHATTX": {"EXPIRYDATE": c(1), "PROD_DATE": c(1), "LASTGRDATE": c(1), "VENDOR_NO": c(1),
                      "VENDRBATCH": c(1), "RESTRICTED": c(1)},
    "BAPI_ORDER_HEADER1": {"ORDER_NUMBER": c(12), "MATERIAL": c(18), "PRODUCTION_PLANT": c(4),
                           "TARGET_QUANTITY": q(13, 3), "UNIT": c(3), "CONFIRMED_QUANTITY": q(13, 3),
                           "SCRAP": q(13, 3), "SYSTEM_STATUS": c(40)},
}


@dataclass(frozen=True)
class Param:
    """One parameter: a scalar (``kind`` a simple type), a structure or a table of one."""

    name: str
    shape: str  # "field", "structure" or "table"
    type: str | tuple[str, int, int]  # the structure's name, or a simple type
    optional: bool = True


@dataclass(frozen=True)
class Bapi:
    name: str
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]


def _t(name: str, struct: str, optional: bool = True) -> Param:
    return Param(name, "table", struct, optional)


def _s(name: str, struct: str, optional: bool = True) -> Param:
    return Param(name, "structure", struct, optional)


def _f(name: str, kind: tuple[str, int, int], optional: bool = True) -> Param:
    return Param(name, "field", kind, optional)


BAPIS: dict[str, Bapi] = {b.name: b for b in (
    Bapi("BAPI_PRODORDCONF_CREATE_TT",
         (_f("POST_WRONG_ENTRIES", c(1)), _f("TESTRUN", c(1)), _t("TIMETICKETS", "BAPI_PP_TIMETICKET", False),
          _t("GOODSMOVEMENTS", "BAPI2017_GM_ITEM_CREATE"), _t("LINK_CONF_GOODSMOV", "BAPI_LINK_CONF_GOODSMOV"),
          _t("DETAIL_RETURN", "BAPI_CORU_RETURN")),
         (_s("RETURN", "BAPIRET1"), _t("DETAIL_RETURN", "BAPI_CORU_RETURN"))),
    Bapi("BAPI_PRODORDCONF_GETLIST",
         (_t("ORDER_RANGE", "BAPI_PP_ORDERRANGE"), _t("CONF_RANGE", "BAPI_PP_CONFRANGE"),
          _t("CONFIRMATIONS", "BAPI_CONF_KEY")),
         (_s("RETURN", "BAPIRET2"), _t("CONFIRMATIONS", "BAPI_CONF_KEY"))),
    Bapi("BAPI_PRODORDCONF_GETDETAIL",
         (_f("CONFIRMATION", n(10), False), _f("CONFIRMATIONCOUNTER", n(8), False),
          _t("GOODSMOVEMENTS", "BAPI2017_GM_ITEM_SHOW")),
         (_s("CONF_DETAIL", "BAPI_PP_CONFIRM"), _s("RETURN", "BAPIRET1"), _t("GOODSMOVEMENTS", "BAPI2017_GM_ITEM_SHOW"))),
    Bapi("BAPI_PRODORDCONF_CANCEL",
         (_f("CONFIRMATION", n(10), False), _f("CONFIRMATIONCOUNTER", n(8), False), _f("POSTG_DATE", D),
          _f("CONF_TEXT", c(40))),
         (_s("RETURN", "BAPIRET1"), _f("LOCKED", c(1)), _f("CREATED_CONF_NO", n(10)), _f("CREATED_CONF_COUNT", n(8)))),
    Bapi("BAPI_GOODSMVT_CREATE",
         (_s("GOODSMVT_HEADER", "BAPI2017_GM_HEAD_01", False), _s("GOODSMVT_CODE", "BAPI2017_GM_CODE", False),
          _f("TESTRUN", c(1)), _t("GOODSMVT_ITEM", "BAPI2017_GM_ITEM_CREATE", False), _t("RETURN", "BAPIRET2")),
         (_s("GOODSMVT_HEADRET", "BAPI2017_GM_HEAD_RET"), _f("MATERIALDOCUMENT", c(10)), _f("MATDOCUMENTYEAR", n(4)),
          _t("RETURN", "BAPIRET2"))),
    Bapi("BAPI_GOODSMVT_GETITEMS",
         (_t("MATERIAL_RA", "BAPI2017_GM_MATERIAL_RA"), _t("BATCH_RA", "BAPI2017_GM_BATCH_RA"),
          _t("MOVE_TYPE_RA", "BAPI2017_GM_MOVE_TYPE_RA"), _t("PSTNG_DATE_RA", "BAPI2017_GM_PSTNG_DATE_RA"),
          _t("GOODSMVT_HEADER", "BAPI2017_GM_HEAD_02"), _t("GOODSMVT_ITEMS", "BAPI2017_GM_ITEM_SHOW"),
          _t("RETURN", "BAPIRET2")),
         (_t("GOODSMVT_HEADER", "BAPI2017_GM_HEAD_02"), _t("GOODSMVT_ITEMS", "BAPI2017_GM_ITEM_SHOW"),
          _t("RETURN", "BAPIRET2"))),
    Bapi("BAPI_GOODSMVT_CANCEL",
         (_f("MATERIALDOCUMENT", c(10), False), _f("MATDOCUMENTYEAR", n(4), False), _f("GOODSMVT_PSTNG_DATE", D),
          _t("RETURN", "BAPIRET2")),
         (_s("GOODSMVT_HEADRET", "BAPI2017_GM_HEAD_RET"), _t("RETURN", "BAPIRET2"))),
    Bapi("BAPI_BATCH_CHANGE",
         (_f("MATERIAL", c(18), False), _f("BATCH", c(10), False), _f("PLANT", c(4)),
          _s("BATCHATTRIBUTES", "BAPIBATCHATT"), _s("BATCHATTRIBUTESX", "BAPIBATCHATTX"), _t("RETURN", "BAPIRET2")),
         (_s("BATCHATTRIBUTES", "BAPIBATCHATT"), _t("RETURN", "BAPIRET2"))),
    Bapi("BAPI_PRODORD_GET_LIST",
         (_t("ORDER_NUMBER_RANGE", "BAPI_ORDER_RANGE"), _t("ORDER_HEADER", "BAPI_ORDER_HEADER1")),
         (_s("RETURN", "BAPIRET2"), _t("ORDER_HEADER", "BAPI_ORDER_HEADER1"))),
)}


def service_name(bapi: str) -> str:
    """The SOAMANAGER-style service a site wraps the BAPI in: ``ZWS_<BAPI>``."""
    return f"ZWS_{bapi}"
