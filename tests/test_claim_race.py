"""Concurrency: racing claimers, and simultaneous completions of one multi-instance task.

Every thread has its own TestClient over its own app, all sharing the test's AppContext (and so the
database engine); requests are released together by a barrier. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from bpmn_service.context import AppContext
from bpmn_service.main import create_app
from conftest import DATA, TOKENS, Api

RACE = DATA / "race.bpmn"
COUNTERSIGN = DATA / "countersign.bpmn"
# One user per candidate group of race.bpmn's task: eight distinct claimers.
CLAIMERS = [
    "clerk",
    "specialist",
    "planner",
    "devplan",
    "om",
    "dispatcher",
    "inspector",
    "meterman",
]
TASKS = 20
SIGNERS = {
    "om_dept": "om",
    "dispatch": "dispatcher",
    "metering": "meterman",
    "inspection": "inspector",
}
RETRYABLE = {"stale_version", "busy"}
T = TypeVar("T")


def own_client(ctx: AppContext) -> TestClient:
    # No `with`: the app's lifespan would dispose the shared engine on exit.
    return TestClient(create_app(ctx=ctx))


def run_together(workers: dict[str, Callable[[], T]]) -> dict[str, T]:
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        futures = {name: pool.submit(fn) for name, fn in workers.items()}
        return {name: f.result(timeout=120) for name, f in futures.items()}


def test_exactly_one_of_eight_concurrent_claimers_wins(api: Api) -> None:
    assert api.deploy(RACE).status_code == 201
    task_ids = []
    for n in range(TASKS):
        started = api.start("race", f"R-{n}", {})
        assert started.status_code == 201, started.text
        [task] = started.json()["tasks"]
        assert len(task["candidate_groups"]) == len(CLAIMERS)
        task_ids.append(task["id"])

    barrier = threading.Barrier(len(CLAIMERS))
    outcomes: dict[str, list[tuple[str, int, dict[str, Any]]]] = defaultdict(list)
    lock = threading.Lock()

    def claimer(user: str) -> Callable[[], None]:
        def run() -> None:
            client = own_client(api.ctx)
            headers = {"Authorization": f"Bearer {TOKENS[user]}"}
            try:
                for task_id in task_ids:
                    barrier.wait(timeout=60)
                    response = client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers)
                    with lock:
                        outcomes[task_id].append((user, response.status_code, response.json()))
            finally:
                client.close()

        return run

    run_together({user: claimer(user) for user in CLAIMERS})

    winners = {}
    for task_id in task_ids:
        results = outcomes[task_id]
        assert len(results) == len(CLAIMERS)
        statuses = Counter(status for _, status, _ in results)
        assert statuses == {200: 1, 409: len(CLAIMERS) - 1}, results
        [(winner, _, body)] = [r for r in results if r[1] == 200]
        assert body["assignee"] == winner
        for user, status, body in results:
            if status == 409:
                assert body["code"] == "task_already_claimed", body
                assert body["details"] == {"assignee": winner}, (user, body)
                assert winner in body["message"]
        winners[task_id] = winner

    # The database agrees with the answers, and history records exactly one claim per task.
    for task_id, winner in winners.items():
        assert api.get(f"/tasks/{task_id}").json()["assignee"] == winner
    instances = api.get("/process-instances", params={"key": "race", "limit": 200}).json()
    assert instances["total"] == TASKS
    for instance in instances["items"]:
        history = api.get(f"/process-instances/{instance['id']}").json()["history"]
        assert [e["type"] for e in history].count("task_claimed") == 1


def complete_with_retries(
    client: TestClient, user: str, task_id: str, values: dict[str, Any]
) -> tuple[int, int]:
    """Complete a task, retrying on stale-version 409s and busy 503s; (status, retries)."""
    headers = {"Authorization": f"Bearer {TOKENS[user]}"}
    for attempt in range(50):
        response = client.post(
            f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"variables": values}
        )
        retryable = response.status_code == 503 or (
            response.status_code == 409 and response.json().get("code") in RETRYABLE
        )
        if not retryable:
            assert response.status_code == 200, response.text
            return response.status_code, attempt
        assert response.headers.get("retry-after"), response.headers
        time.sleep(0.02)
    raise AssertionError(f"{user} could not complete {task_id}: {response.text}")


def signer(
    ctx: AppContext, barrier: threading.Barrier, user: str, task_id: str, comment: str
) -> Callable[[], tuple[int, int]]:
    def run() -> tuple[int, int]:
        client = own_client(ctx)
        try:
            barrier.wait(timeout=60)
            values = {"decision": "APPROVE", "comment": comment}
            return complete_with_retries(client, user, task_id, values)
        finally:
            client.close()

    return run


def test_simultaneous_completions_of_a_multi_instance_task_are_all_applied(api: Api) -> None:
    assert api.deploy(COUNTERSIGN).status_code == 201
    rounds = 5
    for n in range(rounds):
        started = api.start("countersign", f"MI-{n}", {"signers": list(SIGNERS)})
        assert started.status_code == 201, started.text
        instance = started.json()
        tasks = {t["candidate_groups"][0]: t["id"] for t in instance["tasks"]}
        assert set(tasks) == set(SIGNERS)
        for group, user in SIGNERS.items():
            assert api.claim(tasks[group], user).status_code == 200

        barrier = threading.Barrier(len(SIGNERS))
        results = run_together(
            {
                group: signer(api.ctx, barrier, user, tasks[group], f"{user} round {n}")
                for group, user in SIGNERS.items()
            }
        )
        assert all(status == 200 for status, _ in results.values()), results

        body = api.get(f"/process-instances/{instance['id']}").json()
        signatures = body["variables"]["signatures"]
        assert len(signatures) == len(SIGNERS), signatures
        assert sorted(s["signer"] for s in signatures) == sorted(SIGNERS)
        assert sorted(s["completedBy"] for s in signatures) == sorted(SIGNERS.values())
        assert {s["comment"] for s in signatures} == {f"{u} round {n}" for u in SIGNERS.values()}
        assert body["variables"]["signatureCount"] == len(SIGNERS)
        assert body["variables"]["allApproved"] is True
        assert [t["element_id"] for t in body["tasks"]] == ["review"]
        types = Counter(e["type"] for e in body["history"])
        assert types["task_completed"] == len(SIGNERS)
        assert types["task_created"] == len(SIGNERS) + 1
        assert body["status"] == "active"


def test_a_double_submitted_completion_is_applied_once(api: Api) -> None:
    """The same assignee completing the same task from four tabs at once: one wins, none doubles."""
    assert api.deploy(RACE).status_code == 201
    for n in range(5):
        [task] = api.start("race", f"D-{n}", {}).json()["tasks"]
        assert api.claim(task["id"], "clerk").status_code == 200
        barrier = threading.Barrier(4)
        headers = {"Authorization": f"Bearer {TOKENS['clerk']}"}

        def submit(
            tab: int,
            task_id: str = task["id"],
            barrier: threading.Barrier = barrier,
            headers: dict[str, str] = headers,
        ) -> Callable[[], tuple[int, str, str]]:
            def run() -> tuple[int, str, str]:
                client = own_client(api.ctx)
                try:
                    barrier.wait(timeout=60)
                    for _ in range(50):
                        response = client.post(
                            f"/api/v1/tasks/{task_id}/complete",
                            headers=headers,
                            json={"variables": {"note": f"tab {tab}"}},
                        )
                        code = response.json().get("code", "")
                        if response.status_code != 503 and code not in RETRYABLE:
                            return response.status_code, code, response.json().get("message", "")
                        time.sleep(0.02)
                    raise AssertionError(response.text)
                finally:
                    client.close()

            return run

        results = run_together({f"tab{t}": submit(t) for t in range(4)})
        statuses = Counter(status for status, _, _ in results.values())
        assert statuses == {200: 1, 409: 3}, results
        assert {code for status, code, _ in results.values() if status == 409} == {"invalid_state"}
        # a loser that waited for the instance's lock is told the task ended, in the words of
        # docs/api.md, whether or not its read of the task came before the winner's commit
        for status, _, message in results.values():
            assert status == 200 or "already ended (completed at" in message, message
        body = api.get(f"/process-instances/{task['process_instance_id']}").json()
        assert body["status"] == "completed"
        completed = [e for e in body["history"] if e["type"] == "task_completed"]
        assert len(completed) == 1
        winner = next(name for name, (status, _, _) in results.items() if status == 200)
        assert completed[0]["details"]["variables"] == {"note": f"tab {winner[3:]}"}
