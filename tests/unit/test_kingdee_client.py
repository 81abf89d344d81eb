"""The Kingdee client against the simulator: each authentication mode, one fresh login after a
lost session and no more, refusals typed by MsgCode, outages typed, secrets never shown."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.kingdee.client import KingdeeClient
from adapters.kingdee.signing import Identity
from adapters.kingdee.simulator import KingdeeSimulator
from bridge.errors import ConfigError, NotSentError, PermanentError
from bridge.simulation.faults import FaultSettings
from tests.polling import free_port

WHO = Identity("65f0a1b2c3d4e5", "mes_bridge", "300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u", "0123456789abcdef0123456789abcdef")
ROWS = [{"FBillNo": "MO1", "FQty": 1.0}, {"FBillNo": "MO2", "FQty": 2.0}, {"FBillNo": "MO3", "FQty": 3.0}]


@pytest.fixture
def sim() -> Any:
    with KingdeeSimulator(acct_id=WHO.acct_id, user=WHO.user, app_id=WHO.app_id, app_secret=WHO.app_secret,
                          password="pw-123") as simulator:
        simulator.seed("PRD_MO", ROWS)
        yield simulator


@pytest.mark.parametrize("mode", ["signed", "app_secret", "password"])
def test_each_mode_queries_and_survives_one_lost_session(sim: KingdeeSimulator, mode: str) -> None:
    client = KingdeeClient(sim.url, WHO, mode=mode, password="pw-123")  # type: ignore[arg-type]
    try:
        assert client.execute_bill_query("PRD_MO", "FBillNo", filter_string="FQty > 1", order_string="FBillNo") == [["MO2"], ["MO3"]]
        sim.forget_sessions()
        assert client.execute_bill_query("PRD_MO", "FBillNo", start_row=2, limit=5) == [["MO3"]]
    finally:
        client.close()
    hows = [how for _, how in sim.calls]
    if mode == "signed":
        assert hows == ["signature", "signature"]  # the forgotten session was replaced by a signed call
    else:
        assert hows == ["login", "session", "refused", "login", "session"]  # one fresh login, one retry


def test_an_identity_refused_after_a_fresh_login_is_a_configuration_error(sim: KingdeeSimulator) -> None:
    wrong = Identity(WHO.acct_id, WHO.user, WHO.app_id, "not-the-secret")
    client = KingdeeClient(sim.url, wrong)
    with pytest.raises(ConfigError, match="MsgCode 1") as refused:
        client.execute_bill_query("PRD_MO", "FBillNo")
    assert [how for _, how in sim.calls] == ["refused", "refused"]  # tried twice, not more
    assert "not-the-secret" not in str(refused.value)
    with pytest.raises(ConfigError, match="ValidateUser .* refused mes_bridge") as login:
        KingdeeClient(sim.url, WHO, mode="password", password="wrong-pw").execute_bill_query("PRD_MO", "FBillNo")
    assert "wrong-pw" not in str(login.value)
    with pytest.raises(ConfigError, match="thirty passport"):  # an unknown data center
        KingdeeClient(sim.url, Identity("0000", WHO.user, WHO.app_id, WHO.app_secret)).execute_bill_query("PRD_MO", "FBillNo")


def test_query_refusals_are_typed_by_msg_code(sim: KingdeeSimulator) -> None:
    client = KingdeeClient(sim.url, WHO)
    with pytest.raises(ConfigError, match="FNope.*MsgCode 9"):  # the mapping asks a field the tenant lacks
        client.execute_bill_query("PRD_MO", "FNope")
    with pytest.raises(PermanentError, match="MsgCode 4"):
        client.execute_bill_query("NO_SUCH_FORM", "FBillNo")


def test_an_unavailable_server_is_not_sent_and_an_absent_one_too() -> None:
    down = KingdeeSimulator(acct_id=WHO.acct_id, user=WHO.user, app_id=WHO.app_id, app_secret=WHO.app_secret,
                            faults=FaultSettings(fail_rate=1.0))
    with down, pytest.raises(NotSentError, match="HTTP 503"):
        KingdeeClient(down.url, WHO).execute_bill_query("PRD_MO", "FBillNo")
    with pytest.raises(NotSentError, match="cannot connect"):
        KingdeeClient(f"http://127.0.0.1:{free_port()}/k3cloud", WHO).execute_bill_query("PRD_MO", "FBillNo")


def test_tls_is_verified_by_default_and_a_bad_bundle_is_a_configuration_error(tmp_path: Any) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="Kingdee TLS settings"):
        KingdeeClient("https://erp.plant.example/k3cloud", WHO, ca_bundle=bad)
    with pytest.raises(ConfigError, match="password login needs a password"):
        KingdeeClient("https://erp.plant.example/k3cloud", WHO, mode="password")
