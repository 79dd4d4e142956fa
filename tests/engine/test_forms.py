"""camunda:formData validation (engine/forms.py) on its own."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.engine import FormField, json_schema, validate
from bpmn_service.errors import InvalidVariables

FORM = [
    FormField("name", "string", constraints={"required": None, "maxlength": "5"}),
    FormField("note", "string", constraints={"minlength": "2"}),
    FormField("kva", "long", constraints={"min": "1", "max": "10000"}),
    FormField("ratio", "double"),
    FormField("ok", "boolean", default="true"),
    FormField("on", "date", constraints={"min": "2024-01-01"}),
    FormField("kind", "enum", values=(("HV", "high"), ("LV", "low"))),
    FormField("ref", "string", constraints={"readonly": None}),
]


def _errors(submitted: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidVariables) as caught:
        validate(FORM, submitted)
    return {e.field: e.message for e in caught.value.errors}


def test_valid_values_are_kept_and_defaults_filled_in() -> None:
    values = validate(
        FORM, {"name": "Li", "kva": 160, "ratio": 1, "on": "2024-07-01", "kind": "HV"}
    )
    assert values == {
        "name": "Li",
        "note": None,
        "kva": 160,
        "ratio": 1.0,
        "ok": True,
        "on": "2024-07-01",
        "kind": "HV",
    }


@pytest.mark.parametrize(
    ("submitted", "field", "message"),
    [
        ({}, "name", "is required"),
        ({"name": "   "}, "name", "must not be blank"),
        ({"name": "\u200b\u3000"}, "name", "must not be blank"),  # zero-width, ideographic
        ({"name": "toolong"}, "name", "at most 5 characters"),
        ({"name": 5}, "name", "must be a string"),
        ({"name": "a", "note": "x"}, "note", "at least 2 characters"),
        ({"name": "a", "kva": 1.5}, "kva", "must be an integer"),
        ({"name": "a", "kva": True}, "kva", "must be an integer"),
        ({"name": "a", "kva": 0}, "kva", "at least 1"),
        ({"name": "a", "kva": 2**70}, "kva", "64-bit"),
        ({"name": "a", "ratio": "1"}, "ratio", "must be a number"),
        ({"name": "a", "ratio": float("nan")}, "ratio", "finite"),
        ({"name": "a", "ok": "yes"}, "ok", "true or false"),
        ({"name": "a", "on": "2024-7-1"}, "on", "YYYY-MM-DD"),
        ({"name": "a", "on": "2026-W01-1"}, "on", "YYYY-MM-DD"),  # an ISO week date
        ({"name": "a", "on": "2024-07-０1"}, "on", "YYYY-MM-DD"),  # a full-width digit
        ({"name": "a", "on": "2023-12-31"}, "on", "on or after 2024-01-01"),
        ({"name": "a", "kind": "MV"}, "kind", "one of HV, LV"),
        ({"name": "a", "ref": "x"}, "ref", "read-only"),
        ({"name": "a", "other": 1}, "other", "not a field of this form"),
    ],
)
def test_refusals_name_the_field(submitted: dict[str, Any], field: str, message: str) -> None:
    errors = _errors(submitted)
    assert message in errors[field], errors


def test_every_problem_is_reported_at_once() -> None:
    assert set(_errors({"kva": -1, "kind": "?", "x": 1})) == {"name", "kva", "kind", "x"}


def test_the_json_schema_describes_the_form() -> None:
    schema = json_schema(FORM)
    assert schema["required"] == ["name"]
    assert schema["properties"]["kind"]["enum"] == ["HV", "LV"]
    assert schema["properties"]["kva"]["type"] == "integer"
