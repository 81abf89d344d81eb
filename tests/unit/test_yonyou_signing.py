"""The YonBIP token signature: the documented string to sign, the same value as Yonyou's own SDK
computes, URL-encoded exactly once on the wire (as the reference's capture of the SDK shows),
and checked by the simulator's side as the server decodes it: once."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest
import requests

from adapters.yonyou.signing import sign, string_to_sign, token_params, verify, wire_query

# the API page's example parameters (no secret is published with them)
DOC_KEY, DOC_STAMP = "41832a3d2df94989b500da6a22268747", "1568098531823"
# the reference's capture of the SDK's token call (its secret was not recorded, so the signature
# cannot be recomputed: the test checks how the value travels)
CAPTURED = ("appKey=41832a3d2df94989b500da6a22268747&timestamp=1796193465547"
            "&signature=ptwXoYTRwx82iWJs20NchWcru4LbA%2BNQH2aYe3aC3aU%3D")
KEY, SECRET = "5f1c0e7a9b2d4c6e8a0b1c2d3e4f5a6b", "made-up-secret-0123456789abcdef01234567"


def awkward_params() -> dict[str, str]:
    """Token parameters whose signature holds both ``+`` and ``/`` (found by counting up)."""
    stamp = 1796193465547
    while True:
        params = token_params(KEY, SECRET, stamp)
        if "+" in params["signature"] and "/" in params["signature"]:
            return params
        stamp += 1


def test_the_string_to_sign_is_the_documented_one() -> None:
    params = {"timestamp": DOC_STAMP, "appKey": DOC_KEY, "signature": "left out"}
    assert string_to_sign(params) == "appKey41832a3d2df94989b500da6a22268747timestamp1568098531823"


def test_the_signature_is_base64_of_the_raw_hmac_as_the_sdk_computes_it() -> None:
    from yonbip_open_api_sdk.sign_opt import opt_sha256, opt_sort_data

    for stamp in (1568098531823, 1796193465547, 1800000000000):
        params = {"appKey": KEY, "timestamp": str(stamp)}
        assert opt_sort_data(params) == string_to_sign(params)
        assert opt_sha256(SECRET, opt_sort_data(params)).decode("ascii") == sign(SECRET, params)
        assert len(base64.b64decode(sign(SECRET, params))) == 32  # the raw digest, not its hex
    assert token_params(KEY, SECRET, 1796193465547.9)["timestamp"] == "1796193465547"


def test_the_wire_form_is_encoded_once_as_the_sdk_sent_it() -> None:
    raw = {"appKey": DOC_KEY, "timestamp": "1796193465547", "signature": "ptwXoYTRwx82iWJs20NchWcru4LbA+NQH2aYe3aC3aU="}
    assert wire_query(raw) == CAPTURED
    sent_by_requests = requests.Request("GET", "http://h/p", params=raw).prepare().url
    assert sent_by_requests is not None
    assert sent_by_requests.split("?", 1)[1] == CAPTURED


def test_the_server_side_decodes_once_and_refuses_a_value_encoded_twice_or_not_at_all() -> None:
    params = awkward_params()
    apps = {KEY: SECRET}
    assert verify(wire_query(params), apps) == (KEY, True)
    signature = params["signature"]
    head = f"appKey={KEY}&timestamp={params['timestamp']}&signature="
    assert verify(head + quote(quote(signature, safe=""), safe=""), apps) == (KEY, False)  # %252B
    assert verify(head + signature, apps) == (KEY, False)  # a raw "+" arrives as a space
    assert verify(head + quote_plus(signature), {KEY: "another secret"}) == (KEY, False)
    assert verify(head + quote_plus(signature), {"other-app": SECRET}) is None
    assert verify(f"appKey={KEY}&timestamp={params['timestamp']}", apps) == (KEY, False)


@pytest.mark.parametrize("changed", ["appKey", "timestamp"])
def test_the_signature_covers_the_key_and_the_timestamp(changed: str) -> None:
    params = token_params(KEY, SECRET, 1796193465547)
    other = dict(params, **{changed: params[changed] + "1"})
    assert verify(wire_query(other), {other["appKey"]: SECRET}) == (other["appKey"], False)
