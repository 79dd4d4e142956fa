"""/engine-rest types the variables a process declares dates (a `date` form field of that name in
any of its forms) as Camunda's Date in every variables answer, and a Date read and written back
stores the text it was read from. /api/v1 keeps the plain text."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.api.compat.values import DeclaredDates, typed_all, typed_one
from bpmn_service.engine import layout_bpmn
from conftest import Api
from test_engine_rest import Rest, deployed_id

# start form: visit (date), note (string) → enter (visit, date) → external task `dates` → message
# `ping` → review (deadline, date) → end. The worker sets `later`, which no form declares.
DATES_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Msg_ping" name="ping" />
  <bpmn:process id="dated" name="Dated" isExecutable="true">
    <bpmn:startEvent id="start" name="Apply">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="visit" label="Visit" type="date"/>
        <camunda:formField id="note" label="Note" type="string"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="enter"/>
    <bpmn:userTask id="enter" name="Enter" camunda:candidateGroups="hall_clerk">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="visit" label="Visit" type="date"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="work"/>
    <bpmn:serviceTask id="work" name="Work" camunda:type="external" camunda:topic="dates"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="Ping">
      <bpmn:messageEventDefinition id="waitDef" messageRef="Msg_ping"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="review"/>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="hall_clerk">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="deadline" label="Deadline" type="date"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""
DATES_BPMN = layout_bpmn(DATES_XML, "dated.bpmn")


@pytest.fixture
def rest(api: Api) -> Rest:
    return Rest(api.client)


VISIT = {"type": "Date", "value": "2025-03-01T00:00:00.000+0800", "valueInfo": {}}
DUE = {"type": "Date", "value": "2025-03-01T08:30:00.000+0800", "valueInfo": {}}


def string(value: str) -> dict[str, Any]:
    return {"type": "String", "value": value, "valueInfo": {}}


def started_with_a_date(rest: Rest, business_key: str) -> tuple[str, dict[str, Any]]:
    """A `dated` instance started over /engine-rest (visit sent as plain text, as a form does),
    with its start answer."""
    definition_id = deployed_id(rest.deploy("dated.bpmn", DATES_BPMN))
    started = rest.start(
        definition_id,
        business_key,
        variables={
            "visit": {"value": "2025-03-01", "type": "String"},
            "note": {"value": "2025-03-01", "type": "String"},
        },
        withVariablesInReturn=True,
    )
    assert started.status_code == 200, started.text
    return str(started.json()["id"]), started.json()


def stored(api: Api, instance_id: str) -> dict[str, Any]:
    body = api.get(f"/process-instances/{instance_id}").json()
    return dict(body["variables"])


def claimed_task(rest: Rest, api: Api, instance_id: str) -> str:
    [task] = api.open_tasks(instance_id)
    assert rest.post(
        f"/task/{task['id']}/claim", "clerk", json={"userId": "clerk"}
    ).status_code == (204)
    return str(task["id"])


def fetch_dates(rest: Rest) -> list[dict[str, Any]]:
    body = {
        "workerId": "w1",
        "maxTasks": 1,
        "topics": [{"topicName": "dates", "lockDuration": 60_000}],
    }
    answer = rest.post("/external-task/fetchAndLock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_declared_date_is_a_date_in_every_variables_answer(rest: Rest, api: Api) -> None:
    instance_id, start = started_with_a_date(rest, "DATES-1")
    # Declared a date: Date; the same text in a string field: String.
    assert start["variables"]["visit"] == VISIT
    assert start["variables"]["note"] == string("2025-03-01")

    variables = rest.get(f"/process-instance/{instance_id}/variables").json()
    assert variables["visit"] == VISIT and variables["note"] == string("2025-03-01")
    assert rest.get(f"/process-instance/{instance_id}/variables/visit").json() == VISIT

    task_id = claimed_task(rest, api, instance_id)
    assert rest.get(f"/task/{task_id}/variables", "clerk").json()["visit"] == VISIT
    assert rest.get(f"/task/{task_id}/variables/visit", "clerk").json() == VISIT
    # the form's type and the variables' agree
    assert rest.get(f"/task/{task_id}/form-variables", "clerk").json() == {"visit": VISIT}

    done = rest.post(
        f"/task/{task_id}/complete",
        "clerk",
        json={"variables": {"visit": VISIT}, "withVariablesInReturn": True},
    )
    assert done.status_code == 200, done.text
    assert done.json()["visit"] == VISIT

    [locked] = fetch_dates(rest)
    assert locked["variables"]["visit"] == VISIT
    # a worker writes a date-time into a declared date, and text that is no date into another
    answer = rest.post(
        f"/external-task/{locked['id']}/complete",
        "worker",
        json={
            "workerId": "w1",
            "variables": {
                "visit": {"value": "2025-03-01T08:30:00.000+0800", "type": "Date"},
                "deadline": {"value": "soon", "type": "String"},
                "later": {"value": "2025-03-01"},
            },
        },
    )
    assert answer.status_code == 204, answer.text
    assert stored(api, instance_id)["visit"] == "2025-03-01T08:30:00+08:00"

    message = {
        "messageName": "ping",
        "businessKey": "DATES-1",
        "resultEnabled": True,
        "variablesInResultEnabled": True,
    }
    delivered = rest.post("/message", "admin", json=message)
    assert delivered.status_code == 200, delivered.text
    [result] = delivered.json()
    assert result["variables"]["visit"] == DUE
    assert result["variables"]["deadline"] == string("soon")  # declared, but no date: String
    assert result["variables"]["later"] == string("2025-03-01")  # a date, but not declared

    assert rest.get(f"/process-instance/{instance_id}/variables/visit").json() == DUE
    # /api/v1 keeps the stored text
    assert stored(api, instance_id)["visit"] == "2025-03-01T08:30:00+08:00"


def test_a_date_read_and_written_back_stores_the_same_text(rest: Rest, api: Api) -> None:
    instance_id, _ = started_with_a_date(rest, "DATES-2")
    task_id = claimed_task(rest, api, instance_id)
    read = rest.get(f"/task/{task_id}/variables/visit", "clerk").json()
    assert read == VISIT
    back = {"visit": {"value": read["value"], "type": read["type"]}}
    done = rest.post(f"/task/{task_id}/complete", "clerk", json={"variables": back})
    assert done.status_code == 204, done.text
    assert stored(api, instance_id)["visit"] == "2025-03-01"

    [locked] = fetch_dates(rest)
    written = {"visit": {"value": "2025-03-01T08:30:00.000+0800", "type": "Date"}}
    body = {"workerId": "w1", "variables": written}
    assert rest.post(
        f"/external-task/{locked['id']}/complete", "worker", json=body
    ).status_code == (204)
    assert stored(api, instance_id)["visit"] == "2025-03-01T08:30:00+08:00"
    again = rest.get(f"/process-instance/{instance_id}/variables/visit").json()
    assert again == DUE
    # written back as read (a message carries it): the stored text does not change
    message = {
        "messageName": "ping",
        "businessKey": "DATES-2",
        "processVariables": {"visit": {"value": again["value"], "type": "Date"}},
    }
    assert rest.post("/message", "admin", json=message).status_code == 204
    assert stored(api, instance_id)["visit"] == "2025-03-01T08:30:00+08:00"


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("2025-03-01", VISIT),
        ("2025-03-01T08:30:00+08:00", DUE),
        ("2025-03-01T08:30:00.123000+08:00", {**DUE, "value": "2025-03-01T08:30:00.123+0800"}),
        ("2025-03-01T08:30:00+00:00", {**DUE, "value": "2025-03-01T08:30:00.000+0000"}),
        # what a Date written back would not store again stays String
        ("2025-03-01T08:30:00Z", None),  # stored as +00:00
        ("2025-03-01T08:30:00", None),  # no offset
        ("2025-03-01T08:30:00.5+08:00", None),  # beyond milliseconds
        ("2025-03-01T00:00:00+08:00", None),  # a midnight is stored as the date
        ("2025-W09-6", None),
        ("20250301", None),
        ("0001-01-01", None),  # Beijing's midnight is in year 0 in UTC
        ("soon", None),
        ("", None),
    ],
)
def test_only_text_a_date_round_trips_to_is_a_date(
    api: Api, text: str, typed: dict[str, Any] | None
) -> None:
    dates = DeclaredDates(frozenset({"d"}), api.ctx.calendar.timezone)
    expected = typed if typed is not None else string(text)
    assert typed_all({"d": text, "e": text}, dates=dates) == {"d": expected, "e": string(text)}
    assert typed_one({"d": text}, "d", "task", dates) == expected
