"""A read-only text field named as one of the process's enum fields carries that enum's labels, so
a form shows 大工业 for LARGE_INDUSTRY; the customer category carries the categories' names. A
case names the labels of the codes it holds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bpmn_service.engine.forms import FormField, json_schema, value_labels
from bpmn_service.services import instances
from bpmn_service.timelimits import CATEGORY_NAMES
from conftest import DATA, ROOT, Api
from process_paths import start


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


def test_the_customer_category_shows_by_its_name_on_the_task_and_the_case(api: Api) -> None:
    """A script derives customerCategory and no form offers it as a choice, so no enum labels
    it: the task page and the case page showed HV_S. The categories' names label it."""
    assert api.deploy(ROOT / "processes" / "yekuo_current.bpmn").status_code == 201
    instance_id = start(api, "yekuo_current", "HV_S_labels", "VL-HV-1")
    case = api.get(f"/process-instances/{instance_id}", "leader").json()
    assert case["variables"]["customerCategory"] == "HV_S"
    labels = case["value_labels"]
    assert labels["customerCategory"] == "高压单电源"
    # The start form's enums label the codes the case holds; other values have no label.
    assert labels["electricityCategory"] == "大工业" and labels["businessType"] == "新装"
    assert "customerName" not in labels and "appliedCapacityKVA" not in labels

    [accept] = case["tasks"]
    form = api.get(f"/tasks/{accept['id']}", "clerk").json()["form"]
    assert form["properties"]["customerCategory"]["x-enum-labels"] == dict(CATEGORY_NAMES)
    assert form["properties"]["customerCategory"]["readOnly"] is True


def test_an_enum_field_of_the_process_labels_the_category_itself() -> None:
    """A process whose form offers customerCategory as a choice keeps its own labels."""
    ctx = SimpleNamespace(
        runner=SimpleNamespace(
            value_labels=lambda _id, _load: {"customerCategory": {"HV_S": "高压（单）"}}
        )
    )
    labels = instances.value_labels(ctx, None, "d1")  # type: ignore[arg-type]
    assert labels == {"customerCategory": {"HV_S": "高压（单）"}}
