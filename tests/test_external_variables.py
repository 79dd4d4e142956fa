"""What a worker is handed: the case's variables as they are when it fetches the task (Camunda
hands workers the current process variables), not those the task was created with. A supervisor
who corrects a variable and retries the task reaches the worker."""

from __future__ import annotations

from typing import Any

from bpmn_service.engine import layout_bpmn
from bpmn_service.identity import Principal
from bpmn_service.services import external_tasks
from conftest import DATA, TOKENS, Api

TOPIC = "construction_registry"
WORKER = Principal("worker", frozenset({"worker"}))


def _start(api: Api, key: str) -> str:
    assert api.deploy(DATA / "external_error.bpmn").status_code in (200, 201)
    started = api.start("registry_check", key, {})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _fetch(api: Api, worker_id: str = "w1") -> list[dict[str, Any]]:
    body = {"worker_id": worker_id, "topics": [TOPIC], "lock_seconds": 600}
    answer = api.post("/external-tasks/fetch-and-lock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _repair(api: Api, instance_id: str, variables: dict[str, Any]) -> None:
    body = {"variables": variables, "reason": "the e-contract was signed"}
    answer = api.client.patch(
        f"/api/v1/process-instances/{instance_id}/variables",
        headers=api.headers("leader"),
        json=body,
    )
    assert answer.status_code == 200, answer.text


def test_a_variable_fixed_after_an_incident_reaches_the_worker_on_retry(api: Api) -> None:
    instance_id = _start(api, "EVARS-1")
    [task] = _fetch(api)
    assert "eContractRef" not in task["variables"]
    failed = api.post(
        f"/external-tasks/{task['id']}/failure",
        "worker",
        json={"worker_id": "w1", "error_message": "no e-contract", "retries": 0},
    )
    assert failed.status_code == 200, failed.text
    _repair(api, instance_id, {"eContractRef": "EC-2026-7"})
    retried = api.post(
        f"/process-instances/{instance_id}/retry", "leader", json={"reason": "contract signed"}
    )
    assert retried.status_code == 200, retried.text
    [again] = _fetch(api)
    assert again["id"] == task["id"]
    assert again["variables"]["eContractRef"] == "EC-2026-7"


def test_engine_rest_fetch_hands_out_current_variables_by_name(api: Api) -> None:
    instance_id = _start(api, "EVARS-2")
    _repair(api, instance_id, {"eContractRef": "EC-9", "other": 1})
    body = {
        "workerId": "w1",
        "maxTasks": 5,
        "topics": [{"topicName": TOPIC, "lockDuration": 60_000, "variables": ["eContractRef"]}],
    }
    headers = {"Authorization": f"Bearer {TOKENS['worker']}"}
    answer = api.client.post("/engine-rest/external-task/fetchAndLock", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    [task] = answer.json()
    assert task["variables"] == {
        "eContractRef": {"type": "String", "value": "EC-9", "valueInfo": {}}
    }


def test_the_service_hands_out_current_variables_and_keeps_the_rows_snapshot(api: Api) -> None:
    instance_id = _start(api, "EVARS-3")
    _repair(api, instance_id, {"eContractRef": "EC-3"})
    [task] = external_tasks.fetch_and_lock(
        api.ctx, WORKER, worker_id="w1", topics=[TOPIC], lock_seconds=60, max_tasks=5
    )
    assert task.variables["eContractRef"] == "EC-3"
    # The task as listed still shows what it was created with.
    shown = api.get(f"/external-tasks/{task.id}", "worker").json()
    assert "eContractRef" not in shown["variables"]


MULTI_SIGN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_multi_sign"
  targetNamespace="http://bpmn-service.example/test">
  <bpmn:process id="multi_sign" name="Multi sign" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="who" name="Who signs" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>signers = ["a", "b", "c"]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:serviceTask id="sign" name="Sign" camunda:type="external" camunda:topic="e_sign">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="signers"
        camunda:elementVariable="signer"/>
    </bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="who"/>
    <bpmn:sequenceFlow id="f2" sourceRef="who" targetRef="sign"/>
    <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_each_instance_of_a_multi_instance_gets_its_own_item_and_the_current_rest(
    api: Api,
) -> None:
    deployed = api.deploy_bytes("multi_sign.bpmn", layout_bpmn(MULTI_SIGN, "multi_sign.bpmn"))
    assert deployed.status_code in (200, 201), deployed.text
    started = api.start("multi_sign", "EVARS-MI", {})
    assert started.status_code == 201, started.text
    _repair(api, str(started.json()["id"]), {"eContractRef": "EC-MI"})
    body = {"worker_id": "w1", "topics": ["e_sign"], "lock_seconds": 60, "max_tasks": 10}
    answer = api.post("/external-tasks/fetch-and-lock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    fetched = answer.json()
    assert sorted(t["variables"]["signer"] for t in fetched) == ["a", "b", "c"]
    assert {t["variables"]["eContractRef"] for t in fetched} == {"EC-MI"}
