"""Deploy, start, claim, complete through the HTTP API, on a small approval process."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bpmn_service.engine.layout import layout_bpmn
from bpmn_service.services.doctor import check_all
from conftest import DATA, TOKENS, Api

APPROVAL = DATA / "approval.bpmn"


def start_approval(api: Api, key: str = "REQ-1", amount: int = 5) -> dict[str, Any]:
    assert api.deploy(APPROVAL).status_code == 201
    response = api.start("approval", key, {"amount": amount, "purpose": "test"}, user="clerk")
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_full_lifecycle_with_rework(api: Api) -> None:
    instance = start_approval(api)
    assert instance["status"] == "active" and instance["version"] == 1
    [review] = instance["tasks"]
    assert review["element_id"] == "review" and review["candidate_groups"] == ["reviewers"]
    assert review["due_at"] is not None

    assert api.claim(review["id"], "admin").status_code == 200
    response = api.complete(review["id"], "admin", {"decision": "REJECT", "comment": "too vague"})
    assert response.status_code == 200, response.text
    [revise] = response.json()["next_tasks"]
    assert revise["element_id"] == "revise"

    api.claim(revise["id"], "admin")
    [review2] = api.complete(revise["id"], "admin", {"amount": 9}).json()["next_tasks"]
    api.claim(review2["id"], "admin")
    detail = api.get(f"/tasks/{review2['id']}").json()
    # The form shows the current values of its fields, including the previous round's decision.
    assert detail["variables"] == {"amount": 9, "decision": "REJECT", "comment": "too vague"}
    assert detail["form"]["properties"]["decision"]["enum"] == ["APPROVE", "REJECT"]
    assert detail["form"]["properties"]["amount"]["readOnly"] is True

    done = api.complete(review2["id"], "admin", {"decision": "APPROVE"}).json()
    assert done["instance_status"] == "completed" and done["next_tasks"] == []

    body = api.get(f"/process-instances/{instance['id']}").json()
    assert body["status"] == "completed" and body["ended_at"]
    assert body["variables"]["approvedAmount"] == 9
    assert body["variables"]["businessKey"] == "REQ-1"
    assert body["variables"]["initiator"] == "clerk"
    types = [e["type"] for e in body["history"]]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert types.count("task_completed") == 3 and types.count("task_claimed") == 3
    completed = [e for e in body["history"] if e["type"] == "task_completed"]
    assert completed[0]["details"]["variables"] == {"decision": "REJECT", "comment": "too vague"}
    assert completed[0]["actor"] == "admin"
    assert any(e["type"] == "engine_step" and e["element_id"] == "record" for e in body["history"])


def test_start_validates_against_start_form(api: Api) -> None:
    api.deploy(APPROVAL)
    response = api.start("approval", "REQ-2", {"amount": 0, "colour": "red"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {"amount", "colour"}
    response = api.start("approval", "REQ-2", {"purpose": "x" * 201})
    assert {d["field"] for d in response.json()["details"]} == {"amount", "purpose"}
    assert api.get("/process-instances").json()["total"] == 0


def test_reserved_and_bad_variable_names_are_rejected(api: Api) -> None:
    api.deploy(APPROVAL)
    response = api.start("approval", "REQ-3", {"amount": 3, "businessKey": "x"})
    assert response.status_code == 422
    response = api.start("approval", "bad key with spaces", {"amount": 3})
    assert response.status_code == 422


def test_duplicate_business_key_is_409(api: Api) -> None:
    first = start_approval(api, "YK-2026-0001")
    response = api.start("approval", "YK-2026-0001", {"amount": 5})
    assert response.status_code == 409
    assert response.json()["details"]["instance_id"] == first["id"]


def test_unknown_process_is_404(api: Api) -> None:
    assert api.start("nope", "K", {}).status_code == 404
    assert api.get("/process-definitions/nope").status_code == 404
    assert api.get("/process-definitions/nope/xml").status_code == 404
    assert api.get("/process-instances/nope").status_code == 404
    assert api.get("/tasks/nope").status_code == 404


def test_complete_validates_form_and_changes_nothing(api: Api) -> None:
    instance = start_approval(api)
    task_id = instance["tasks"][0]["id"]
    api.claim(task_id, "admin")
    before = api.get(f"/process-instances/{instance['id']}").json()
    for bad in (
        {"decision": "MAYBE"},
        {},
        {"decision": "APPROVE", "amount": 3},
        {"decision": "APPROVE", "extra": 1},
        {"decision": 1},
    ):
        response = api.complete(task_id, "admin", bad)
        assert response.status_code == 422, bad
        assert response.json()["details"]
    after = api.get(f"/process-instances/{instance['id']}").json()
    assert after["variables"] == before["variables"]
    assert [t["id"] for t in after["tasks"]] == [task_id]
    assert len(after["history"]) == len(before["history"])


def test_complete_requires_claim_by_caller(api: Api) -> None:
    instance = start_approval(api)
    task_id = instance["tasks"][0]["id"]
    assert api.complete(task_id, "admin", {"decision": "APPROVE"}).status_code == 409
    api.claim(task_id, "admin")
    assert api.complete(task_id, "om", {"decision": "APPROVE"}).status_code == 404
    # A supervisor may look at the task and unclaim it, but not complete it for the holder.
    assert api.get(f"/tasks/{task_id}", "leader").status_code == 200
    assert api.complete(task_id, "leader", {"decision": "APPROVE"}).status_code == 404
    assert api.complete(task_id, "admin", {"decision": "APPROVE"}).status_code == 200
    again = api.complete(task_id, "admin", {"decision": "APPROVE"})
    assert again.status_code == 409 and "already ended" in again.json()["message"]


def test_authentication_and_deploy_permission(api: Api) -> None:
    assert api.get("/tasks", user=None).status_code == 401
    response = api.client.get("/api/v1/tasks", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.deploy(APPROVAL, user="clerk").status_code == 403
    assert api.deploy(APPROVAL, user="analyst").status_code == 201


def test_cancel(api: Api) -> None:
    instance = start_approval(api)
    assert api.post(f"/process-instances/{instance['id']}/cancel", "om").status_code == 404
    assert api.post(f"/process-instances/{instance['id']}/cancel", "leader").status_code == 403
    response = api.post(
        f"/process-instances/{instance['id']}/cancel", "clerk", json={"reason": "customer withdrew"}
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    body = api.get(f"/process-instances/{instance['id']}").json()
    assert body["tasks"] == []
    assert body["history"][-1]["details"]["reason"] == "customer withdrew"
    again = api.post(f"/process-instances/{instance['id']}/cancel", "clerk")
    assert again.status_code == 409
    task_id = instance["tasks"][0]["id"]
    assert api.claim(task_id, "admin").status_code == 409


def test_instance_list_filters(api: Api) -> None:
    start_approval(api, "A-1")
    api.start("approval", "A-2", {"amount": 2}, user="clerk2")
    assert api.get("/process-instances").json()["total"] == 2
    assert api.get("/process-instances", params={"business_key": "A-2"}).json()["total"] == 1
    assert api.get("/process-instances", params={"status": "completed"}).json()["total"] == 0
    assert api.get("/process-instances", params={"key": "approval"}).json()["total"] == 2
    assert api.get("/process-instances", user="clerk").json()["total"] == 1
    assert api.get("/process-instances", params={"status": "bogus"}).status_code == 422


def test_camunda_style_juel_conditions_route_the_gateway(api: Api) -> None:
    """A condition written for Camunda (JUEL operators) routes as its Python reading does."""
    juel = b"${decision eq 'APPROVE' &amp;&amp; !(amount gt 1000) &amp;&amp; not empty purpose}"
    xml = APPROVAL.read_bytes().replace(b'decision == "APPROVE"', juel)
    assert juel in xml
    assert api.deploy_bytes("approval.bpmn", xml).status_code == 201
    for key, amount, expected in (("JUEL-1", 5, "completed"), ("JUEL-2", 5000, "revise")):
        started = api.start("approval", key, {"amount": amount, "purpose": "x"}, user="clerk")
        [review] = started.json()["tasks"]
        api.claim(review["id"], "admin")
        done = api.complete(review["id"], "admin", {"decision": "APPROVE"}).json()
        outcome = [t["element_id"] for t in done["next_tasks"]] or [done["instance_status"]]
        assert outcome == [expected], (amount, done)


# An external task, a message wait and a user task open side by side (the message is "nudge").
OPEN_WORK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:message id="Msg_nudge" name="nudge"/>
  <bpmn:process id="open_work" name="Open work" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="fuzz"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="nudged"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="look"/>
    <bpmn:serviceTask id="fuzz" name="Fuzz" camunda:type="external" camunda:topic="fuzz"/>
    <bpmn:intermediateCatchEvent id="nudged" name="Nudged">
      <bpmn:messageEventDefinition messageRef="Msg_nudge"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="look" name="Look" camunda:candidateGroups="hall_clerk"/>
    <bpmn:sequenceFlow id="f5" sourceRef="fuzz" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="nudged" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="look" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FUZZ = {"worker_id": "fuzzer", "topics": ["fuzz"], "lock_seconds": 60}


def _external_in(api: Api, state: str) -> tuple[str, str]:
    """A case of open_work whose external task is `state`: unlocked, locked, retry_wait (a failure
    with retries left, due later) or incident (none left)."""
    drawn = layout_bpmn(OPEN_WORK.encode(), "open_work.bpmn")
    deployed = api.deploy_bytes("open_work.bpmn", drawn)
    assert deployed.status_code in (200, 201), deployed.text
    started = api.start("open_work", f"OW-{state}", {})
    assert started.status_code == 201, started.text
    case = started.json()["id"]
    if state != "unlocked":
        [task] = api.post("/external-tasks/fetch-and-lock", "worker", json=FUZZ).json()
        if state != "locked":
            failed = api.post(
                f"/external-tasks/{task['id']}/failure",
                "worker",
                json={
                    "worker_id": "fuzzer",
                    "error_message": "down",
                    "retries": 0 if state == "incident" else 2,
                    "retry_seconds": 0 if state == "incident" else 600,
                },
            )
            assert failed.status_code == 200, failed.text
    [task] = api.get("/external-tasks", params={"process_instance_id": case}).json()["items"]
    return case, task["id"]


@pytest.mark.parametrize("state", ["unlocked", "locked", "retry_wait", "incident"])
@pytest.mark.parametrize("route", ["cancel", "engine-rest"])
def test_cancel_withdraws_external_tasks_and_message_waits(
    api: Api, state: str, route: str
) -> None:
    case, task_id = _external_in(api, state)
    if route == "cancel":
        answer = api.post(f"/process-instances/{case}/cancel", "clerk", json={"reason": "x"})
        assert answer.status_code == 200, answer.text
    else:
        pair = base64.b64encode(f"clerk:{TOKENS['clerk']}".encode()).decode()
        answer = api.client.delete(
            f"/engine-rest/process-instance/{case}", headers={"Authorization": f"Basic {pair}"}
        )
        assert answer.status_code == 204, answer.text
    body = api.get(f"/process-instances/{case}").json()
    assert body["status"] == "cancelled" and body["tasks"] == []
    assert api.get("/external-tasks", params={"process_instance_id": case}).json()["items"] == []
    waits = api.get("/event-subscriptions", params={"business_key": f"OW-{state}"}).json()
    assert waits["total"] == 0, waits
    # No worker gets it any more, and what it reports finds no task.
    assert api.post("/external-tasks/fetch-and-lock", "worker", json=FUZZ).json() == []
    done = api.post(f"/external-tasks/{task_id}/complete", "worker", json={"worker_id": "fuzzer"})
    assert done.status_code == 404, done.text
    # The history says so, as a modification's withdrawal does.
    [withdrawn] = [e for e in body["history"] if e["type"] == "external_task_withdrawn"]
    assert withdrawn["task_id"] == task_id and withdrawn["element_id"] == "fuzz"
    assert withdrawn["details"] == {"reason": "instance cancelled"}
    assert [e["type"] for e in body["history"]][-1] == "instance_cancelled"
    assert body["history"][-1]["details"]["reason"] == (
        "x" if route == "cancel" else "cancelled over /engine-rest"
    )
    # A message for the case is no longer taken for it: nothing waits for it.
    sent = api.post(
        "/messages", "portal", json={"message_name": "nudge", "business_key": f"OW-{state}"}
    )
    assert sent.status_code == 404, sent.text
    # The gauge of open external tasks counts it no more.
    metrics = api.client.get("/metrics").text
    assert not [line for line in metrics.splitlines() if line.startswith("bpmn_external_tasks{")]
    assert list(check_all(api.ctx)) == []
