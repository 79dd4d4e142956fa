"""camunda:formData fields: deploy-time checks, JSON Schema, and validation of submitted values."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bpmn_service.errors import FieldError

FIELD_TYPES = frozenset({"string", "long", "double", "boolean", "date", "enum"})
CONSTRAINTS = frozenset({"required", "minlength", "maxlength", "min", "max", "readonly"})
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_STRING = 100_000
# JSON numbers beyond this are not representable in every client; `long` means a 64-bit integer.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class FormField:
    id: str
    type: str
    label: str | None = None
    default: str | None = None
    values: tuple[tuple[str, str | None], ...] = ()
    constraints: dict[str, str | None] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return "required" in self.constraints

    @property
    def readonly(self) -> bool:
        return "readonly" in self.constraints

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "label": self.label,
            "default": self.default,
            "values": [list(v) for v in self.values],
            "constraints": dict(self.constraints),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FormField:
        return cls(
            id=data["id"],
            type=data["type"],
            label=data.get("label"),
            default=data.get("default"),
            values=tuple((v[0], v[1]) for v in data.get("values", [])),
            constraints=dict(data.get("constraints", {})),
        )


def check_fields(fields: list[FormField]) -> list[tuple[int, str]]:
    """Every problem of a form definition (empty when it can be used), each with the position of
    its field in `fields` (so that a finding can point at the field's line)."""
    found: list[tuple[int, str]] = []
    for index, f in enumerate(fields):
        found.extend((index, problem) for problem in _field_problems(f, fields[:index]))
    return found


def _field_problems(f: FormField, before: list[FormField]) -> list[str]:
    problems: list[str] = []
    if not f.id or not IDENTIFIER.match(f.id):
        return [f"form field id {f.id!r} is not an identifier"]
    if any(other.id == f.id for other in before):
        problems.append(f"form field {f.id!r} is defined twice")
    if f.type not in FIELD_TYPES:
        problems.append(
            f"form field {f.id!r} has type {f.type!r}; use one of {', '.join(sorted(FIELD_TYPES))}"
        )
        return problems
    if f.type == "enum" and not f.values:
        problems.append(f"enum form field {f.id!r} has no camunda:value")
    for name, config in f.constraints.items():
        if name not in CONSTRAINTS:
            problems.append(
                f"form field {f.id!r}: constraint {name!r} is not supported "
                f"(use {', '.join(sorted(CONSTRAINTS))})"
            )
        elif name in {"minlength", "maxlength", "min", "max"}:
            problems.extend(_check_bound(f, name, config))
    if f.default is not None and (f.type != "enum" or f.values):
        if not _reads_as_default(f, f.default):
            problems.append(_bad_default(f, f.default))
    return problems


# What to write as a defaultValue, by field type (a Forms tab's "Default value" is plain text).
_DEFAULT_TEXT = {
    "string": ("is too long", f"write at most {MAX_STRING} characters"),
    "long": ("is not a whole number", "write a whole number such as 100 (digits, no unit)"),
    "double": ("is not a number", "write a number such as 1.5 (a point, no comma or unit)"),
    "boolean": ("is not true or false", "write true or false"),
    "date": ("is not a date", "write a date as YYYY-MM-DD, such as 2025-01-31"),
}


def _reads_as_default(f: FormField, text: str) -> bool:
    try:
        _coerce(f, text, from_text=True)
    except ValueError:
        return False
    return True


def _bad_default(f: FormField, text: str) -> str:
    if f.type == "enum":
        options = ", ".join(v[0] for v in f.values)
        what, write = "is not one of its values", f"write one of {options} (a value's id)"
    else:
        what, write = _DEFAULT_TEXT[f.type]
        if f.type == "long" and re.fullmatch(r"[+-]?\d+", text.strip()):
            what = "is out of the 64-bit integer range"
    return (
        f"form field {f.id!r} ({f.type}): defaultValue {text!r} {what}; {write}, "
        f"or leave the default value empty"
    )


def _check_bound(f: FormField, name: str, config: str | None) -> list[str]:
    if config is None:
        return [f"form field {f.id!r}: constraint {name!r} needs a config value"]
    try:
        if f.type == "date" and name in {"min", "max"}:
            calendar_date(config)
        elif name in {"minlength", "maxlength"}:
            if f.type != "string":
                return [f"form field {f.id!r}: {name} applies to string fields only"]
            int(config)
        elif f.type in {"long", "double"}:
            float(config)
        else:
            return [f"form field {f.id!r}: {name} does not apply to {f.type} fields"]
    except ValueError:
        return [f"form field {f.id!r}: {name} config {config!r} is not a valid bound"]
    return []


ValueLabels = dict[str, dict[str, str]]


def value_labels(forms: Iterable[Iterable[dict[str, Any]]]) -> ValueLabels:
    """The labels a process's enum fields give their values, by field id. A value labelled
    differently in two forms (同意 here, 通过 there) gets both labels, in the order met."""
    labels: dict[str, dict[str, list[str]]] = {}
    for fields in forms:
        for f in fields:
            if f["type"] != "enum":
                continue
            for value, label in f.get("values", []):
                if label:
                    met = labels.setdefault(f["id"], {}).setdefault(value, [])
                    if label not in met:
                        met.append(label)
    return {
        name: {value: " / ".join(met) for value, met in by_value.items()}
        for name, by_value in labels.items()
    }


def needs_value_labels(fields: list[FormField]) -> bool:
    """Whether the form has a read-only text field, which shows a label where it has one."""
    return any(f.readonly and f.type == "string" for f in fields)


def json_schema(fields: list[FormField], labels: ValueLabels | None = None) -> dict[str, Any]:
    """The JSON Schema of a form, as returned to clients. A read-only text field named as an enum
    field of the same process carries that field's labels (`x-enum-labels`, without `enum`: the
    value shown need not be one of them), so a form shows 大工业 where the value is
    LARGE_INDUSTRY."""
    properties: dict[str, Any] = {}
    for f in fields:
        prop: dict[str, Any] = {"title": f.label or f.id}
        if f.type == "string":
            prop["type"] = "string"
            if "minlength" in f.constraints:
                prop["minLength"] = int(f.constraints["minlength"] or 0)
            if "maxlength" in f.constraints:
                prop["maxLength"] = int(f.constraints["maxlength"] or 0)
        elif f.type in {"long", "double"}:
            prop["type"] = "integer" if f.type == "long" else "number"
            if "min" in f.constraints:
                prop["minimum"] = _number(f, f.constraints["min"])
            if "max" in f.constraints:
                prop["maximum"] = _number(f, f.constraints["max"])
        elif f.type == "boolean":
            prop["type"] = "boolean"
        elif f.type == "date":
            prop["type"] = "string"
            prop["format"] = "date"
            if "min" in f.constraints:
                prop["formatMinimum"] = f.constraints["min"]
            if "max" in f.constraints:
                prop["formatMaximum"] = f.constraints["max"]
        elif f.type == "enum":
            prop["type"] = "string"
            prop["enum"] = [v[0] for v in f.values]
            prop["x-enum-labels"] = {v[0]: v[1] for v in f.values}
        if f.default is not None:
            prop["default"] = _coerce(f, f.default, from_text=True)
        if f.readonly:
            prop["readOnly"] = True
            if f.type == "string" and labels and f.id in labels:
                prop["x-enum-labels"] = labels[f.id]
        properties[f.id] = prop
    required = [f.id for f in fields if f.required and not f.readonly]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def validate(fields: list[FormField], submitted: dict[str, Any]) -> dict[str, Any]:
    """Check submitted values against the form; return the values to store, or raise."""
    from bpmn_service.errors import InvalidVariables

    errors: list[FieldError] = []
    by_id = {f.id: f for f in fields}
    for key in submitted:
        if key not in by_id:
            allowed = ", ".join(sorted(k for k, f in by_id.items() if not f.readonly)) or "none"
            errors.append(FieldError(key, f"is not a field of this form (fields: {allowed})"))
        elif by_id[key].readonly:
            errors.append(FieldError(key, "is read-only"))
    values: dict[str, Any] = {}
    for f in fields:
        if f.readonly:
            continue
        raw = submitted.get(f.id)
        if raw is None and f.default is not None and f.id not in submitted:
            raw = _coerce(f, f.default, from_text=True)
        if raw is None:
            if f.required:
                errors.append(FieldError(f.id, "is required"))
            values[f.id] = None
            continue
        try:
            value = _coerce(f, raw, from_text=False)
            _check_constraints(f, value)
        except ValueError as exc:
            errors.append(FieldError(f.id, str(exc)))
            continue
        values[f.id] = value
    if errors:
        raise InvalidVariables(errors)
    return values


def _number(f: FormField, text: str | None) -> int | float:
    value = float(text or 0)
    return int(value) if f.type == "long" and value.is_integer() else value


def _coerce(f: FormField, raw: Any, *, from_text: bool) -> Any:
    if f.type == "string":
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        if len(raw) > MAX_STRING:
            raise ValueError(f"must be at most {MAX_STRING} characters")
        return raw
    if f.type == "long":
        if from_text and isinstance(raw, str):
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError("must be an integer")
        if not LONG_MIN <= raw <= LONG_MAX:
            raise ValueError("is out of the 64-bit integer range")
        return raw
    if f.type == "double":
        if from_text and isinstance(raw, str):
            raw = float(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("must be a number")
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return float(raw)
    if f.type == "boolean":
        if from_text and isinstance(raw, str):
            if raw.lower() not in {"true", "false"}:
                raise ValueError("must be true or false")
            return raw.lower() == "true"
        if not isinstance(raw, bool):
            raise ValueError("must be true or false")
        return raw
    if f.type == "date":
        if not isinstance(raw, str):
            raise ValueError("must be a date string YYYY-MM-DD")
        try:
            return calendar_date(raw).isoformat()
        except ValueError:
            raise ValueError("must be a date string YYYY-MM-DD") from None
    if f.type == "enum":
        options = [v[0] for v in f.values]
        if not isinstance(raw, str) or raw not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return raw
    raise ValueError(f"has unsupported type {f.type}")


# YYYY-MM-DD in ASCII digits: date.fromisoformat also reads week dates (2026-W01-1) and
# 20260101, which a date field's message does not offer.
_CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def calendar_date(text: str) -> date:
    """The date `text` writes as YYYY-MM-DD; ValueError for anything else."""
    if not _CALENDAR_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return date.fromisoformat(text)


def blank(text: str) -> bool:
    """Whether `text` shows nothing: spaces of any script, and invisible format characters such
    as the zero-width space (U+200B) or a byte-order mark, which strip() keeps."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def _check_constraints(f: FormField, value: Any) -> None:
    c = f.constraints
    if f.type == "string":
        if "minlength" in c and len(value) < int(c["minlength"] or 0):
            raise ValueError(f"must be at least {c['minlength']} characters")
        if "maxlength" in c and len(value) > int(c["maxlength"] or 0):
            raise ValueError(f"must be at most {c['maxlength']} characters")
        if f.required and blank(value):
            raise ValueError("is required and must not be blank")
    elif f.type in {"long", "double"}:
        if "min" in c and value < float(c["min"] or 0):
            raise ValueError(f"must be at least {c['min']}")
        if "max" in c and value > float(c["max"] or 0):
            raise ValueError(f"must be at most {c['max']}")
    elif f.type == "date":
        if "min" in c and value < (c["min"] or ""):
            raise ValueError(f"must be on or after {c['min']}")
        if "max" in c and value > (c["max"] or ""):
            raise ValueError(f"must be on or before {c['max']}")
