"""Locks of external tasks given back and kept longer. Unlocking (Camunda's
`POST /external-task/{id}/unlock`, and `POST /api/v1/external-tasks/{id}/unlock`) clears the lock
and its worker, so any worker fetches the task at once, and the worker that held it can no longer
answer for it. `POST /api/v1/external-tasks/{id}/extend-lock` is Camunda's extendLock."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.errors import Forbidden, NotFound
from bpmn_service.identity import Principal
from bpmn_service.services import external_tasks
from conftest import DATA, TOKENS, Api

TOPIC = "construction_registry"
WORKER_PRINCIPAL = Principal("worker", frozenset({"worker"}))
REST_HEADERS = {"Authorization": f"Bearer {TOKENS['worker']}"}


def _locked(api: Api, key: str, worker_id: str = "w1") -> tuple[str, str]:
    """(instance, external task) of a new registry_check instance, locked by worker_id."""
    assert api.deploy(DATA / "external_error.bpmn").status_code in (200, 201)
    started = api.start("registry_check", key, {})
    assert started.status_code == 201, started.text
    [task] = _fetch(api, worker_id)
    return str(started.json()["id"]), str(task["id"])


def _fetch(api: Api, worker_id: str) -> list[dict[str, Any]]:
    body = {"worker_id": worker_id, "topics": [TOPIC], "lock_seconds": 600}
    answer = api.post("/external-tasks/fetch-and-lock", "worker", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _rest(api: Api, path: str, body: dict[str, Any] | None = None, user: str = "worker") -> Any:
    headers = {"Authorization": f"Bearer {TOKENS[user]}"}
    url = f"/engine-rest/external-task/{path}"
    return (
        api.client.post(url, headers=headers, json=body)
        if body
        else api.client.post(url, headers=headers)
    )


def test_engine_rest_unlock_gives_the_task_to_any_worker(api: Api) -> None:
    instance_id, task_id = _locked(api, "UNLOCK-R")
    assert _fetch(api, "w2") == []  # locked for w1
    unlocked = _rest(api, f"{task_id}/unlock")
    assert unlocked.status_code == 204, unlocked.text
    assert unlocked.content == b""
    shown = api.client.get(f"/engine-rest/external-task/{task_id}", headers=REST_HEADERS).json()
    assert (shown["workerId"], shown["lockExpirationTime"]) == (None, None)
    # w1 lost it: what it reports now is the answer of a worker that does not hold the lock.
    late = _rest(api, f"{task_id}/complete", {"workerId": "w1"})
    assert late.status_code == 409 and "not locked by worker 'w1'" in late.json()["message"]
    [again] = _fetch(api, "w2")
    assert again["id"] == task_id and again["worker_id"] == "w2"
    done = _rest(api, f"{task_id}/complete", {"workerId": "w2"})
    assert done.status_code == 204, done.text
    case = api.get(f"/process-instances/{instance_id}").json()
    assert [t["element_id"] for t in case["tasks"]] == ["ok"]
    # An unlock is no answer of the task: the history shows its completion only.
    kinds = [e["type"] for e in case["history"] if e["type"].startswith("external_task_")]
    assert kinds == ["external_task_created", "external_task_completed"]


def test_engine_rest_unlock_of_an_unknown_task_is_404_and_needs_a_worker(api: Api) -> None:
    missing = _rest(api, "no-such-task/unlock")
    assert missing.status_code == 404, missing.text
    assert missing.json()["type"] == "InvalidRequestException"
    _instance_id, task_id = _locked(api, "UNLOCK-403")
    forbidden = _rest(api, f"{task_id}/unlock", user="clerk")
    assert forbidden.status_code == 403 and forbidden.json()["type"] == "AuthorizationException"
    # An unlocked task unlocks again, as in Camunda.
    assert _rest(api, f"{task_id}/unlock").status_code == 204
    assert _rest(api, f"{task_id}/unlock").status_code == 204


def test_native_unlock_answers_the_task_unlocked(api: Api) -> None:
    _instance_id, task_id = _locked(api, "UNLOCK-N")
    unlocked = api.post(f"/external-tasks/{task_id}/unlock", "worker")
    assert unlocked.status_code == 200, unlocked.text
    body = unlocked.json()
    assert body["id"] == task_id
    assert (body["worker_id"], body["lock_expires_at"]) == (None, None)
    assert [t["id"] for t in _fetch(api, "w2")] == [task_id]
    assert api.post("/external-tasks/nope/unlock", "worker").status_code == 404
    assert api.post(f"/external-tasks/{task_id}/unlock", "clerk").status_code == 403


def test_unlock_ends_a_failures_retry_wait_as_in_camunda(api: Api) -> None:
    """Camunda keeps a failed task's retry wait in its lock, so an unlock offers it at once."""
    _instance_id, task_id = _locked(api, "UNLOCK-WAIT")
    failure = {"worker_id": "w1", "error_message": "busy", "retries": 2, "retry_seconds": 3600}
    assert api.post(f"/external-tasks/{task_id}/failure", "worker", json=failure).status_code == 200
    assert _fetch(api, "w2") == []  # waiting out its retry time
    assert _rest(api, f"{task_id}/unlock").status_code == 204
    [again] = _fetch(api, "w2")
    assert again["id"] == task_id and again["retries"] == 2 and again["error_message"] == "busy"


def test_a_long_failure_is_kept_shortened_not_refused(api: Api) -> None:
    """A worker reporting a stack trace longer than what is kept got 422, and its task stayed
    locked until the lock ran out."""
    _instance_id, task_id = _locked(api, "LONG-FAIL")
    failure = {
        "worker_id": "w1",
        "error_message": "m" * 5000,
        "error_details": "d" * 150_000,
        "retries": 1,
    }
    answer = api.post(f"/external-tasks/{task_id}/failure", "worker", json=failure)
    assert answer.status_code == 200, answer.text
    assert answer.json()["error_message"] == "m" * 4000
    [again] = _fetch(api, "w2")
    assert again["id"] == task_id and again["retries"] == 1


def test_unlock_leaves_an_incident_an_incident(api: Api) -> None:
    _instance_id, task_id = _locked(api, "UNLOCK-INC")
    failure = {"worker_id": "w1", "error_message": "down", "retries": 0}
    assert api.post(f"/external-tasks/{task_id}/failure", "worker", json=failure).status_code == 200
    assert _rest(api, f"{task_id}/unlock").status_code == 204
    assert _fetch(api, "w2") == []
    [incident] = api.get("/incidents", "worker").json()["items"]
    assert incident["external_task_id"] == task_id


def test_the_unlock_service_against_the_database(api: Api) -> None:
    _instance_id, task_id = _locked(api, "UNLOCK-S")
    before = external_tasks.get_external_task(api.ctx, WORKER_PRINCIPAL, task_id)
    task = external_tasks.unlock(api.ctx, WORKER_PRINCIPAL, task_id)
    assert (task.worker_id, task.lock_expires_at, task.retry_at) == (None, None, None)
    stored = external_tasks.get_external_task(api.ctx, WORKER_PRINCIPAL, task_id)
    assert (stored.worker_id, stored.lock_expires_at) == (None, None)
    assert stored.row_version == before.row_version + 1
    with pytest.raises(NotFound):
        external_tasks.unlock(api.ctx, WORKER_PRINCIPAL, "no-such-task")
    with pytest.raises(Forbidden):
        external_tasks.unlock(api.ctx, Principal("clerk", frozenset({"hall_clerk"})), task_id)


def test_native_extend_lock_keeps_the_task_longer_for_its_worker_only(api: Api) -> None:
    _instance_id, task_id = _locked(api, "EXTEND-N")
    held = api.get("/external-tasks", "worker").json()["items"][0]["lock_expires_at"]
    extend = {"worker_id": "w1", "lock_seconds": 7200}
    extended = api.post(f"/external-tasks/{task_id}/extend-lock", "worker", json=extend)
    assert extended.status_code == 200, extended.text
    assert extended.json()["worker_id"] == "w1" and extended.json()["lock_expires_at"] > held
    other = {"worker_id": "w2", "lock_seconds": 60}
    refused = api.post(f"/external-tasks/{task_id}/extend-lock", "worker", json=other)
    assert refused.status_code == 409 and "not locked by worker 'w2'" in refused.json()["message"]
    too_long = {"worker_id": "w1", "lock_seconds": 24 * 3600 + 1}
    assert (
        api.post(f"/external-tasks/{task_id}/extend-lock", "worker", json=too_long).status_code
        == 422
    )
    assert (
        api.post(f"/external-tasks/{task_id}/extend-lock", "clerk", json=extend).status_code == 403
    )
    missing = api.post("/external-tasks/nope/extend-lock", "worker", json=extend)
    assert missing.status_code == 404


def test_native_read_of_one_external_task_shows_its_lock(api: Api) -> None:
    _instance_id, task_id = _locked(api, "READ-ONE")
    one = api.get(f"/external-tasks/{task_id}", "worker")
    assert one.status_code == 200, one.text
    assert one.json()["id"] == task_id and one.json()["worker_id"] == "w1"
    assert one.json()["lock_expires_at"] is not None
    assert api.get(f"/external-tasks/{task_id}", "leader").status_code == 200
    assert api.get(f"/external-tasks/{task_id}", "clerk").status_code == 403
    assert api.get("/external-tasks/nope", "worker").status_code == 404
    body = {"worker_id": "w1", "variables": {}}
    assert api.post(f"/external-tasks/{task_id}/complete", "worker", json=body).status_code == 204
    assert api.get(f"/external-tasks/{task_id}", "worker").status_code == 404
