"""A worker's BPMN error: the innermost catch around the external task takes over."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import DATA, Api

FETCH = {"worker_id": "registry-1", "topics": ["construction_registry"], "lock_seconds": 60}


def _locked(api: Api, key: str, process: str = "registry_check") -> tuple[str, dict[str, Any]]:
    """A new instance of `process` (tests/data/<file>.bpmn) with its external task locked."""
    files = {
        "registry_check": "external_error.bpmn",
        "error_scopes": "error_scopes.bpmn",
        "error_code_variables": "error_code_variables.bpmn",
    }
    assert api.deploy(DATA / files[process]).status_code in (200, 201)
    started = api.start(process, key, {})
    assert started.status_code == 201, started.text
    [task] = api.post("/external-tasks/fetch-and-lock", "worker", json=FETCH).json()
    return started.json()["id"], task


def _error(api: Api, task_id: str, **body: Any) -> Any:
    return api.post(
        f"/external-tasks/{task_id}/bpmn-error", "worker", json={"worker_id": "registry-1", **body}
    )


def test_a_bpmn_error_takes_the_error_boundary_path(api: Api) -> None:
    instance_id, task = _locked(api, "ERR-1")
    answer = _error(
        api,
        task["id"],
        error_code="UNLICENSED",
        error_message="licence expired",
        variables={"registryReason": "licence expired 2026-10-01"},
    )
    assert answer.status_code == 204, answer.text
    instance = api.get(f"/process-instances/{instance_id}").json()
    assert [t["element_id"] for t in instance["tasks"]] == ["fix"]
    assert instance["variables"]["registryReason"] == "licence expired 2026-10-01"
    [event] = [e for e in instance["history"] if e["type"] == "external_task_bpmn_error"]
    assert event["details"]["error_code"] == "UNLICENSED" and event["element_id"] == "lookup"
    assert api.get("/external-tasks", "worker").json()["items"] == []
    # The task is gone: neither another error nor a completion finds it.
    assert _error(api, task["id"], error_code="UNLICENSED").status_code == 404


def test_the_catch_sets_its_error_code_and_message_variables(api: Api) -> None:
    """camunda:errorCodeVariable / errorMessageVariable on the boundary event get the worker's
    code and message, and the gateway after it reads them; camunda:initiator names the
    variable that holds the starting user (clerk), to whom the task after it is assigned."""
    instance_id, task = _locked(api, "ERR-VARS", "error_code_variables")
    answer = _error(api, task["id"], error_code="UNLICENSED", error_message="licence expired")
    assert answer.status_code == 204, answer.text
    instance = api.get(f"/process-instances/{instance_id}").json()
    assert instance["variables"]["errCode"] == "UNLICENSED"
    assert instance["variables"]["errMsg"] == "licence expired"
    assert instance["variables"]["starter"] == "clerk"
    [fix] = instance["tasks"]
    assert (fix["element_id"], fix["assignee"]) == ("fix", "clerk")


def test_an_error_code_nothing_catches_is_refused_and_the_task_stays_locked(api: Api) -> None:
    instance_id, task = _locked(api, "ERR-2")
    refused = _error(api, task["id"], error_code="TIMEOUT", variables={"x": 1})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "error_not_caught"
    assert refused.json()["details"] == {"element_id": "lookup", "error_code": "TIMEOUT"}
    instance = api.get(f"/process-instances/{instance_id}").json()
    assert instance["tasks"] == [] and "x" not in instance["variables"]
    # Only the locking worker may report, and it can still complete the task normally.
    other = api.post(
        f"/external-tasks/{task['id']}/bpmn-error",
        "worker",
        json={"worker_id": "someone-else", "error_code": "UNLICENSED"},
    )
    assert other.status_code == 409, other.text
    done = api.post(
        f"/external-tasks/{task['id']}/complete", "worker", json={"worker_id": "registry-1"}
    )
    assert done.status_code == 204, done.text
    instance = api.get(f"/process-instances/{instance_id}").json()
    assert [t["element_id"] for t in instance["tasks"]] == ["ok"]


def test_only_workers_report_bpmn_errors(api: Api) -> None:
    _instance_id, task = _locked(api, "ERR-3")
    forbidden = api.post(
        f"/external-tasks/{task['id']}/bpmn-error",
        "clerk",
        json={"worker_id": "registry-1", "error_code": "UNLICENSED"},
    )
    assert forbidden.status_code == 403


def _open(api: Api, instance_id: str) -> list[str]:
    body = api.get(f"/process-instances/{instance_id}").json()
    return sorted(t["element_id"] for t in body["tasks"])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("LOCAL", ["local_fix", "other"]),  # the boundary event on the task itself
        ("SUB", ["other", "sub_fix"]),  # the boundary event on the subprocess around it
        ("PROC", ["abort_fix"]),  # the error event subprocess: it stops the rest of the case
    ],
)
def test_the_innermost_catch_takes_the_error(api: Api, code: str, expected: list[str]) -> None:
    instance_id, task = _locked(api, f"ERR-{code}", "error_scopes")
    assert _open(api, instance_id) == ["other"]
    answer = _error(api, task["id"], error_code=code, variables={"why": code})
    assert answer.status_code == 204, answer.text
    assert _open(api, instance_id) == expected
    body = api.get(f"/process-instances/{instance_id}").json()
    assert body["variables"].get("why") == code or code != "PROC"
    for element in expected:  # finishing the open work finishes the case
        [open_task] = [t for t in api.open_tasks(instance_id) if t["element_id"] == element]
        api.claim(open_task["id"], "clerk")
        assert api.complete(open_task["id"], "clerk", {}).status_code == 200
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"
