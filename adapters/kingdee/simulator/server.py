"""A K/3 Cloud (金蝶云星空) WebAPI server for tests and demos: it authenticates as the real one
does and keeps bills that what a client writes can be read back from.

Every call is ``POST <virtual directory>/<ServiceFullName>.common.kdsvc`` (reference
kingdee-yonyou §1.1), the body JSON in any of the SDKs' forms. A caller is let in by

* a session it holds (header ``kdservice-sessionid`` or the cookie of that name): a valid session
  short-circuits authentication, as on the real server;
* the signed headers of the official SDK (``X-Api-Signature``, ``X-Kd-Signature``, see
  :mod:`adapters.kingdee.signing`); the server then issues a session in ``Set-Cookie``;
* a login: ``AuthService.ValidateUser`` (acctId, user, password, lcid) or
  ``AuthService.LoginByAppSecret`` (acctId, user, appId, appSecret, lcid), answering
  ``LoginResultType`` 1 with the session in the cookie and the body.

What the real server answers otherwise: a wrong user, app, secret or signature, or a session it
forgot, gets HTTP 200 with ``MsgCode`` 1 "会话信息已丢失，请重新登录" (misleading, but that is the
text); a data center (acctId) that does not exist gets a non-200 "Fail to verify thirty passport".

Business services (``DynamicFormService.<Op>``): Save, BatchSave, Draft, Submit, CancelAssign,
Audit, UnAudit, Delete, View, ExecuteBillQuery, BillQuery, Push, ExcuteOperation (Forbid,
Enable); each module's docstring says what it does (:mod:`.saving`, :mod:`.operations`,
:mod:`.query`, :mod:`.view`, :mod:`.push`, :mod:`.writeback`). Other services answer MsgCode 4 as
for an unknown one. Faults: see :mod:`.handler`, and ``session_loss_rate`` (the share of calls
before which the server forgets every session, as an application-pool recycle does).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.handler import KingdeeHandler
from adapters.kingdee.simulator.saving import SaveOptions, merge
from adapters.kingdee.simulator.seeding import load_seed_file, row_model, seed_bill
from adapters.kingdee.simulator.store import Store, open_store
from adapters.kingdee.simulator.values import Clock, ci_get, normalize
from adapters.kingdee.simulator.view import render
from adapters.kingdee.simulator.writeback import derive
from bridge.simulation.faults import FaultSettings
from bridge.simulation.http_server import HttpSimulator

__all__ = ["KingdeeSimulator"]


class KingdeeSimulator(HttpSimulator):
    """The server: one data center, one user, one third-party app (and optionally a password).

    Args:
        store: where bills are kept: None (in memory), ``"sqlite:///path.db"`` or a path.
        timezone: the server's zone, in which its zone-less times are written.
        clock: the current time (aware, or naive UTC), for tests that move time.
        custom_fields: per form, custom fields a query may name before any bill has them
            (``{"PRD_MORPT": ["F_ABC_MesKey"]}``; ``"FEntity.F_X"`` for an entry field).
        status_touches_modify_date: whether Submit / Audit / UnAudit / Forbid / Enable set
            FModifyDate too (by default every write does; whether the real server stamps a status
            change is not confirmed, so a poller can be tested against both).
    """

    thread_name = "kingdee-sim"

    def __init__(
        self, *, acct_id: str, user: str, app_id: str, app_secret: str, password: str | None = None,
        store: str | Path | Store | None = None, timezone: str = "Asia/Shanghai",
        faults: FaultSettings | None = None, session_loss_rate: float = 0.0, host: str = "127.0.0.1",
        port: int = 0, virtual_directory: str = "/k3cloud", clock: Callable[[], datetime] | None = None,
        custom_fields: Mapping[str, Iterable[str]] | None = None, status_touches_modify_date: bool = True,
    ) -> None:
        if not 0.0 <= session_loss_rate <= 1.0:
            raise ValueError(f"session_loss_rate must be between 0 and 1, got {session_loss_rate}")
        self.acct_id, self.user, self.password = acct_id, user, password
        self.faults = faults or FaultSettings()
        self.session_loss = FaultSettings(fail_rate=session_loss_rate, seed=self.faults.seed)
        self.apps = {app_id: app_secret}
        self.virtual_directory = "/" + virtual_directory.strip("/")
        self.sessions: set[str] = set()
        self.erp = Erp(open_store(store), Clock(timezone, clock), user, custom_fields=custom_fields,
                       touch_on_status=status_touches_modify_date)
        self.lock = self.erp.lock
        self.calls: list[tuple[str, str]] = []  # (service, how the caller was let in)
        super().__init__(host, port)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return KingdeeHandler

    @property
    def url(self) -> str:
        """The server URL with its virtual directory, as a client is configured with it."""
        return f"{self.base_url}{self.virtual_directory}"

    @property
    def effects(self) -> list[tuple[str, str, str]]:
        """Every committed change: (operation, form, number), e.g. ("Save", "PRD_MORPT", "SCHB00000001")."""
        return self.erp.effects

    def close(self) -> None:
        """Close the store (a SQLite file); the simulator is not used after."""
        self.erp.store.close()

    # -- data ----------------------------------------------------------------------------
    def seed_bill(self, form_id: str, model: Mapping[str, Any], status: str = "C") -> tuple[int, str]:
        """Save a Save-model (as a client's Save does) and take it to ``status`` (Z, A, B, C, D)
        by Submit / Audit / UnAudit; its FID and number. A PRD_MO's entry rows may carry
        ``Components`` (PRD_PPBOM entry models): its PRD_PPBOM is made too.

        Raises:
            ValueError: the server refused the model or a step.
        """
        return seed_bill(self.erp, form_id, model, status)

    def seed(self, form_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Bills from flat rows keyed as FieldKeys name them (``FBillNo``, ``FQty``,
        ``FMaterialId.FNumber``, ``FDocumentStatus`` for the status, default C;
        ``FModifyDate``/``FCreateDate`` kept as given), one entry row each."""
        for row in rows:
            model, status, times = row_model(form_id, self.erp, row)
            fid, _ = seed_bill(self.erp, form_id, model, status)
            if times:
                with self.lock:
                    record = self.erp.by_fid(form_id, fid)
                    assert record is not None
                    changed = record.copy()
                    changed.model.update(normalize(times))
                    self.erp.store.put(changed)

    def seed_file(self, path: str | Path) -> int:
        """Seed a seed file (see :mod:`.seeding`); how many records."""
        return load_seed_file(self.erp, path)

    def bills(self, form_id: str) -> list[dict[str, Any]]:
        """Every bill of a form as the server keeps it (Save-model dicts, copies), by FID."""
        with self.lock:
            return [copy.deepcopy(r.model) for r in self.erp.records(form_id)]

    def bill(self, form_id: str, number: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.erp.by_number(form_id, number)
            return copy.deepcopy(record.model) if record else None

    def view(self, form_id: str, number: str) -> dict[str, Any]:
        """What View answers in ``Result.Result`` for the bill.

        Raises:
            KeyError: no such bill.
        """
        with self.lock:
            record = self.erp.by_number(form_id, number)
            if record is None:
                raise KeyError(f"{form_id} {number}")
            return render(self.erp, record)

    def change_bill(self, form_id: str, number: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """A user's edit in the ERP, whatever the bill's status: header fields replaced, entry rows
        with an FEntryID changed, rows without one added (none deleted), FModifyDate set.

        Raises:
            KeyError: no such bill.
        """
        with self.lock, self.erp.transaction():
            record = self.erp.by_number(form_id, number)
            if record is None:
                raise KeyError(f"{form_id} {number}")
            form = self.erp.forms[form_id]
            changed = record.copy()
            status = changes.get("FDocumentStatus")
            merge(form, changed.model, normalize(changes), SaveOptions(delete_entry=False))
            if status:
                changed.model["FDocumentStatus"] = status
            for entity in form.entities:  # rows added get their ids as a Save gives them
                for seq, row in enumerate(ci_get(changed.model, entity) or [], 1):
                    if isinstance(row, dict):
                        row.setdefault("FEntryID", self.erp.new_entry_id(form_id))
                        row["FSeq"] = seq
            derive(form_id, changed.model)
            changed.model["FModifyDate"] = self.erp.clock.stamp()
            self.erp.put(changed, "Change")
            return copy.deepcopy(changed.model)

    # -- sessions ------------------------------------------------------------------------
    def forget_sessions(self) -> None:
        """The server lost every session (an application-pool recycle)."""
        with self.lock:
            self.sessions.clear()

    def new_session(self) -> str:
        sid = str(uuid.uuid4())
        with self.lock:
            self.sessions.add(sid)
        return sid

    def login(self, service: str, data: Any) -> tuple[dict[str, Any], str | None]:
        """A login's reply and the session it opened (None when refused)."""
        params = data.get("parameters") if isinstance(data, Mapping) else None
        if not isinstance(params, list):
            params = [data.get(k) for k in ("acctID", "username", "password", "lcid")] if isinstance(data, Mapping) else []
        params = [str(p) if p is not None else "" for p in params]
        if service == "ValidateUser":
            ok = len(params) >= 3 and params[:3] == [self.acct_id, self.user, self.password or "\0"]
        else:  # LoginByAppSecret
            ok = len(params) >= 4 and params[0] == self.acct_id and params[1] == self.user and \
                self.apps.get(params[2]) == params[3]
        if not ok:
            wrong_password = service == "ValidateUser" and len(params) >= 2 and params[:2] == [self.acct_id, self.user]
            return {"Message": "用户名或密码错误！" if wrong_password else "登录失败", "MessageCode": None,
                    "LoginResultType": 0 if wrong_password else -1, "Context": None, "KDSVCSessionId": None,
                    "IsSuccessByAPI": False}, None
        sid = self.new_session()
        return {"Message": None, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
                "Context": {"UserName": self.user, "DBid": self.acct_id, "SessionId": sid, "UserLocale": "zh-CN"},
                "KDSVCSessionId": sid, "IsSuccessByAPI": True}, sid
