"""The types a process's forms declare for its variables, and the values that contradict them.

A supervisor's repair sets variables without a form; the forms of the process are still the
contract the rest of the case reads (gateways compare numbers, the next form shows the value), so
a repair may not store text where every form that has a field of that name declares a number.
Only the JSON type is compared: enum options, date formats and bounds stay the forms' business.
The same declarations, read from the file with their lines (`declared_in`), are what the check
compares when forms disagree with each other (form_types.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from bpmn_service.errors import FieldError

from .bpmn_xml import BPMN_NS
from .camunda_ext import form_field_elements, read_form_fields

# The JSON type a value of each form field type has (forms.py's coercions).
KIND = {
    "long": "integer",
    "double": "number",
    "boolean": "boolean",
    "string": "string",
    "date": "string",
    "enum": "string",
}
_ARTICLE = {"integer": "an integer", "number": "a number", "boolean": "true or false"}


@dataclass(frozen=True, slots=True)
class Declaration:
    """One form field: its type and the form (start event or user task) it is on."""

    type: str
    element_id: str
    form: str  # "start form" or "task <name>"
    line: int | None = field(default=None, compare=False)  # of the field, when read from a file
    readonly: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"element_id": self.element_id, "form": self.form, "type": self.type}


def declarations(task_specs: Iterable[Any]) -> dict[str, list[Declaration]]:
    """Every form field of the given task specs (all of a process version's), by field id."""

    def fields() -> Iterable[tuple[str, Declaration]]:
        for spec in task_specs:
            element_id = getattr(spec, "bpmn_id", None)
            form_fields = (getattr(spec, "extensions", None) or {}).get("formFields") or []
            if not element_id or not form_fields:
                continue
            start = isinstance(spec, StartEvent)
            form = "start form" if start else f"task {spec.bpmn_name or element_id}"
            for f in form_fields:
                yield f["id"], Declaration(f["type"], element_id, form)

    return _grouped(fields())


def declared_in(process: etree._Element) -> dict[str, list[Declaration]]:
    """Every form field of a process element (start events' and tasks' forms), by field id,
    each with its line and whether it is read-only."""

    def fields() -> Iterable[tuple[str, Declaration]]:
        for el in process.iter(f"{{{BPMN_NS}}}startEvent", f"{{{BPMN_NS}}}userTask"):
            element_id = el.get("id")
            if not element_id:
                continue
            start = etree.QName(el.tag).localname == "startEvent"
            form = "start form" if start else f"task {el.get('name') or element_id}"
            for xml_field, f in zip(form_field_elements(el), read_form_fields(el), strict=True):
                readonly = "readonly" in f["constraints"]
                yield (
                    f["id"],
                    Declaration(f["type"], element_id, form, xml_field.sourceline, readonly),
                )

    return _grouped(fields())


def _grouped(fields: Iterable[tuple[str, Declaration]]) -> dict[str, list[Declaration]]:
    found: dict[str, list[Declaration]] = {}
    for field_id, declaration in fields:
        listed = found.setdefault(field_id, [])
        if declaration not in listed:  # one element may stand in more than one spec
            listed.append(declaration)
    for listed in found.values():
        listed.sort(key=lambda d: (d.form != "start form", d.line or 0, d.element_id))
    return found


def date_names(declared: Mapping[str, list[Declaration]]) -> frozenset[str]:
    """The variables some form declares a date (a `date` field of that name in any form)."""
    return frozenset(
        name for name, forms in declared.items() if any(d.type == "date" for d in forms)
    )


def expected_kind(declared: list[Declaration]) -> str | None:
    """The JSON type every declaration agrees on (long and double agree on a number); None
    when they disagree, so that nothing is checked."""
    kinds = {KIND.get(d.type) for d in declared}
    if kinds == {"integer", "number"}:
        return "number"
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()
    return None


def value_kind(value: Any) -> str:
    """The JSON type of a value, with integers and floats told apart."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _shown(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fits(kind: str, value: Any) -> bool:
    got = value_kind(value)
    return got == kind or (kind == "number" and got in {"integer", "float"})


def contradictions(
    declared: Mapping[str, list[Declaration]], values: Mapping[str, Any], prefix: str = ""
) -> list[FieldError]:
    """A problem for each value whose type contradicts its forms, its field named `prefix` and
    the variable's name; null clears and always fits."""
    problems: list[FieldError] = []
    for name, value in values.items():
        forms = declared.get(name)
        kind = expected_kind(forms) if forms else None
        if value is None or kind is None or forms is None or _fits(kind, value):
            continue
        types = sorted({d.type for d in forms})
        where = ", ".join(f"{d.form} ({d.element_id})" for d in forms)
        got = value_kind(value)
        message = (
            f"is declared {' and '.join(types)} ({_ARTICLE.get(kind, 'text')}) by {where}; "
            f"the value {_shown(value)} is {'an' if got[0] in 'aeiou' else 'a'} {got}"
        )
        problems.append(
            FieldError(
                prefix + name,
                message,
                extra={
                    "expected": kind,
                    "value_type": got,
                    "declared_by": [d.to_dict() for d in forms],
                },
            )
        )
    return problems
