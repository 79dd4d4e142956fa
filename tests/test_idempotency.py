"""Idempotency-Key on start and complete: retries return the first answer and do nothing twice,
also when the retries race each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from bpmn_service.main import create_app
from conftest import DATA, TOKENS, Api

APPROVAL = DATA / "approval.bpmn"


def start(api: Api, key: str | None, business_key: str = "IDEM-1", amount: int = 5) -> Any:
    headers = api.headers("clerk") | ({"Idempotency-Key": key} if key else {})
    return api.client.post(
        "/api/v1/process-definitions/approval/instances",
        headers=headers,
        json={"business_key": business_key, "variables": {"amount": amount}},
    )


def test_retried_start_returns_the_first_response(api: Api) -> None:
    api.deploy(APPROVAL)
    first = start(api, "k-1")
    assert first.status_code == 201
    again = start(api, "k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert api.get("/process-instances").json()["total"] == 1
    changed = start(api, "k-1", amount=6)
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
    # Without a key, the same request is a duplicate business key.
    assert start(api, None).status_code == 409


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    api.deploy(APPROVAL)
    assert start(api, "shared").status_code == 201
    other = api.client.post(
        "/api/v1/process-definitions/approval/instances",
        headers=api.headers("clerk2") | {"Idempotency-Key": "shared"},
        json={"business_key": "IDEM-2", "variables": {"amount": 5}},
    )
    assert other.status_code == 201 and other.json()["business_key"] == "IDEM-2"


def test_retried_completion_completes_once(api: Api) -> None:
    api.deploy(APPROVAL)
    task_id = start(api, None).json()["tasks"][0]["id"]
    api.claim(task_id, "admin")
    headers = api.headers("admin") | {"Idempotency-Key": "c-1"}
    body = {"variables": {"decision": "APPROVE"}}
    first = api.client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    again = api.client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    instance = api.get(f"/process-instances/{first.json()['process_instance_id']}").json()
    assert [e["type"] for e in instance["history"]].count("task_completed") == 1


def test_racing_retries_apply_once(api: Api) -> None:
    api.deploy(APPROVAL)
    clients = [TestClient(create_app(ctx=api.ctx)) for _ in range(6)]
    for client in clients:
        client.__enter__()
    try:

        def attempt(client: TestClient) -> Any:
            return client.post(
                "/api/v1/process-definitions/approval/instances",
                headers={"Authorization": f"Bearer {TOKENS['clerk']}", "Idempotency-Key": "race"},
                json={"business_key": "IDEM-RACE", "variables": {"amount": 5}},
            )

        with ThreadPoolExecutor(len(clients)) as pool:
            responses = list(pool.map(attempt, clients))
    finally:
        for client in clients:
            client.__exit__(None, None, None)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert api.get("/process-instances").json()["total"] == 1
