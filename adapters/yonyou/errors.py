"""What YonBIP's answers mean for a message: the gateway's and the token service's string codes,
the business APIs' codes, HTTP statuses and connection failures -> transient, permanent or
configuration (reference kingdee-yonyou §2.1, §5; the platform code table of the open platform's
返回码说明 page).

Codes come as strings in HTTP 200 replies (``{"code": "310036", "message": "非法token"}``); the
client compares them as strings. Decisions the docs leave open:

* ``999`` 服务端逻辑异常 is **permanent**: the API pages describe it as "取决于错误类型，不同错误信息不同"
  and the open platform's trouble-shooting list sends it back to the data (a code that does not
  exist in the tenant: organisation, material, transaction type; a missing ``_status``; amounts
  that do not add up). The same payload meets the same refusal; a person has to look.
* ``310036`` 非法token is what an expired token gets too; the client refreshes once and retries
  once, so when it reaches this table the fresh token was refused as well: configuration (the
  token service and the gateway belong to different data centres, or the app was re-keyed).
* ``310003`` 获取token失败 is the simulator's answer to a wrong signature (the real code for a bad
  signature is not documented; a wrong secret is a configuration error whichever code it has).
"""

from __future__ import annotations

from bridge.adapter.errors import ErrorFacts, ErrorKind, ErrorRule, ErrorTable

__all__ = ["ERRORS", "GATEWAY_REFUSALS"]

#: Transient codes the gateway answers before the call reaches the business service: nothing was
#: written, the call may be sent again without looking it up.
GATEWAY_REFUSALS = frozenset({"310032", "310039", "310042", "310043", "310046", "310072"})

T, P, C = ErrorKind.TRANSIENT, ErrorKind.PERMANENT, ErrorKind.CONFIGURATION


def _code(code: str, kind: ErrorKind, reason: str, text: str | None = None) -> ErrorRule:
    return ErrorRule(kind, reason, code=code, text=text, example=ErrorFacts(code=code, text=text or reason))


ERRORS = ErrorTable(
    "Yonyou",
    (
        # gateway and token service (HTTP 200, string codes)
        _code("310001", C, "310001: the gateway saw no access_token (a proxy strips it, or it is sent where the gateway does not read it)"),
        _code("310036", C, "310036: the access_token is refused even right after a fresh one (token service and gateway of different data centres?)"),
        _code("310037", C, "310037: the API is not authorised for the app (开放平台 -> API授权)"),
        _code("310005", C, "310005: the app does not exist"),
        _code("310006", C, "310006: the app is disabled"),
        _code("10018", C, "10018: the app does not exist or its appKey is disabled (or the token URL is another data centre's)"),
        _code("310003", C, "310003: the token service refused the app's signature (wrong app secret)"),
        _code("310404", C, "310404: the gateway has no such API (check the path and the gateway URL's /iuap-api-gateway prefix)"),
        _code("310405", C, "310405: the API does not take this HTTP method"),
        _code("500", C, "getGatewayAddress: the tenant id is unknown to the open platform", text="网关地址"),
        _code("310046", T, "310046: the API's rate limit was reached"),
        _code("310032", T, "310032: the system-wide rate limit was reached"),
        _code("310039", T, "310039: the app's rate limit was reached"),
        _code("310042", T, "310042: the product's rate limit was reached"),
        _code("310043", T, "310043: the API's circuit breaker is open"),
        _code("310071", T, "310071: the gateway's call to the business service failed"),
        _code("310072", T, "310072: the business service refused the gateway's connection"),
        _code("310504", T, "310504: the business service did not answer the gateway in time (retry with the same resubmitCheckKey)"),
        _code("202", T, "202: an idempotent API is still processing the request (ask again with the same resubmitCheckKey)"),
        _code("310002", P, "310002: the body is not JSON"),
        _code("310008", P, "310008: a required parameter is missing"),
        _code("310015", P, "310015: a parameter fails its pattern"),
        _code("310023", P, "310023: a parameter has the wrong type"),
        # business services
        _code("999", P, "999: the business service refused the data (服务端逻辑异常: unknown code, missing field, inconsistent amounts)"),
        _code("1002", P, "1002: the data does not exist"),
        # HTTP and the network
        ErrorRule(T, "HTTP 429: the gateway's rate limit was reached", status=429, example=ErrorFacts(status=429)),
        ErrorRule(C, "HTTP 404: no such API at this gateway URL", status=404, example=ErrorFacts(status=404)),
        ErrorRule(C, "HTTP 401/403: the gateway refuses the bridge", status=(401, 403), example=ErrorFacts(status=403)),
        ErrorRule(T, "YonBIP or the network in between is unavailable (HTTP 5xx)", status=(500, 599),
                  example=ErrorFacts(status=503)),
        ErrorRule(T, "no connection to YonBIP", exception="ConnectionError",
                  example=ErrorFacts(exception=ConnectionRefusedError(111, "Connection refused"))),
        ErrorRule(T, "YonBIP did not answer in time", exception="TimeoutError",
                  example=ErrorFacts(exception=TimeoutError("timed out"))),
        ErrorRule(T, "the connection to YonBIP failed", exception="TransportError",
                  example=ErrorFacts(exception=type("TransportError", (Exception,), {})("reset"))),
    ),
)
