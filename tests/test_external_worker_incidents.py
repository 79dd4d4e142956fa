"""A worker's answer the process cannot take (a script after the task fails) opens one `worker`
incident; the task is not handed out again while it is open, so the same answer is not refused
again and again at every lock expiry; the alert sees it as an incident; the retry repair (or any
repair that closes the incident) gives it back to the workers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bpmn_service.engine import layout_bpmn
from bpmn_service.services.doctor import check_all
from conftest import Api
from test_metrics import scrape, value

SPLIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_split"
  targetNamespace="http://bpmn-service.example/test">
  <bpmn:process id="split_fee" name="Split fee" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="quote" name="Quote" camunda:type="external" camunda:topic="fees">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:scriptTask id="divide" name="Divide" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>share = total / parts</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="pay" name="Pay" camunda:candidateGroups="hall_clerk">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="quote"/>
    <bpmn:sequenceFlow id="f2" sourceRef="quote" targetRef="divide"/>
    <bpmn:sequenceFlow id="f3" sourceRef="divide" targetRef="pay"/>
    <bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _case(api: Api, key: str) -> str:
    deployed = api.deploy_bytes("split_fee.bpmn", layout_bpmn(SPLIT, "split_fee.bpmn"))
    assert deployed.status_code in (200, 201), deployed.text
    started = api.start("split_fee", key, {})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _fetch(api: Api, worker_id: str = "w1") -> list[dict[str, Any]]:
    body = {"worker_id": worker_id, "topics": ["fees"], "lock_seconds": 60}
    answer = api.post("/external-tasks/fetch-and-lock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _answer(api: Api, task_id: str, worker_id: str = "w1") -> Any:
    return api.post(
        f"/external-tasks/{task_id}/complete",
        "worker",
        json={"worker_id": worker_id, "variables": {"total": 100, "parts": 0}},
    )


def _later(api: Api, seconds: int) -> None:
    moment = api.ctx.clock() + timedelta(seconds=seconds)
    api.ctx.clock = lambda: moment


def _incident_events(api: Api, instance_id: str) -> list[dict[str, Any]]:
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    return [e for e in history if e["type"] == "incident_opened"]


def test_a_refused_answer_is_one_incident_and_the_task_waits_for_a_repair(api: Api) -> None:
    instance_id = _case(api, "WINC-1")
    [task] = _fetch(api)
    assert _answer(api, task["id"]).status_code == 422
    # The worker, still holding its lock, sends the same answer again: the same incident.
    assert _answer(api, task["id"]).status_code == 422
    # Its lock expires: the task is not handed out again while the incident is open.
    for _minute in range(3):
        _later(api, 61)
        assert _fetch(api, "w2") == []
    [incident] = api.get("/incidents", "leader").json()["items"]
    assert incident["kind"] == "worker" and incident["external_task_id"] == task["id"]
    assert incident["occurrences"] == 2 and incident["last_at"] is not None
    assert "retry" in incident["actions"]
    assert len(_incident_events(api, instance_id)) == 1
    samples = scrape(api.client)
    labels = {"process": "split_fee", "topic": "fees"}
    assert value(samples, "bpmn_external_tasks", state="incident", **labels) == 1
    assert value(samples, "bpmn_external_tasks", state="locked", **labels) == 0
    assert list(check_all(api.ctx)) == []

    retried = api.post(
        f"/process-instances/{instance_id}/retry", "leader", json={"reason": "parts agreed"}
    )
    assert retried.status_code == 200, retried.text
    assert api.get("/incidents", "leader").json()["total"] == 0
    # The case's history says what the retry closed, beside who did it and why.
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    [retry_event] = [e for e in history if e["type"] == "instance_retried"]
    assert retry_event["details"]["closed_incidents"] == [
        {"id": incident["id"], "kind": "worker", "element_id": incident["element_id"]}
    ]
    [again] = _fetch(api, "w2")  # at once, not after the old lock
    assert again["id"] == task["id"]
    done = api.post(
        f"/external-tasks/{task['id']}/complete",
        "worker",
        json={"worker_id": "w2", "variables": {"total": 100, "parts": 2}},
    )
    assert done.status_code == 204, done.text
    [pay] = api.open_tasks(instance_id)
    assert pay["element_id"] == "pay"


def test_a_variable_repair_closes_the_incident_and_the_worker_gets_the_task_again(
    api: Api,
) -> None:
    instance_id = _case(api, "WINC-2")
    [task] = _fetch(api)
    assert _answer(api, task["id"]).status_code == 422
    _later(api, 61)
    assert _fetch(api) == []
    repaired = api.client.patch(
        f"/api/v1/process-instances/{instance_id}/variables",
        headers=api.headers("leader"),
        json={"variables": {"note": "checked"}, "reason": "looked at it"},
    )
    assert repaired.status_code == 200, repaired.text
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    [repair] = [e for e in history if e["type"] == "variables_repaired"]
    assert [c["kind"] for c in repair["details"]["closed_incidents"]] == ["worker"]
    [again] = _fetch(api)
    assert again["id"] == task["id"]
