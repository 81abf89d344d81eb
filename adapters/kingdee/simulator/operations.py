"""The write services but Push: Save / BatchSave / Draft, the status operations and ExcuteOperation.

Status operations take ``Ids`` ("1001,1002" or a list; they win over ``Numbers``) or ``Numbers``
and run per item (one refused, the others still done), as K/3 Cloud does:

* Submit A/D -> B; CancelAssign (撤销) B -> A; Audit B -> C (writes back to the source bill);
  UnAudit C -> D (takes the write-back back); Delete removes A, D and Z only;
* anything else is refused with MsgCode 11 and the server's kind of message
  (``单据编号为“X”的生产汇报单，单据已经审核！``); an id or number that does not exist with
  MsgCode 10.

ExcuteOperation with ``opNumber`` Forbid / Enable sets a base-data record's ``FForbidStatus`` to
B / A (refused when it already is); it also runs the status operations above by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kingdee.simulator import writeback
from adapters.kingdee.simulator.erp import Erp
from adapters.kingdee.simulator.forms import Form
from adapters.kingdee.simulator.replies import Failure, Outcome, failure, status
from adapters.kingdee.simulator.saving import options_of, returned_data, save
from adapters.kingdee.simulator.store import Record
from adapters.kingdee.simulator.values import ci_get

__all__ = ["STATUS_OPERATIONS", "execute_operation", "save_service", "status_service", "transition"]

STATUS_OPERATIONS = ("Submit", "CancelAssign", "Audit", "UnAudit", "Delete")
#: operation -> (states it starts from, state it leads to)
_MOVES = {"Submit": ("AD", "B"), "CancelAssign": ("B", "A"), "Audit": ("B", "C"), "UnAudit": ("C", "D"),
          "Delete": ("ADZ", "")}
_REFUSALS = {
    ("Submit", "Z"): "单据为暂存状态，请先保存再提交！", ("Submit", "B"): "单据已经提交！",
    ("Submit", "C"): "单据已经审核！", ("CancelAssign", "C"): "单据已经审核，不能撤销！",
    ("Audit", "C"): "单据已经审核！", ("Delete", "B"): "单据已经提交，不能删除！",
    ("Delete", "C"): "单据已经审核，不能删除！",
}
_DEFAULT_REFUSALS = {"CancelAssign": "单据未提交，不能撤销！", "Audit": "单据未提交，不能审核！",
                     "UnAudit": "单据未审核，不能反审核！"}


def _label(form: Form, record: Record) -> str:
    return f"{form.number_label}为“{record.number}”的{form.title}，"


def transition(erp: Erp, form: Form, record: Record, operation: str) -> Failure | None:
    """Move one record by a status operation (written when allowed); the refusal otherwise."""
    state = str(ci_get(record.model, "FDocumentStatus") or "A")
    sources, target = _MOVES[operation]
    if state not in sources:
        reason = _REFUSALS.get((operation, state)) or _DEFAULT_REFUSALS.get(operation, "单据状态不允许此操作！")
        return Failure(_label(form, record) + reason, 11, "")
    if operation == "Delete":
        erp.remove(record)
        return None
    changed = record.copy()
    changed.model["FDocumentStatus"] = target
    stamp = erp.clock.stamp()
    if erp.touch_on_status:
        changed.model["FModifyDate"] = stamp
    if operation == "Audit":
        changed.model["FApproveDate"] = stamp
        writeback.apply(erp, changed)
    elif operation == "UnAudit":
        changed.model["FApproveDate"] = None
        writeback.revert(erp, changed)
    erp.put(changed, operation)
    return None


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)] if isinstance(value, int) and value else []


def targets(erp: Erp, form: Form, data: Mapping[str, Any]) -> list[tuple[Record | None, str]] | None:
    """The records ``Ids`` (or else ``Numbers``) name, each with how it was named; None: neither."""
    ids, numbers = _items(ci_get(data, "Ids")), _items(ci_get(data, "Numbers"))
    if ids:
        return [(erp.by_fid(form.form_id, i), f"内码为“{i}”") for i in ids]
    if numbers:
        return [(erp.by_number(form.form_id, n), f"{form.number_label}为“{n}”") for n in numbers]
    return None


def _each(erp: Erp, form: Form, data: Mapping[str, Any], run: Any, success: str = "") -> dict[str, Any]:
    chosen = targets(erp, form, data)
    if chosen is None:
        return failure("请传入单据内码(Ids)或单据编码(Numbers)。", 8)
    done: list[Outcome] = []
    refused: list[Failure] = []
    messages: list[str] = []
    for index, (record, named) in enumerate(chosen):
        if record is None:
            refused.append(Failure(f"未找到{named}的{form.title}。", 10, "", index))
            continue
        with erp.transaction():
            problem = run(record)
        if problem is None:
            done.append(Outcome(record.fid, record.number, index))
            messages.append(_label(form, record) + success if success else "")
        else:
            refused.append(Failure(problem.message, problem.code, problem.field, index))
    return {"Result": {"ResponseStatus": status(done, refused, messages if success else ())}}


def status_service(erp: Erp, form: Form, operation: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return _each(erp, form, data, lambda r: transition(erp, form, r, operation),
                 "审核成功！" if operation == "Audit" else "")


def _forbid(erp: Erp, form: Form, record: Record, forbid: bool) -> Failure | None:
    state = ci_get(record.model, "FForbidStatus") or "A"
    if (state == "B") == forbid:
        return Failure(_label(form, record) + ("数据已经禁用，不能重复禁用！" if forbid else "数据未禁用，不能反禁用！"), 11, "")
    changed = record.copy()
    stamp = erp.clock.stamp()
    changed.model.update({"FForbidStatus": "B" if forbid else "A", "FForbidDate": stamp if forbid else None,
                          "FModifyDate": stamp})
    erp.put(changed, "Forbid" if forbid else "Enable")
    return None


def execute_operation(erp: Erp, form: Form, op_number: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """ExcuteOperation (sic): Forbid / Enable on base data, or a status operation by name."""
    name = op_number.strip().lower()
    if name in ("forbid", "enable"):
        if not form.base:
            return failure(f"{form.title}没有“{op_number}”操作。", 12)
        return _each(erp, form, data, lambda r: _forbid(erp, form, r, name == "forbid"))
    standard = next((o for o in STATUS_OPERATIONS if o.lower() == name), None)
    if standard is not None:
        return status_service(erp, form, standard, data)
    return failure(f"业务操作“{op_number}”不存在，或者不适用于{form.title}。", 4)


def save_service(erp: Erp, form: Form, data: Mapping[str, Any], *, batch: bool = False,
                 draft: bool = False) -> dict[str, Any]:
    """Save (one Model), BatchSave (a list, each with its DIndex) or Draft."""
    options = options_of(data, draft)
    models = ci_get(data, "Model")
    if batch and isinstance(models, Mapping):
        models = [models]
    if not batch or not isinstance(models, list):
        models = [models]
    done: list[Outcome] = []
    refused: list[Failure] = []
    returned: list[dict[str, Any]] = []
    for index, model in enumerate(models):
        with erp.transaction():
            record, problems = save(erp, form, model, options, index)
            if record is None:
                refused += problems
                continue
            erp.put(record, "Draft" if draft else "Save")
            for step in ("Submit", "Audit") if options.auto_audit and not draft else ():
                current = erp.by_fid(form.form_id, record.fid)
                problem = transition(erp, form, current, step) if current else None
                if problem is not None:
                    refused.append(Failure(problem.message, problem.code, problem.field, index))
                    break
        done.append(Outcome(record.fid, record.number, index))
        latest = erp.by_fid(form.form_id, record.fid) or record
        returned.append(returned_data(form, latest.model, options.return_fields))
    single = done[0] if done and not batch else None
    return {"Result": {"ResponseStatus": status(done, refused), "Id": single.fid if single else "",
                       "Number": single.number if single else "", "NeedReturnData": returned or [{}]}}
