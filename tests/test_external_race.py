"""A worker's two answers for one locked external task sent at the same moment (a failure and a
completion, a BPMN error and a completion, an extended lock and a completion), or an unlock and
its worker's completion: exactly one ends the task, the other gets what it would get sent
afterwards (409 not locked, 404 gone), and the history, the incidents and their counter show only
the winner. On SQLite and PostgreSQL in one process, and across two real server processes sharing
PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from conftest import DATA, TOKENS, Api
from served import server_processes

CASES = 8
WORKER = "wr"
PROCESS, TOPIC = "registry_check", "construction_registry"
FAILURE = {"workerId": WORKER, "errorMessage": "x", "retries": 0, "retryTimeout": 0}
NATIVE_FAILURE = {"worker_id": WORKER, "error_message": "x", "retries": 0}
HEADERS = {"Authorization": f"Bearer {TOKENS['worker']}"}
# What a worker's answer may write into the history (not the task's creation).
ENDINGS = ("external_task_completed", "external_task_bpmn_error", "incident_created")
Send = Callable[[str], Any]


def _locked(api: Api, prefix: str, cases: int = CASES) -> list[tuple[str, str]]:
    """`cases` new instances of external_error.bpmn, (instance, external task) locked by WORKER."""
    assert api.deploy(DATA / "external_error.bpmn").status_code in (200, 201)
    instances = []
    for n in range(cases):
        started = api.start(PROCESS, f"{prefix}-{n}", {})
        assert started.status_code == 201, started.text
        instances.append(started.json()["id"])
    fetch = {"worker_id": WORKER, "topics": [TOPIC], "lock_seconds": 600, "max_tasks": cases}
    tasks = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()
    task_of = {t["process_instance_id"]: t["id"] for t in tasks}
    return [(instance_id, task_of[instance_id]) for instance_id in instances]


def _race(cases: list[tuple[str, str]], first: Send, second: Send) -> list[tuple[int, int]]:
    """Each case's task sent `first` and `second` together; their status codes."""
    outcomes = []
    for _instance_id, task_id in cases:
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            a = pool.submit(_together, barrier, first, task_id)
            b = pool.submit(_together, barrier, second, task_id)
            outcomes.append((a.result(timeout=60), b.result(timeout=60)))
    return outcomes


def _together(barrier: threading.Barrier, send: Send, task_id: str) -> int:
    barrier.wait(timeout=30)
    return int(send(task_id).status_code)


def _incidents_counted() -> float:
    labels = {"process": PROCESS, "topic": TOPIC}
    return REGISTRY.get_sample_value("bpmn_incidents_created_total", labels) or 0.0


def _case(api: Api, instance_id: str) -> tuple[list[str], list[str]]:
    """The instance's history of ended external tasks and the elements of its open user tasks."""
    case = api.get(f"/process-instances/{instance_id}").json()
    kinds = [e["type"] for e in case["history"] if e["type"].startswith(ENDINGS)]
    return kinds, [t["element_id"] for t in case["tasks"]]


def _check_failures(
    api: Api, cases: list[tuple[str, str]], outcomes: list[tuple[int, int]], failed_ok: int = 204
) -> int:
    """(failure, complete) answers: one succeeds (a failure `failed_ok`, a completion 204); a
    completion after the incident is 409, a failure after the completion 404; history and
    incidents show only the winner. The number of incidents."""
    incidents = 0
    for (instance_id, task_id), (failed, completed) in zip(cases, outcomes, strict=True):
        kinds, open_tasks = _case(api, instance_id)
        shown = api.get("/incidents", "admin", params={"process_instance_id": instance_id})
        if failed == failed_ok:
            incidents += 1
            assert completed == 409, (failed, completed, kinds)
            assert kinds == ["incident_created"] and open_tasks == [], kinds
            assert shown.json()["total"] == 1
            task = api.client.get(f"/engine-rest/external-task/{task_id}", headers=HEADERS)
            assert task.json()["retries"] == 0
        else:
            assert completed == 204 and failed == 404, (failed, completed, kinds)
            assert kinds == ["external_task_completed"] and open_tasks == ["ok"], kinds
            assert shown.json()["total"] == 0
    return incidents


def _rest(api: Api, path: str, body: dict[str, Any]) -> Any:
    return api.client.post(f"/engine-rest/external-task/{path}", headers=HEADERS, json=body)


def _native(api: Api, path: str, body: dict[str, Any]) -> Any:
    return api.post(f"/external-tasks/{path}", "worker", json=body)


def test_a_failure_racing_a_completion_on_engine_rest(api: Api) -> None:
    cases = _locked(api, "FAIL-REST")
    before = _incidents_counted()
    outcomes = _race(
        cases,
        lambda task_id: _rest(api, f"{task_id}/failure", FAILURE),
        lambda task_id: _rest(api, f"{task_id}/complete", {"workerId": WORKER}),
    )
    incidents = _check_failures(api, cases, outcomes)
    assert _incidents_counted() - before == incidents


def test_a_failure_sent_while_a_completion_runs_waits_for_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The losing order of the race made certain: the completion, past its check of the lock,
    gives a failure up to a second to answer before its engine step. The failure waits for the
    completion instead and finds the task gone."""
    [(instance_id, task_id)] = _locked(api, "ORDER", cases=1)
    checked, failed = threading.Event(), threading.Event()
    engine_complete = api.ctx.runner.complete

    def complete_after_failure(*args: Any, **kwargs: Any) -> Any:
        checked.set()
        failed.wait(timeout=1)
        return engine_complete(*args, **kwargs)

    monkeypatch.setattr(api.ctx.runner, "complete", complete_after_failure)
    with ThreadPoolExecutor(max_workers=1) as pool:
        completing = pool.submit(_rest, api, f"{task_id}/complete", {"workerId": WORKER})
        assert checked.wait(timeout=30)
        failure = _rest(api, f"{task_id}/failure", FAILURE)
        failed.set()
        completed = completing.result(timeout=60)
    assert (failure.status_code, completed.status_code) == (404, 204), failure.text
    assert _case(api, instance_id) == (["external_task_completed"], ["ok"])


def test_a_failure_racing_a_completion_on_the_native_api(api: Api) -> None:
    cases = _locked(api, "FAIL-API")
    before = _incidents_counted()
    outcomes = _race(
        cases,
        lambda task_id: _native(api, f"{task_id}/failure", NATIVE_FAILURE),
        lambda task_id: _native(api, f"{task_id}/complete", {"worker_id": WORKER}),
    )
    incidents = _check_failures(api, cases, outcomes, failed_ok=200)
    assert _incidents_counted() - before == incidents


def test_a_bpmn_error_racing_a_completion(api: Api) -> None:
    cases = _locked(api, "ERROR")
    error = {"worker_id": WORKER, "error_code": "UNLICENSED"}
    outcomes = _race(
        cases,
        lambda task_id: _native(api, f"{task_id}/bpmn-error", error),
        lambda task_id: _native(api, f"{task_id}/complete", {"worker_id": WORKER}),
    )
    for (instance_id, _task_id), (raised, completed) in zip(cases, outcomes, strict=True):
        kinds, open_tasks = _case(api, instance_id)
        assert sorted((raised, completed)) == [204, 404], (raised, completed, kinds)
        if raised == 204:
            assert kinds == ["external_task_bpmn_error"] and open_tasks == ["fix"], kinds
        else:
            assert kinds == ["external_task_completed"] and open_tasks == ["ok"], kinds


def test_an_extended_lock_racing_a_completion(api: Api) -> None:
    """Both may succeed (the extension first); an extension after the completion is 404, the
    answer it gets sent afterwards, not a conflict of versions."""
    cases = _locked(api, "EXTEND")
    outcomes = _race(
        cases,
        lambda task_id: _rest(
            api, f"{task_id}/extendLock", {"workerId": WORKER, "newDuration": 1000}
        ),
        lambda task_id: _rest(api, f"{task_id}/complete", {"workerId": WORKER}),
    )
    for (instance_id, _task_id), (extended, completed) in zip(cases, outcomes, strict=True):
        kinds, open_tasks = _case(api, instance_id)
        assert completed == 204 and extended in (204, 404), (extended, completed)
        assert kinds == ["external_task_completed"] and open_tasks == ["ok"], kinds


def test_an_unlock_racing_a_completion(api: Api) -> None:
    """One wins: an unlock first leaves the completion 409 (the worker no longer holds the lock)
    and the task open; an unlock after the completion finds no task (404)."""
    cases = _locked(api, "UNLOCK")
    outcomes = _race(
        cases,
        lambda task_id: api.client.post(
            f"/engine-rest/external-task/{task_id}/unlock", headers=HEADERS
        ),
        lambda task_id: _rest(api, f"{task_id}/complete", {"workerId": WORKER}),
    )
    for (instance_id, task_id), (unlocked, completed) in zip(cases, outcomes, strict=True):
        kinds, open_tasks = _case(api, instance_id)
        if unlocked == 204:
            assert completed == 409, (unlocked, completed)
            assert kinds == [] and open_tasks == [], kinds
            shown = api.client.get(f"/engine-rest/external-task/{task_id}", headers=HEADERS)
            assert shown.json()["workerId"] is None
        else:
            assert (unlocked, completed) == (404, 204)
            assert kinds == ["external_task_completed"] and open_tasks == ["ok"], kinds


@pytest.fixture
def two_servers(api: Api) -> Iterator[list[str]]:
    # No reference workers: theirs would fetch the construction_registry tasks first.
    env = {"BPMN_TIMER_POLL_SECONDS": "0", "BPMN_REFERENCE_WORKERS": "false"}
    with server_processes(api.ctx.settings, env) as urls:
        yield urls


def test_a_failure_racing_a_completion_across_two_server_processes(
    api: Api, two_servers: list[str]
) -> None:
    cases = _locked(api, "FAIL-SERVERS")
    failing, completing = two_servers

    def fail(task_id: str) -> httpx.Response:
        url = f"{failing}/engine-rest/external-task/{task_id}/failure"
        return httpx.post(url, headers=HEADERS, json=FAILURE, timeout=60)

    def complete(task_id: str) -> httpx.Response:
        url = f"{completing}/engine-rest/external-task/{task_id}/complete"
        return httpx.post(url, headers=HEADERS, json={"workerId": WORKER}, timeout=60)

    _check_failures(api, cases, _race(cases, fail, complete))
