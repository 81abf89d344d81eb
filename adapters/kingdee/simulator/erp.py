"""The simulated data center: its store, clock and forms, and what every service asks of them
(find a bill by id or number, hand out ids and numbers, tell which fields a form has)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from adapters.kingdee.simulator.forms import FORMS, REF_FORMS, Form, ref_kind
from adapters.kingdee.simulator.store import Record, Store
from adapters.kingdee.simulator.values import Clock, ci_get, ref_number

__all__ = ["Erp"]

_FID_START = 100001


class Erp:
    """One data center. Every service runs under :attr:`lock`, so each is atomic."""

    def __init__(self, store: Store, clock: Clock, user: str, *,
                 custom_fields: Mapping[str, Iterable[str]] | None = None, touch_on_status: bool = True) -> None:
        self.store, self.clock, self.user = store, clock, user
        self.forms: dict[str, Form] = dict(FORMS)
        self.custom = {form: frozenset(f.lower() for f in fields) for form, fields in (custom_fields or {}).items()}
        self.touch_on_status = touch_on_status
        self.lock = threading.RLock()
        self.effects: list[tuple[str, str, str]] = []  # (operation, form, number) of every committed change

    def form(self, form_id: str) -> Form | None:
        return self.forms.get(form_id)

    # -- records ---------------------------------------------------------------------------
    def records(self, form_id: str) -> list[Record]:
        return self.store.records(form_id)

    def by_fid(self, form_id: str, fid: Any) -> Record | None:
        try:
            return self.store.get(form_id, int(str(fid).strip()))
        except (TypeError, ValueError):
            return None

    def by_number(self, form_id: str, number: str, material: str = "") -> Record | None:
        """A record by number (a lot by number and, when given, its material)."""
        found = self.store.by_number(form_id, number)
        if material:
            found = [r for r in found if ref_number(ci_get(r.model, "FMaterialId")) == material] or []
        return found[0] if found else None

    def put(self, record: Record, operation: str) -> None:
        self.store.put(record)
        self.effects.append((operation, record.form_id, record.number))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All the writes inside, or none (and no effects logged for them)."""
        mark = len(self.effects)
        try:
            with self.store.transaction():
                yield
        except BaseException:
            del self.effects[mark:]
            raise

    def remove(self, record: Record) -> None:
        self.store.remove(record.form_id, record.fid)
        self.effects.append(("Delete", record.form_id, record.number))

    # -- ids and numbers -------------------------------------------------------------------
    def new_fid(self) -> int:
        return self.store.next_value("fid", _FID_START)

    def new_entry_id(self, form_id: str) -> int:
        return self.store.next_value(f"entry:{form_id}", _FID_START)

    def new_number(self, form: Form) -> str:
        while True:
            number = f"{form.prefix}{self.store.next_value(f'number:{form.form_id}', 1):0{form.digits}d}"
            if not self.store.by_number(form.form_id, number):
                return number

    def ref_id(self, key: str, number: str, material: str = "") -> int:
        """The internal id a reference field's number stands for: a kept record's FID (0 when the
        record is not kept), else a made-up id stable per kind (one per org, per unit)."""
        if not number:
            return 0
        kind = ref_kind(key)
        if key.lower() in REF_FORMS:
            base = self.by_number(kind, number, material if kind == "BD_BatchMainFile" else "")
            if base is not None:
                return base.fid
            if kind == "BD_BatchMainFile" or self.records(kind):
                return 0
        return self.store.ref_id(kind, number)

    def referenced(self, key: str, number: str, material: str = "") -> Record | None:
        """The record a reference names, when the simulator keeps that form."""
        kind = REF_FORMS.get(key.lower())
        if kind is None or not number:
            return None
        return self.by_number(kind, number, material if kind == "BD_BatchMainFile" else "")

    def materials_kept(self) -> bool:
        return bool(self.records("BD_MATERIAL"))

    # -- fields ----------------------------------------------------------------------------
    def fields(self, form: Form) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
        """The header fields and each entity's fields a query may name (lowercase): the form's
        standard ones, the custom ones configured, and every one a kept record has."""
        header = set(form.header)
        entries = {e: set(form.entry_fields.get(e, frozenset())) for e in form.entities}
        for name in self.custom.get(form.form_id, frozenset()):  # "F_X" or "<entity>.F_X"
            entity_name, _, field_name = name.rpartition(".")
            entity = form.entity_of(entity_name) if entity_name else None
            (entries[entity] if entity else header).add(field_name)
        for record in self.records(form.form_id):
            for key, value in record.model.items():
                entity = form.entity_of(key)
                if entity is not None and isinstance(value, list):
                    for row in value:
                        if isinstance(row, Mapping):
                            entries[entity].update(k.lower() for k in row)
                elif form.subhead_of(key) is not None and isinstance(value, Mapping):
                    header.update(k.lower() for k in value)
                else:
                    header.add(key.lower())
        return frozenset(header), {e: frozenset(f) for e, f in entries.items()}
