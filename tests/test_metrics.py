"""GET /metrics after a lifecycle: every counter moved by exactly what happened (SQLite and
PostgreSQL), the open-work gauges say what is open, and access follows the settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bpmn_service.main import create_app
from bpmn_service.services.scheduler import run_due_timers
from clock import Clock, local
from conftest import DATA, Api

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def engine_steps(api: Api, instance_id: str) -> dict[str, int]:
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    steps: dict[str, int] = {}
    for event in history:
        if event["type"] == "engine_step":
            steps[event["details"]["kind"]] = steps.get(event["details"]["kind"], 0) + 1
    return steps


def test_counters_move_by_what_a_lifecycle_did(api: Api) -> None:
    clock = Clock(local("2025-03-03T09:00:00"))  # a Monday
    api.ctx.clock = clock
    before = scrape(api.client)

    # An approval completed a day after its due date (P2D): a time-limit breach.
    for path in ("approval.bpmn", "timer_once.bpmn", "sla_demo.bpmn"):
        assert api.deploy(DATA / path).status_code == 201
    late = api.start("approval", "M-1", {"amount": 10, "purpose": "meter"}).json()
    [review] = late["tasks"]
    clock.now += timedelta(days=3)
    assert api.claim(review["id"], "admin").status_code == 200
    assert api.complete(review["id"], "admin", {"decision": "APPROVE"}).status_code == 200
    assert api.claim(review["id"], "admin").status_code == 409  # ended: counted, not a claim

    # A timer fired 5 s after it fell due.
    timer = api.start("timer_once", "M-2", {}).json()
    fired_at = clock.now + timedelta(hours=1, seconds=5)
    assert run_due_timers(api.ctx, now=fired_at) == 1

    # An external task whose worker gives up: an incident.
    sla = api.start("sla_demo", "M-3", {"category": "RES"}).json()
    [reply] = sla["tasks"]
    api.claim(reply["id"], "clerk")
    api.complete(reply["id"], "clerk", {"replied": True})
    message = {"message_name": "docs_supplemented", "business_key": "M-3"}
    assert api.post("/messages", "portal", json=message).status_code == 200
    waiting = scrape(api.client)
    assert (
        value(waiting, "bpmn_external_tasks", process="sla_demo", topic="sms", state="available")
        == 1
    )
    lock = {"worker_id": "w", "topics": ["sms"], "process_instance_id": sla["id"]}
    [locked] = api.post("/external-tasks/fetch-and-lock", "worker", json=lock).json()
    failure = {"worker_id": "w", "error_message": "gateway down", "retries": 0}
    assert (
        api.post(f"/external-tasks/{locked['id']}/failure", "worker", json=failure).status_code
        == 200
    )

    # One more approval, left open and overdue.
    api.start("approval", "M-4", {"amount": 20, "purpose": "meter"})
    clock.now += timedelta(days=3)
    after = scrape(api.client)

    started = "/api/v1/process-definitions/{key}/instances"
    claim = "/api/v1/tasks/{task_id}/claim"
    assert (
        moved(before, after, "bpmn_http_requests_total", method="POST", route=started, status="201")
        == 4
    )
    assert (
        moved(before, after, "bpmn_http_requests_total", method="POST", route=claim, status="200")
        == 2
    )
    assert (
        moved(before, after, "bpmn_http_requests_total", method="POST", route=claim, status="409")
        == 1
    )
    assert (
        moved(
            before, after, "bpmn_http_requests_total", method="GET", route="/metrics", status="200"
        )
        == 2
    )
    assert (
        moved(before, after, "bpmn_http_request_duration_seconds_count", method="POST", route=claim)
        == 3
    )
    active = api.get("/process-instances", "admin", params={"key": "approval", "status": "active"})
    [open_approval] = active.json()["items"]
    expected: dict[str, int] = {}
    for instance_id in (late["id"], open_approval["id"]):
        for kind, n in engine_steps(api, instance_id).items():
            expected[kind] = expected.get(kind, 0) + n
    counted = {
        dict(labels)["kind"]: v - value(before, name, **dict(labels))
        for (name, labels), v in after.items()
        if name == "bpmn_engine_steps_total" and ("process", "approval") in labels
    }
    assert counted == expected and sum(expected.values()) > 4
    assert moved(before, after, "bpmn_instances_started_total", process="approval") == 2
    assert moved(before, after, "bpmn_instances_started_total", process="timer_once") == 1
    assert (
        moved(before, after, "bpmn_instances_ended_total", process="approval", status="completed")
        == 1
    )
    assert (
        moved(before, after, "bpmn_user_tasks_ended_total", process="approval", reason="completed")
        == 1
    )
    assert (
        moved(before, after, "bpmn_time_limit_breaches_total", process="approval", element="review")
        == 1
    )
    assert (
        moved(before, after, "bpmn_time_limit_breaches_total", process="sla_demo", element="reply")
        == 0
    )
    assert moved(before, after, "bpmn_timer_lag_seconds_count", process="timer_once") == 1
    assert moved(before, after, "bpmn_timer_lag_seconds_sum", process="timer_once") == 5
    assert (
        moved(before, after, "bpmn_incidents_created_total", process="sla_demo", topic="sms") == 1
    )

    # What is open now.
    assert value(after, "bpmn_database_up") == 1
    assert value(after, "bpmn_open_user_tasks", process="approval", lane="", overdue="true") == 1
    assert value(after, "bpmn_open_user_tasks", process="approval", lane="", overdue="false") == 0
    assert value(after, "bpmn_open_user_tasks", process="timer_once", lane="", overdue="false") == 1
    assert (
        value(after, "bpmn_external_tasks", process="sla_demo", topic="sms", state="incident") == 1
    )
    assert (
        value(after, "bpmn_external_tasks", process="sla_demo", topic="sms", state="available") == 0
    )
    assert value(after, "bpmn_active_instances", process="approval") == 1
    assert value(after, "bpmn_active_instances", process="timer_once") == 1
    assert ("bpmn_db_pool_checked_out", frozenset()) in after
    # The calls after a start took the workflows this process kept (engine/warm.py).
    assert moved(before, after, "bpmn_warm_workflow_takes_total", outcome="hit") >= 2
    assert 1 <= value(after, "bpmn_warm_workflows") <= api.ctx.settings.warm_workflows
    assert timer["id"]


def test_an_unfired_timer_shows_as_overdue(api: Api) -> None:
    clock = Clock(local("2025-03-03T09:00:00"))
    api.ctx.clock = clock
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    api.start("timer_once", "T-OVERDUE", {})
    clock.now += timedelta(hours=1, minutes=10)  # due 10 minutes ago, no poller ran
    samples = scrape(api.client)
    assert value(samples, "bpmn_timers_overdue") == 1
    assert value(samples, "bpmn_timers_overdue_max_seconds") == 600


def test_routes_are_labelled_by_template_and_unknown_paths_by_one_label(api: Api) -> None:
    before = scrape(api.client)
    for path in ("/nowhere/1", "/nowhere/2", "/engine-rest/nowhere"):
        assert api.client.get(path).status_code == 404
    api.client.get("/engine-rest/version")
    after = scrape(api.client)
    assert (
        moved(
            before, after, "bpmn_http_requests_total", method="GET", route="unmatched", status="404"
        )
        == 2
    )
    nowhere = {"method": "GET", "route": "/engine-rest/unmatched", "status": "404"}
    assert moved(before, after, "bpmn_http_requests_total", **nowhere) == 1
    version = {"method": "GET", "route": "/engine-rest/version", "status": "200"}
    assert moved(before, after, "bpmn_http_requests_total", **version) == 1
    assert not any("/nowhere" in dict(labels).get("route", "") for _n, labels in after)


def test_access_follows_the_settings(api: Api) -> None:
    def client(**changes: Any) -> TestClient:
        settings = api.ctx.settings.model_copy(update=changes)
        return TestClient(create_app(ctx=replace(api.ctx, settings=settings)))

    with_token = client(metrics_token="s3cret")
    assert with_token.get("/metrics").status_code == 401
    wrong = with_token.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = with_token.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200 and "bpmn_database_up 1.0" in right.text
    production = client(mode="production")
    refused = production.get("/metrics")  # the test client is not a loopback address
    assert refused.status_code == 403 and "BPMN_METRICS_TOKEN" in refused.json()["message"]
