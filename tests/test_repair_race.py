"""A supervisor's move racing a clerk's completion of the same task: one wins, the other gets 409,
and nothing is half-applied. In one process (SQLite and PostgreSQL) and across two real server
processes sharing PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from conftest import ROOT, TOKENS, Api
from served import server_processes

CASES = 8
FIXED = ROOT / "tests" / "engine" / "bpmn" / "intake_fixed.bpmn"
MOVE = {
    "reason": "the customer withdrew the application by phone",
    "instructions": [
        {"type": "cancel", "element_id": "enter"},
        {"type": "start_before", "element_id": "reject"},
    ],
}


def _prepared(api: Api) -> list[tuple[str, str]]:
    assert api.deploy(FIXED).status_code == 201
    cases = []
    for n in range(CASES):
        case = api.start("intake", f"RACE-{n}", {}).json()
        [task] = case["tasks"]
        assert api.claim(task["id"], "clerk").status_code == 200
        cases.append((case["id"], task["id"]))
    return cases


def _race(
    cases: list[tuple[str, str]],
    complete: Callable[[str], httpx.Response],
    move: Callable[[str], httpx.Response],
) -> list[tuple[int, int]]:
    outcomes = []
    for instance_id, task_id in cases:
        barrier = threading.Barrier(2)

        with ThreadPoolExecutor(max_workers=2) as pool:
            done = pool.submit(_together, barrier, complete, task_id)
            moved = pool.submit(_together, barrier, move, instance_id)
            outcomes.append((done.result(timeout=60), moved.result(timeout=60)))
    return outcomes


def _together(
    barrier: threading.Barrier, action: Callable[[str], httpx.Response], target: str
) -> int:
    barrier.wait(timeout=30)
    return action(target).status_code


def _check(api: Api, cases: list[tuple[str, str]], outcomes: list[tuple[int, int]]) -> None:
    for (instance_id, task_id), (completed, moved) in zip(cases, outcomes, strict=True):
        assert sorted((completed, moved)) == [200, 409], (completed, moved)
        case = api.get(f"/process-instances/{instance_id}").json()
        types = [e["type"] for e in case["history"]]
        [open_task] = case["tasks"]
        if completed == 200:  # the move found nothing to cancel
            assert open_task["element_id"] == "approve"
            assert "task_completed" in types and "instance_modified" not in types
        else:  # the move won; the completion changed nothing
            assert open_task["element_id"] == "reject"
            assert "instance_modified" in types and "task_completed" not in types
            assert [e["task_id"] for e in case["history"] if e["type"] == "task_cancelled"] == [
                task_id
            ]


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[user]}"}


def test_a_move_racing_a_completion_in_one_process(api: Api) -> None:
    cases = _prepared(api)

    def complete(task_id: str) -> Any:
        return api.client.post(
            f"/api/v1/tasks/{task_id}/complete",
            headers=_headers("clerk"),
            json={"variables": {"verdict": "yes"}},
        )

    def move(instance_id: str) -> Any:
        return api.client.post(
            f"/api/v1/process-instances/{instance_id}/modification",
            headers=_headers("leader"),
            json=MOVE,
        )

    _check(api, cases, _race(cases, complete, move))


@pytest.fixture
def two_servers(api: Api) -> Iterator[list[str]]:
    with server_processes(api.ctx.settings, {"BPMN_TIMER_POLL_SECONDS": "0"}) as urls:
        yield urls


def test_a_move_racing_a_completion_across_two_server_processes(
    api: Api, two_servers: list[str]
) -> None:
    cases = _prepared(api)
    clerk_server, supervisor_server = two_servers

    def complete(task_id: str) -> httpx.Response:
        return httpx.post(
            f"{clerk_server}/api/v1/tasks/{task_id}/complete",
            headers=_headers("clerk"),
            json={"variables": {"verdict": "yes"}},
            timeout=60,
        )

    def move(instance_id: str) -> httpx.Response:
        return httpx.post(
            f"{supervisor_server}/api/v1/process-instances/{instance_id}/modification",
            headers=_headers("leader"),
            json=MOVE,
            timeout=60,
        )

    _check(api, cases, _race(cases, complete, move))
