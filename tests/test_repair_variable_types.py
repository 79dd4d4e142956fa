"""A supervisor's variable repair is checked against the types the process's forms declare: a
value whose JSON type contradicts every form that has a field of that name is refused with 422,
naming the variable, the expected type, the forms that declare it and the value's type."""

from __future__ import annotations

from typing import Any

from conftest import DATA, ROOT, Api
from process_paths import start

TYPED = DATA / "typed_forms.bpmn"
START = {
    "capacity": 80.0,
    "count": 2,
    "flag": False,
    "visit": "2026-03-01",
    "kind": "A",
    "note": "first visit",
    "mixed": "as text",
}


def _case(api: Api) -> str:
    assert api.deploy(TYPED).status_code == 201
    started = api.start("typed_forms", "TF-1", START)
    assert started.status_code == 201, started.text
    instance_id: str = started.json()["id"]
    return instance_id


def _patch(api: Api, instance_id: str, variables: dict[str, Any]) -> Any:
    return api.client.patch(
        f"/api/v1/process-instances/{instance_id}/variables",
        headers=api.headers("leader"),
        json={"variables": variables, "reason": "the customer corrected the application"},
    )


def test_a_value_of_another_type_than_the_forms_declare_is_refused_and_nothing_changes(
    api: Api,
) -> None:
    instance_id = _case(api)
    refused = _patch(api, instance_id, {"capacity": "lots", "note": "kept back too"})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "invalid_variables"
    [problem] = body["details"]
    assert problem["field"] == "variables.capacity"
    assert problem["expected"] == "number"
    assert problem["value_type"] == "string"
    assert problem["declared_by"] == [
        {"element_id": "start", "form": "start form", "type": "double"},
        {"element_id": "enter", "form": "task Enter details", "type": "double"},
        {"element_id": "review", "form": "task Review", "type": "double"},
    ]
    message = problem["message"]
    for words in ("double", "start form", "task Enter details (enter)", "a string"):
        assert words in message, message
    assert "variables.capacity" in body["message"]
    case = api.get(f"/process-instances/{instance_id}").json()
    assert case["variables"]["capacity"] == 80.0 and case["variables"]["note"] == "first visit"
    assert "variables_repaired" not in [e["type"] for e in case["history"]]


def test_every_contradicting_value_is_listed_at_once(api: Api) -> None:
    instance_id = _case(api)
    refused = _patch(
        api,
        instance_id,
        {"count": 1.5, "flag": "yes", "visit": 20260301, "kind": 1, "note": ["a"], "both": "x"},
    )
    assert refused.status_code == 422, refused.text
    found = {
        p["field"].removeprefix("variables."): (p["expected"], p["value_type"])
        for p in refused.json()["details"]
    }
    assert found == {
        "count": ("integer", "float"),
        "flag": ("boolean", "string"),
        "visit": ("string", "integer"),
        "kind": ("string", "integer"),
        "note": ("string", "array"),
        # long on one form, double on the other: both are numbers
        "both": ("number", "string"),
    }


def test_values_the_forms_allow_undeclared_names_disagreeing_forms_and_null_are_set(
    api: Api,
) -> None:
    instance_id = _case(api)
    values = {
        "capacity": 160,  # an integer is a number, as a double field takes it
        "count": 3,
        "flag": True,
        "visit": "2026-04-01",
        "kind": "B",
        "note": "second visit",
        "both": 2.5,
        "mixed": 7,  # string on the start form, long on Enter details: not checked
        "remark": {"free": ["form"]},  # no form declares it
    }
    done = _patch(api, instance_id, values)
    assert done.status_code == 200, done.text
    assert {k: done.json()["variables"][k] for k in values} == values
    cleared = _patch(api, instance_id, {"capacity": None, "flag": None, "note": None})
    assert cleared.status_code == 200, cleared.text
    assert done.json()["variables"]["count"] == 3
    assert all(cleared.json()["variables"][k] is None for k in ("capacity", "flag", "note"))


def test_the_shipped_process_refuses_text_for_the_applied_capacity(api: Api) -> None:
    assert api.deploy(ROOT / "processes" / "yekuo_streamlined.bpmn").status_code == 201
    instance_id = start(api, "yekuo_streamlined", "LV_ordinary", "YK-TYPES-1")
    refused = _patch(api, instance_id, {"appliedCapacityKVA": "lots"})
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["details"]
    assert problem["field"] == "variables.appliedCapacityKVA" and problem["expected"] == "integer"
    assert problem["value_type"] == "string"
    assert {d["type"] for d in problem["declared_by"]} == {"long"}
    assert _patch(api, instance_id, {"appliedCapacityKVA": 160}).status_code == 200


def test_a_name_the_service_refuses_is_named_at_its_place_in_the_body(api: Api) -> None:
    """As the type refusals are: the workspace shows a refusal at its variable's field."""
    instance_id = _case(api)
    refused = _patch(api, instance_id, {"initiator": "someone", "2nd": 1})
    assert refused.status_code == 422, refused.text
    fields = sorted(p["field"] for p in refused.json()["details"])
    assert fields == ["variables.2nd", "variables.initiator"]
