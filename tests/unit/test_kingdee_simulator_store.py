"""The Kingdee simulator's store and its Python API: bills kept in memory or in SQLite (and found
again by a new simulator on the same file), all-or-nothing transactions, concurrent clients, the
server's clock and zone, and seed_bill / bills / bill / view / change_bill as tests use them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.kingdee.simulator import KingdeeSimulator
from adapters.kingdee.simulator.store import MemoryStore, Record, SqliteStore, Store, open_store

WHO = {"acct_id": "6b01b2c3d4e5f6", "user": "mes_store", "app_id": "300888_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u",
       "app_secret": "00112233445566778899aabbccddeeff"}
ORDER = {"FPrdOrgId": {"FNumber": "300"}, "FTreeEntity": [{"FMaterialId": {"FNumber": "A-1"}, "FQty": 10}]}


def sdk_for(sim: KingdeeSimulator) -> Any:
    from k3cloud_webapi_sdk.main import K3CloudApiSdk

    api = K3CloudApiSdk(sim.url)
    api.InitConfig(acct_id=WHO["acct_id"], user_name=WHO["user"], app_id=WHO["app_id"], app_secret=WHO["app_secret"],
                   server_url=sim.url, lcid=2052, org_num=0)
    return api


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(None if request.param == "memory" else f"sqlite:///{tmp_path}/bills.db")
    yield opened
    opened.close()


def test_a_store_keeps_records_and_a_failed_transaction_keeps_nothing(store: Store) -> None:
    store.put(Record("PRD_MO", 100001, "MO1", {"FID": 100001, "FBillNo": "MO1"}))
    assert store.next_value("fid", 100001) == 100001

    def half_way() -> None:
        with store.transaction():
            store.put(Record("PRD_MO", 100002, "MO2", {"FID": 100002}))
            store.remove("PRD_MO", 100001)
            store.next_value("fid", 100001)
            raise RuntimeError("the operation failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        half_way()
    assert [r.number for r in store.records("PRD_MO")] == ["MO1"]
    assert store.next_value("fid", 100001) == 100002  # the value taken inside was given back
    assert store.ref_id("ORG", "100") == store.ref_id("ORG", "100") != store.ref_id("UNIT", "Pcs")
    assert [r.fid for r in store.by_number("PRD_MO", "MO1")] == [100001]
    assert store.get("PRD_MO", 9) is None


def test_open_store_takes_memory_a_sqlite_url_or_a_path(tmp_path: Path) -> None:
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path}/a.db"), SqliteStore)
    assert isinstance(open_store(tmp_path / "b.db"), SqliteStore)
    with pytest.raises(ValueError, match="sqlite"):
        open_store("postgres://db/bills")


def test_a_sqlite_store_outlives_the_simulator(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/erp.db"
    first = KingdeeSimulator(**WHO, store=url)
    fid, number = first.seed_bill("PRD_MO", ORDER)
    with first:
        reply = json.loads(sdk_for(first).Save("PRD_MORPT", {"Model": {"FDescription": "MES:S-1", "FEntity": [
            {"FMaterialId": {"FNumber": "A-1"}, "FMoBillNo": number, "FMoEntrySeq": 1, "FQuaQty": 4, "FFinishQty": 4}]},
            "IsAutoSubmitAndAudit": "true"}))
    first.close()
    second = KingdeeSimulator(**WHO, store=url)
    assert [b["FDescription"] for b in second.bills("PRD_MORPT")] == ["MES:S-1"]
    assert second.bill("PRD_MO", number)["FTreeEntity"][0]["FRepQuaQty"] == 4.0  # the write-back was kept too
    fid2, number2 = second.seed_bill("PRD_MO", ORDER)
    assert fid2 > reply["Result"]["Id"] > fid
    assert number2 == "MO000002"
    with second:
        unaudit = json.loads(sdk_for(second).UnAudit("PRD_MORPT", {"Numbers": [reply["Result"]["Number"]]}))
    assert unaudit["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert second.bill("PRD_MO", number)["FTreeEntity"][0]["FRepQuaQty"] == 0.0
    second.close()


def test_concurrent_clients_get_distinct_numbers_and_ids(tmp_path: Path) -> None:
    with KingdeeSimulator(**WHO, store=tmp_path / "busy.db") as sim:
        sim.seed_bill("BD_MATERIAL", {"FNumber": "A-1", "FName": "x"})
        failures: list[BaseException] = []

        def work() -> None:
            try:
                api = sdk_for(sim)
                for _ in range(8):
                    api.Save("PRD_MO", {"Model": ORDER})
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        bills = sim.bills("PRD_MO")
        assert len(bills) == 48
        assert len({b["FBillNo"] for b in bills}) == len({b["FID"] for b in bills}) == 48
        entries = [r["FEntryID"] for b in bills for r in b["FTreeEntity"]]
        assert len(set(entries)) == 48
        sim.close()


def test_the_server_clock_writes_zone_less_local_times_later_on_every_write() -> None:
    now = [datetime(2026, 1, 19, 3, 41, 4, 193000, tzinfo=UTC)]
    sim = KingdeeSimulator(**WHO, clock=lambda: now[0])
    fid, number = sim.seed_bill("PRD_MO", ORDER, status="A")
    bill = sim.bill("PRD_MO", number)
    assert bill["FCreateDate"] == bill["FModifyDate"] == "2026-01-19T11:41:04.193"  # Asia/Shanghai
    assert bill["FDate"] == "2026-01-19T00:00:00"
    stamps = [bill["FModifyDate"]]
    with sim:
        api = sdk_for(sim)
        for operation in ("Submit", "Audit", "UnAudit"):
            getattr(api, operation)("PRD_MO", {"Ids": str(fid)})
            stamps.append(sim.bill("PRD_MO", number)["FModifyDate"])
        now[0] += timedelta(minutes=5)
        api.Save("PRD_MO", {"Model": {"FID": fid, "FDescription": "edited"}})
        stamps.append(sim.bill("PRD_MO", number)["FModifyDate"])
    assert stamps == sorted(set(stamps))
    assert stamps[-1] == "2026-01-19T11:46:04.193"
    assert stamps[1] == "2026-01-19T11:41:04.194"  # the same instant still gives a later stamp
    utc = KingdeeSimulator(**WHO, timezone="UTC", clock=lambda: now[0])
    assert utc.bill("PRD_MO", utc.seed_bill("PRD_MO", ORDER)[1])["FCreateDate"].startswith("2026-01-19T03:46:04")
    with pytest.raises(ValueError, match="time zone"):
        KingdeeSimulator(**WHO, timezone="Mars/Olympus")
    still = KingdeeSimulator(**WHO, clock=lambda: now[0], status_touches_modify_date=False)
    fid, number = still.seed_bill("PRD_MO", ORDER, status="A")
    stamped = still.bill("PRD_MO", number)["FModifyDate"]
    with still:
        sdk_for(still).Submit("PRD_MO", {"Ids": str(fid)})
    assert still.bill("PRD_MO", number)["FModifyDate"] == stamped  # a status change alone left it


def test_seed_bill_takes_a_bill_to_the_status_asked() -> None:
    sim = KingdeeSimulator(**WHO)
    statuses = {status: sim.bill("PRD_MO", sim.seed_bill("PRD_MO", ORDER, status=status)[1])["FDocumentStatus"]
                for status in "ZABCD"}
    assert statuses == {s: s for s in "ZABCD"}
    with pytest.raises(ValueError, match="not one of"):
        sim.seed_bill("PRD_MO", ORDER, status="X")
    with pytest.raises(ValueError, match="unknown form"):
        sim.seed_bill("NO_SUCH", {})
    sim.seed_bill("BD_MATERIAL", {"FNumber": "A-1", "FName": "first"})
    with pytest.raises(ValueError, match="B-2"):  # materials are checked once any is kept
        sim.seed_bill("PRD_MO", {"FTreeEntity": [{"FMaterialId": {"FNumber": "B-2"}, "FQty": 1}]})
    with pytest.raises(ValueError, match="编码"):
        sim.seed_bill("BD_MATERIAL", {"FName": "no number"})


def test_bills_are_copies_and_change_bill_edits_as_a_user_would() -> None:
    sim = KingdeeSimulator(**WHO)
    _, number = sim.seed_bill("PRD_MO", ORDER)
    sim.bills("PRD_MO")[0]["FBillNo"] = "tampered"
    sim.bill("PRD_MO", number)["FTreeEntity"].clear()
    bill = sim.bill("PRD_MO", number)
    assert bill["FBillNo"] == number
    assert len(bill["FTreeEntity"]) == 1
    assert sim.bill("PRD_MO", "nope") is None
    entry = bill["FTreeEntity"][0]
    assert (entry["FEntryID"], entry["FSeq"], entry["FStockInQuaQty"], entry["FNoStockInQty"]) == (entry["FEntryID"], 1, 0.0, 10.0)
    changed = sim.change_bill("PRD_MO", number, {"FDescription": "planner moved it", "FTreeEntity": [
        {"FEntryID": entry["FEntryID"], "FQty": 12, "FPlanStartDate": "2026-05-01 08:00:00"},
        {"FMaterialId": {"FNumber": "A-1"}, "FQty": 3}]})
    assert changed["FDocumentStatus"] == "C"
    assert changed["FModifyDate"] > bill["FModifyDate"]
    rows = changed["FTreeEntity"]
    assert [(r["FSeq"], r["FQty"], r.get("FPlanStartDate")) for r in rows] == \
        [(1, 12.0, "2026-05-01T08:00:00"), (2, 3.0, None)]
    assert rows[0]["FNoStockInQty"] == 12.0
    assert rows[1]["FEntryID"] > rows[0]["FEntryID"]
    view = sim.view("PRD_MO", number)
    assert view["ModifyDate"] == changed["FModifyDate"]
    assert view["TreeEntity"][0]["Qty"] == 12.0
    assert [e for e in sim.effects if e[0] == "Change"] == [("Change", "PRD_MO", number)]
    with pytest.raises(KeyError):
        sim.view("PRD_MO", "nope")
    with pytest.raises(KeyError):
        sim.change_bill("PRD_MO", "nope", {})


def test_flat_rows_seed_one_entry_row_each_with_the_times_given() -> None:
    sim = KingdeeSimulator(**WHO)
    sim.seed("PRD_MO", [{"FBillNo": "MO7", "FDocumentStatus": "B", "FMaterialId.FNumber": "A-1", "FQty": 2.0,
                         "FModifyDate": "2026-12-01T08:00:00"}])
    bill = sim.bill("PRD_MO", "MO7")
    assert bill is not None
    assert (bill["FDocumentStatus"], bill["FModifyDate"]) == ("B", "2026-12-01T08:00:00")
    assert bill["FTreeEntity"][0]["FMaterialId"] == {"FNumber": "A-1"}
    assert bill["FTreeEntity"][0]["FQty"] == 2.0
