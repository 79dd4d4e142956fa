"""The external task of an instance that is no longer active, such as the open external task a
cancel of version 0.1.0 left behind (it did not withdraw them): every answer about it is refused
as a completion is, `409` "the instance is cancelled" on both APIs, and nothing changes; nor does
fetch-and-lock hand it out, so no worker does the work of an ended case again and again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from bpmn_service.db.models import ProcessInstance
from bpmn_service.errors import InvalidState
from bpmn_service.identity import Principal
from bpmn_service.services import external_tasks
from conftest import DATA, TOKENS, Api

WORKER = "w-ended"
TOPIC = "construction_registry"
WORKER_PRINCIPAL = Principal("worker", frozenset({"worker"}))
STATUSES = ["cancelled", "completed"]

# Every answer about one task: (user, method, path under the task, body).
NATIVE: dict[str, tuple[str, str, str, dict[str, Any] | None]] = {
    "complete": ("worker", "post", "complete", {"worker_id": WORKER}),
    "bpmn-error": (
        "worker",
        "post",
        "bpmn-error",
        {"worker_id": WORKER, "error_code": "UNLICENSED"},
    ),
    "failure": (
        "worker",
        "post",
        "failure",
        {"worker_id": WORKER, "error_message": "down", "retries": 0},
    ),
    "extend-lock": ("worker", "post", "extend-lock", {"worker_id": WORKER, "lock_seconds": 60}),
    "unlock": ("worker", "post", "unlock", None),
    "retries": ("admin", "post", "retries", {"retries": 3}),
}
REST: dict[str, tuple[str, str, str, dict[str, Any] | None]] = {
    "complete": ("worker", "post", "complete", {"workerId": WORKER}),
    "bpmnError": ("worker", "post", "bpmnError", {"workerId": WORKER, "errorCode": "UNLICENSED"}),
    "failure": (
        "worker",
        "post",
        "failure",
        {"workerId": WORKER, "errorMessage": "down", "retries": 0, "retryTimeout": 0},
    ),
    "extendLock": ("worker", "post", "extendLock", {"workerId": WORKER, "newDuration": 60_000}),
    "unlock": ("worker", "post", "unlock", None),
    "retries": ("admin", "put", "retries", {"retries": 3}),
}


def _started(api: Api, key: str) -> str:
    assert api.deploy(DATA / "external_error.bpmn").status_code in (200, 201)
    started = api.start("registry_check", key, {})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _fetch(api: Api, worker_id: str = WORKER) -> list[dict[str, Any]]:
    body = {"worker_id": worker_id, "topics": [TOPIC], "lock_seconds": 600, "max_tasks": 10}
    answer = api.post("/external-tasks/fetch-and-lock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _end_behind_its_back(api: Api, instance_id: str, status: str) -> None:
    """The instance ends while its external task stays, as a cancel of 0.1.0 left it."""
    with api.ctx.sessions.begin() as session:
        session.execute(
            update(ProcessInstance).where(ProcessInstance.id == instance_id).values(status=status)
        )


def _left_behind(api: Api, key: str, status: str) -> tuple[str, str]:
    """(instance, external task): the task locked by WORKER, then the instance ended."""
    instance_id = _started(api, key)
    [task] = _fetch(api)
    _end_behind_its_back(api, instance_id, status)
    return instance_id, task["id"]


def _snapshot(api: Api, instance_id: str, task_id: str) -> tuple[Any, ...]:
    """What an answer could change: the task as listed, the history, the incidents."""
    [task] = [
        t
        for t in api.get("/external-tasks", params={"process_instance_id": instance_id}).json()[
            "items"
        ]
        if t["id"] == task_id
    ]
    case = api.get(f"/process-instances/{instance_id}").json()
    incidents = api.get("/incidents", params={"process_instance_id": instance_id}).json()
    return task, [e["type"] for e in case["history"]], case["variables"], incidents["total"]


def _send(
    api: Api, base: str, answer: tuple[str, str, str, dict[str, Any] | None], task_id: str
) -> Any:
    user, method, path, body = answer
    headers = {"Authorization": f"Bearer {TOKENS[user]}"}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return api.client.request(method.upper(), f"{base}/{task_id}/{path}", **kwargs)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("name", sorted(NATIVE))
def test_the_native_api_refuses_every_answer_about_an_ended_instances_task(
    api: Api, name: str, status: str
) -> None:
    instance_id, task_id = _left_behind(api, f"END-N-{name}-{status}", status)
    before = _snapshot(api, instance_id, task_id)
    refused = _send(api, "/api/v1/external-tasks", NATIVE[name], task_id)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "code": "invalid_state",
        "message": f"the instance is {status}",
        "details": None,
    }
    assert _snapshot(api, instance_id, task_id) == before


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("name", sorted(REST))
def test_engine_rest_refuses_every_answer_about_an_ended_instances_task(
    api: Api, name: str, status: str
) -> None:
    instance_id, task_id = _left_behind(api, f"END-R-{name}-{status}", status)
    before = _snapshot(api, instance_id, task_id)
    refused = _send(api, "/engine-rest/external-task", REST[name], task_id)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "type": "ProcessEngineException",
        "message": f"the instance is {status}",
    }
    assert _snapshot(api, instance_id, task_id) == before


def test_a_failure_from_another_worker_is_refused_for_its_lock_first(api: Api) -> None:
    """As for a completion: the lock is checked before the instance."""
    _instance_id, task_id = _left_behind(api, "END-OTHER", "cancelled")
    body = {"worker_id": "someone-else", "error_message": "down", "retries": 0}
    refused = api.post(f"/external-tasks/{task_id}/failure", "worker", json=body)
    assert refused.status_code == 409, refused.text
    assert "not locked by worker 'someone-else'" in refused.json()["message"]


def test_fetch_and_lock_leaves_an_ended_instances_task_alone(api: Api) -> None:
    ended = _started(api, "END-FETCH-1")
    active = _started(api, "END-FETCH-2")
    _end_behind_its_back(api, ended, "cancelled")
    assert [t["process_instance_id"] for t in _fetch(api)] == [active]
    # Nor over /engine-rest, nor once the other task is taken.
    body = {"workerId": "w2", "maxTasks": 5, "topics": [{"topicName": TOPIC, "lockDuration": 1000}]}
    headers = {"Authorization": f"Bearer {TOKENS['worker']}"}
    fetched = api.client.post("/engine-rest/external-task/fetchAndLock", headers=headers, json=body)
    assert fetched.status_code == 200 and fetched.json() == [], fetched.text


@pytest.mark.parametrize("status", STATUSES)
def test_the_services_refuse_a_failure_and_an_unlock_of_an_ended_instances_task(
    api: Api, status: str
) -> None:
    """Against the database without HTTP: the service raises what complete raises."""
    _instance_id, task_id = _left_behind(api, f"END-S-{status}", status)
    with pytest.raises(InvalidState, match=f"^the instance is {status}$"):
        external_tasks.fail(
            api.ctx,
            WORKER_PRINCIPAL,
            task_id,
            worker_id=WORKER,
            message="down",
            details=None,
            retries=0,
            retry_seconds=0,
        )
    with pytest.raises(InvalidState, match=f"^the instance is {status}$"):
        external_tasks.complete(api.ctx, WORKER_PRINCIPAL, task_id, worker_id=WORKER, variables={})
    with pytest.raises(InvalidState, match=f"^the instance is {status}$"):
        external_tasks.unlock(api.ctx, WORKER_PRINCIPAL, task_id)
    task = external_tasks.get_external_task(api.ctx, WORKER_PRINCIPAL, task_id)
    assert (task.worker_id, task.retries, task.incident_at) == (WORKER, None, None)
