"""``bridge simulate kingdee``: registered with the bridge's CLI, its options (secrets from the
environment), and a run that serves the demo seed to Kingdee's SDK, keeps what was written in its
SQLite file, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from adapters.kingdee.simulator import KingdeeSimulator
from adapters.kingdee.simulator.cli import kingdee_simulator

DEMO_SEED = Path(__file__).parents[2] / "adapters" / "kingdee" / "simulator" / "demo_seed.json"
WHO = {"acct_id": "6c01b2c3d4e5f6", "user": "mes_cli", "app_id": "300999_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u",
       "app_secret": "99887766554433221100ffeeddccbbaa"}


def test_bridge_simulate_lists_kingdee_and_its_help_shows_the_options() -> None:
    from bridge.cli import main

    listed = CliRunner().invoke(main, ["simulate", "--help"])
    assert listed.exit_code == 0, listed.output
    assert "kingdee" in listed.output
    helped = CliRunner().invoke(main, ["simulate", "kingdee", "--help"])
    assert helped.exit_code == 0, helped.output
    for option in ("--port", "--host", "--acct-id", "--user", "--app-id", "--app-secret", "--password",
                   "--virtual-directory", "--store", "--seed", "--timezone", "--session-loss-rate", "--fail-rate",
                   "--latency-ms", "--lose-reply-rate", "--random-seed"):
        assert option in helped.output


def test_the_secret_must_come_from_an_option_or_the_environment(tmp_path: Path) -> None:
    args = ["--port", "0", "--acct-id", "a", "--user", "u", "--app-id", "1_x"]
    runner = CliRunner()
    missing = runner.invoke(kingdee_simulator, args, env={"KINGDEE_APP_SECRET": "", "KINGDEE_APP_SECRET_FILE": ""})
    assert missing.exit_code == 2
    assert "KINGDEE_APP_SECRET" in missing.output
    broken = tmp_path / "seed.json"
    broken.write_text('{"PRD_MO": [{"FTreeEntity": [{"FMaterialId": {"FNumber": "X"}}]}], "BD_MATERIAL": 3}')
    refused = runner.invoke(kingdee_simulator, [*args, "--app-secret", "s", "--seed", str(broken)])
    assert refused.exit_code == 2
    assert "BD_MATERIAL is not a list" in refused.output


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_the_command_serves_the_demo_seed_keeps_writes_and_stops_on_sigterm(tmp_path: Path) -> None:
    store = tmp_path / "k3.db"
    secret_file = tmp_path / "secret"
    secret_file.write_text(WHO["app_secret"] + "\n")
    env = {**os.environ, "KINGDEE_APP_SECRET_FILE": str(secret_file), "KINGDEE_PASSWORD": "pw-cli"}
    env.pop("KINGDEE_APP_SECRET", None)
    args = [sys.executable, "-m", "adapters.kingdee.simulator.cli", "--port", "0", "--acct-id", WHO["acct_id"],
            "--user", WHO["user"], "--app-id", WHO["app_id"], "--seed", str(DEMO_SEED), "--store", str(store)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        first = lines.get(timeout=60)
        assert first.startswith("Kingdee simulator: http://127.0.0.1:")
        assert "7 records seeded" in first
        url = first.split()[2]
        assert url.endswith("/k3cloud")
        from k3cloud_webapi_sdk.main import K3CloudApiSdk

        api = K3CloudApiSdk(url)
        api.InitConfig(acct_id=WHO["acct_id"], user_name=WHO["user"], app_id=WHO["app_id"], app_secret=WHO["app_secret"],
                       server_url=url, lcid=2052, org_num=0)
        rows = json.loads(api.ExecuteBillQuery({"FormId": "PRD_MO", "FieldKeys": "FBillNo,FTreeEntity_FSeq,FDocumentStatus",
                                                "OrderString": "FBillNo ASC, FTreeEntity_FSeq ASC"}))
        assert rows == [["MO260301", 1, "C"], ["MO260301", 2, "C"], ["MO260302", 1, "C"]]
        saved = json.loads(api.Save("PRD_MORPT", {"Model": {"FDescription": "MES:CLI-1", "FEntity": [
            {"FMaterialId": {"FNumber": "FG-2001"}, "FMoBillNo": "MO260301", "FMoEntrySeq": 2, "FQuaQty": 6}]}}))
        assert saved["Result"]["ResponseStatus"]["IsSuccess"] is True
        login = httpx.post(f"{url}/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc",
                           json={"parameters": [WHO["acct_id"], WHO["user"], "pw-cli", 2052]}, timeout=10)
        assert login.json()["LoginResultType"] == 1  # the password came from the environment
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert lines.get(timeout=10).strip() == "Kingdee simulator stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    again = KingdeeSimulator(**WHO, store=store)
    assert [b["FDescription"] for b in again.bills("PRD_MORPT")] == ["MES:CLI-1"]
    assert len(again.bills("PRD_PPBOM")) == 3
    assert again.seed_file(DEMO_SEED) == 0  # started again with the same seed: nothing seeded twice
    again.close()
