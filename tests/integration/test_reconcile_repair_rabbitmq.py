"""Reconciliation's repair end to end on the real RabbitMQ, with the bridge running against the
K/3 Cloud simulator: a report K/3 refused (a material it did not know) is dead-lettered; once
the material exists, ``--repair`` replays the dead letter, the running bridge posts the report
exactly once, and the next run reports the discrepancy resolved; repairing again sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.reconcile.jobs import ReconcileSettings
from bridge.reconcile.runner import run_job
from bridge.runtime import names_for

from .erp_loops import LOOPS, settings_for
from .harness import bridge_topology, browse, wait_for
from .test_erp_loops_rabbitmq import bridge, publish_reports

pytestmark = pytest.mark.integration

MATERIAL = "FG-NEW-1"
JOB = {"view": "quantities", "key": ["order_id"], "source": {"ledger": "received"}, "target": {"erp": "kingdee"},
       "window": "30d", "values": {"yield": {}, "scrap": {"absent_as_zero": True}}}


def test_repair_replays_a_dead_letter_the_bridge_then_posts_once_and_the_next_run_resolves_it(
    rabbitmq: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = LOOPS["kingdee"].start()
    for name, value in loop.env().items():
        monkeypatch.setenv(name, value)
    try:
        settings = settings_for(tmp_path, "kingdee", loop.connection(), loop.route())
        settings = settings.model_copy(update={"reconcile": ReconcileSettings.model_validate(
            {"timezone": "Asia/Shanghai", "jobs": {"quantities": JOB}})})
        names = names_for(settings)
        dead_letters = names.dead_letter_queue(names.deliver_queue("kingdee"))
        report = loop.report("RPT-REPAIR-1", loop.seeded[0])
        report["payload"]["produced"][0]["material_id"] = MATERIAL
        with bridge_topology(settings), bridge(settings) as runtime:
            publish_reports(settings, [report])
            wait_for(lambda: browse(dead_letters), timeout=30)
            first = run_job("quantities", settings, runtime.ledger, env=loop.env(), by="tester")
            [missing] = first.open
            assert missing.kind == "missing_in_target"
            assert missing.action.startswith("report RPT-REPAIR-1: refused by the ERP (Kingdee Save of PRD_MORPT")
            assert f"“{MATERIAL}”在系统中不存在" in missing.action
            assert missing.action.endswith("dead-lettered; --repair sends RPT-REPAIR-1 again")
            loop.sim.seed_bill("BD_MATERIAL", {
                "FNumber": MATERIAL, "FName": "新产品", "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"},
                "SubHeadEntity": {"FErpClsID": "2", "FBaseUnitId": {"FNumber": "Pcs"}, "FIsInventory": True,
                                  "FIsProduce": True},
                "SubHeadEntity1": {"FStoreUnitID": {"FNumber": "Pcs"}, "FIsBatchManage": True}})
            repaired = run_job("quantities", settings, runtime.ledger, env=loop.env(), repair=True, by="tester")
            assert repaired.repaired == 1
            assert repaired.open[0].action == ("report RPT-REPAIR-1: replayed its dead letter to kingdee; "
                                               "the next run checks it")
            assert browse(dead_letters) == []
            key = "MES:RPT-REPAIR-1"
            wait_for(lambda: loop.posted().get(("PRD_MORPT", key)), timeout=30)
            wait_for(lambda: loop.posted().get(("PRD_PickMtrl", key)), timeout=30)
            after = run_job("quantities", settings, runtime.ledger, env=loop.env(), repair=True, by="tester")
            assert after.open == []
            assert [d.id for d in after.resolved] == [missing.id]
            assert after.resolved[0].resolved_by == "reconcile run"
            journal = runtime.ledger.statuses([report["message_id"]], "deliver:kingdee")
    finally:
        loop.stop()
    assert journal == {report["message_id"]: "delivered"}
    posted = loop.posted()
    assert {form: n for (form, k), n in posted.items() if k == "MES:RPT-REPAIR-1"} == {
        "PRD_MORPT": 1, "PRD_INSTOCK": 1, "PRD_PickMtrl": 1}
    assert json.loads(json.dumps(after.summary.as_dict()))["matched"] == 1
