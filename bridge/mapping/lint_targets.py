"""Target fields and events of a mapping checked against the canonical model (``bridge mapping
lint``): fields the entity does not have, required fields no rule fills, events it does not
know.

The canonical model (:mod:`bridge.canonical`) forbids unknown fields, so a mapping writing
``plant:`` on a lot fails on the first document; here it fails before. Nested objects
(``fields``), lists (``foreach``, ``chain``) and the branches of ``cases`` and ``first_of`` are
followed into the model's nested types. Suggestions come from the entity's own field names
(difflib) and from the model's field descriptions (``site``: "Plant [HierarchyScope] (SAP
WERKS)", so ``plant`` suggests ``site``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from bridge.canonical import ENTITY_ENVELOPES, ENTITY_EVENTS
from bridge.mapping.lint_report import Problem, did_you_mean, items, line_at, nearest
from bridge.mapping.lint_shapes import unwrap

__all__ = ["check_events", "check_targets", "payload_model"]


def payload_model(entity: str) -> type[BaseModel] | None:
    """The canonical payload model of an entity (``Order`` for ``order``)."""
    envelope = ENTITY_ENVELOPES.get(entity)
    if envelope is None:
        return None
    return unwrap(envelope.model_fields["payload"].annotation)[1]


def check_targets(data: Mapping[str, Any], entity: str, file: str) -> list[Problem]:
    """Problems of the target fields of a mapping to canonical ``entity``."""
    model = payload_model(entity)
    fields = data.get("fields")
    if model is None or not isinstance(fields, Mapping):
        return []
    checker = _Targets(file)
    checker.object(fields, model, entity, line_at(data, "fields"))
    return checker.problems


class _Targets:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def object(self, spec: Mapping[str, Any], model: type[BaseModel], label: str, line: int) -> None:
        names = _field_names(model)
        for name, expr in spec.items():
            field = names.get(name)
            at = line_at(spec, name, line)
            if field is None:
                self.add(at, f"{label} has no field {name}" + did_you_mean(_suggest(name, model)))
                continue
            self.value(expr, model.model_fields[field].annotation, f"{label}.{name}", at)
        for field, info in model.model_fields.items():
            if info.is_required() and (info.alias or field) not in spec and field not in spec:
                self.add(line, f"{label} requires {info.alias or field}, and no rule fills it")

    def value(self, expr: Any, annotation: Any, label: str, line: int) -> None:
        if not isinstance(expr, Mapping):
            return
        line = getattr(expr, "line", None) or line
        kind, inner = unwrap(annotation)
        if "foreach" in expr:
            makes = "an object of keyed values" if "key" in expr else "a list"
            if kind == "one":
                self.add(
                    line, f"{label} holds one {'object' if inner else 'value'}, but foreach makes {makes}"
                )
            elif inner is not None and isinstance(expr.get("fields"), Mapping):
                self.object(expr["fields"], inner, f"{label}[]", line_at(expr, "fields", line))
            elif inner is not None and "item" in expr:
                self.value(expr["item"], inner, f"{label}[]", line_at(expr, "item", line))
        elif isinstance(expr.get("fields"), Mapping):
            if kind == "one" and inner is None:
                self.add(line, f"{label} is a value, not an object: fields makes an object")
            elif kind == "one" and inner is not None:
                self.object(expr["fields"], inner, label, line_at(expr, "fields", line))
            elif kind == "list":
                self.add(line, f"{label} is a list: write foreach with fields, or chain")
        for part in items(expr.get("chain")):
            if kind == "one":
                self.add(line, f"{label} holds one {'object' if inner else 'value'}, but chain makes a list")
                break
            self.value(part, annotation, label, line)
        for case in items(expr.get("cases")):
            if isinstance(case, Mapping):
                self.value(case.get("then"), annotation, label, line_at(case, "then", line))
        if "cases" in expr:
            self.value(expr.get("otherwise"), annotation, label, line_at(expr, "otherwise", line))
        for item in items(expr.get("first_of")):
            self.value(item, annotation, label, line)


def check_events(data: Mapping[str, Any], entity: str, direction: str, file: str) -> list[Problem]:
    """Events the entity does not have: the constant events of a mapping to canonical, the
    ``source.events`` of a reverse mapping."""
    allowed = ENTITY_EVENTS.get(entity)
    if allowed is None:
        return []
    found: list[tuple[Any, int]] = []
    if direction == "to_canonical" and "event" in data:
        found = _constants(data["event"], line_at(data, "event"))
    elif direction == "from_canonical":
        source = data.get("source")
        events = source.get("events") if isinstance(source, Mapping) else None
        found = [(e, line_at(source, "events")) for e in items(events)]
    return [
        Problem(
            file,
            line,
            f"{entity} has no event {value!r} (events: {', '.join(allowed)})"
            + did_you_mean(nearest(str(value), allowed)),
        )
        for value, line in found
        if value is not None and value not in allowed
    ]


def _constants(spec: Any, line: int) -> list[tuple[Any, int]]:
    """The constant events an event expression can give, with their lines."""
    if not isinstance(spec, Mapping):
        return [(spec, line)]
    line = getattr(spec, "line", None) or line
    found: list[tuple[Any, int]] = []
    if "value" in spec:
        found.append((spec["value"], line_at(spec, "value", line)))
    for case in items(spec.get("cases")):
        if isinstance(case, Mapping) and "then" in case:
            found.extend(_constants(case["then"], line_at(case, "then", line)))
    if "otherwise" in spec:
        found.extend(_constants(spec["otherwise"], line_at(spec, "otherwise", line)))
    return found


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """JSON name (alias or name) and name -> field name."""
    names = {name: name for name in model.model_fields}
    names.update({info.alias: name for name, info in model.model_fields.items() if info.alias})
    return names


def _suggest(name: str, model: type[BaseModel]) -> str | None:
    fields = list(model.model_fields)
    close = nearest(name, fields, cutoff=0.8)  # a typo
    if close:
        return close
    word = name.casefold()  # another word for a field: plant for site
    described = [f for f in fields if word in _described_words().get(f, ())]
    if len(described) == 1:
        return described[0]
    return nearest(name, fields, cutoff=0.45)


@cache
def _described_words() -> dict[str, frozenset[str]]:
    """Per field name, the words of its descriptions anywhere in the canonical model."""
    words: dict[str, set[str]] = {}
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [
        unwrap(e.model_fields["payload"].annotation)[1] or e for e in ENTITY_ENVELOPES.values()
    ]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            words.setdefault(name, set()).update(
                re.findall(r"[a-z0-9_]+", (info.description or "").casefold())
            )
            inner = unwrap(info.annotation)[1]
            if inner is not None:
                stack.append(inner)
    return {name: frozenset(found) for name, found in words.items()}
