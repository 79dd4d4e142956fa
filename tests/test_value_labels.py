"""A read-only text field named as one of the process's enum fields carries that enum's labels, so
a form shows 大工业 for LARGE_INDUSTRY."""

from __future__ import annotations

from typing import Any

from bpmn_service.engine.forms import FormField, json_schema, value_labels
from conftest import DATA, Api


def enum(name: str, *values: tuple[str, str | None]) -> dict[str, Any]:
    return FormField(name, "enum", values=values).to_dict()


def text(name: str, *constraints: str) -> FormField:
    return FormField(name, "string", constraints=dict.fromkeys(constraints))


def test_labels_are_gathered_by_field_and_a_value_labelled_twice_gets_both() -> None:
    labels = value_labels(
        [
            [enum("decision", ("APPROVE", "同意"), ("REJECT", "不同意"))],
            [enum("decision", ("APPROVE", "通过"), ("REJECT", "不同意"), ("HOLD", None))],
            [FormField("note", "string").to_dict()],
        ]
    )
    assert labels == {"decision": {"APPROVE": "同意 / 通过", "REJECT": "不同意"}}


def test_only_read_only_text_fields_take_labels() -> None:
    labels = {"decision": {"APPROVE": "同意"}, "amount": {"1": "one"}}
    schema = json_schema(
        [
            text("decision", "readonly"),
            FormField("amount", "long", constraints={"readonly": None}),
            text("note", "readonly"),
        ],
        labels,
    )
    decision = schema["properties"]["decision"]
    # The labels without `enum`: the value shown need not be one of them.
    assert decision["x-enum-labels"] == {"APPROVE": "同意"} and "enum" not in decision
    assert "x-enum-labels" not in schema["properties"]["amount"]
    assert "x-enum-labels" not in schema["properties"]["note"]
    # An editable text field of an enum's name is free text: no labels offered.
    assert "x-enum-labels" not in json_schema([text("decision")], labels)["properties"]["decision"]


def test_a_task_form_shows_the_labels_of_the_start_forms_enum(api: Api) -> None:
    assert api.deploy(DATA / "value_labels.bpmn").status_code == 201
    started = api.start("value_labels", "VL-1", {"category": "LARGE_INDUSTRY", "note": "x"})
    assert started.status_code == 201, started.text
    [review] = started.json()["tasks"]
    claimed = api.claim(review["id"], "clerk")
    assert claimed.status_code == 200
    detail = api.get(f"/tasks/{review['id']}", "clerk").json()
    assert detail["variables"]["category"] == "LARGE_INDUSTRY"
    form = detail["form"]
    assert form["properties"]["category"]["x-enum-labels"] == {
        "LARGE_INDUSTRY": "大工业",
        "RESIDENTIAL": "居民生活",
    }
    assert "x-enum-labels" not in form["properties"]["note"]
    assert claimed.json()["form"] == form  # the claim answers the same form

    [sign] = api.complete(review["id"], "clerk", {"decision": "APPROVE"}).json()["next_tasks"]
    signed = api.post(f"/tasks/{sign['id']}/claim", "clerk").json()
    assert signed["form"]["properties"]["decision"]["x-enum-labels"] == {
        "APPROVE": "同意",
        "REJECT": "不同意",
    }
