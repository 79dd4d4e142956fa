"""Working-day time limits: due dates, reminder at 80 % and escalation at 100 %, on an injected
clock across a weekend, a make-up working day and the National Day holiday. No test sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bpmn_service.services.scheduler import run_due_timers
from clock import Clock, local
from conftest import DATA, Api


@pytest.fixture
def clock(api: Api) -> Clock:
    # 2025-09-30 is the last working day before the 国庆 holiday (10-01 to 10-08);
    # 10-11 (a Saturday) is a make-up working day.
    clock = Clock(local("2025-09-30T10:00:00"))
    api.ctx.clock = clock
    assert api.deploy(DATA / "sla_demo.bpmn").status_code == 201
    return clock


def history(api: Api, instance_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"/process-instances/{instance_id}").json()["history"])


def steps(api: Api, instance_id: str) -> list[str]:
    return [e["element_id"] for e in history(api, instance_id) if e["type"] == "engine_step"]


def test_reminder_and_escalation_fire_at_working_day_instants(api: Api, clock: Clock) -> None:
    started = api.start("sla_demo", "SLA-1", {"category": "RES"})
    instance_id = started.json()["id"]
    [reply] = started.json()["tasks"]
    # RES plan reply: 3 working days after 09-30 are 10-09, 10-10 and the make-up day 10-11,
    # so the limit ends at 10-12 00:00 Beijing time; 80 % (2.4 days) is 10-11 09:36.
    assert reply["due_at"] == local("2025-10-12T00:00:00").isoformat().replace("+00:00", "Z")

    clock.now = local("2025-10-11T09:35:00")
    assert run_due_timers(api.ctx) == 0
    assert "remind" not in steps(api, instance_id)

    clock.now = local("2025-10-11T09:37:00")
    assert run_due_timers(api.ctx) == 1
    assert steps(api, instance_id).count("remind") == 1
    assert run_due_timers(api.ctx) == 0

    clock.now = local("2025-10-11T23:59:00")
    assert run_due_timers(api.ctx) == 0
    assert api.tasks("leader", process_instance_id=instance_id).json()["total"] == 0

    clock.now = local("2025-10-12T00:01:00")
    assert run_due_timers(api.ctx) == 1
    [escalation] = api.tasks("leader", process_instance_id=instance_id).json()["items"]
    assert escalation["element_id"] == "escalate"
    assert steps(api, instance_id).count("remind") == 1
    # The late reply is still open for the clerk; the escalation did not cancel it.
    assert api.tasks("clerk", process_instance_id=instance_id).json()["total"] == 1
    fired = [e for e in history(api, instance_id) if e["type"] == "timers_fired"]
    assert len(fired) == 2


def test_reply_in_time_produces_neither(api: Api, clock: Clock) -> None:
    started = api.start("sla_demo", "SLA-2", {"category": "LV"})
    instance_id = started.json()["id"]
    [reply] = started.json()["tasks"]
    clock.now = local("2025-10-09T15:00:00")
    api.claim(reply["id"], "clerk")
    assert api.complete(reply["id"], "clerk", {"replied": True}).status_code == 200
    clock.now = local("2025-12-31T00:00:00")
    assert run_due_timers(api.ctx) == 0
    assert "remind" not in steps(api, instance_id)
    assert api.tasks("leader").json()["total"] == 0


@pytest.mark.usefixtures("clock")
def test_message_sent_early_is_delivered_when_awaited_and_only_once(api: Api) -> None:
    started = api.start("sla_demo", "SLA-3", {"category": "RES"})
    instance_id = started.json()["id"]
    message = {
        "message_name": "docs_supplemented",
        "business_key": "SLA-3",
        "variables": {"docsNote": "产权证明已补"},
        "message_id": "portal-0001",
    }
    early = api.post("/messages", "portal", json=message)
    assert early.status_code == 202 and early.json()["status"] == "buffered"
    again = api.post("/messages", "portal", json=message)
    assert again.status_code == 202 and again.json()["replayed"] is True
    changed = api.post("/messages", "portal", json={**message, "variables": {"docsNote": "x"}})
    assert changed.status_code == 409

    [reply] = started.json()["tasks"]
    api.claim(reply["id"], "clerk")
    api.complete(reply["id"], "clerk", {"replied": True})
    body = api.get(f"/process-instances/{instance_id}").json()
    received = [e for e in body["history"] if e["type"] == "message_received"]
    assert len(received) == 1
    assert body["variables"]["docsNote"] == "产权证明已补"
    # The instance moved on to the SMS service task.
    locked = api.post(
        "/external-tasks/fetch-and-lock",
        "worker",
        json={"worker_id": "sms-1", "topics": ["sms"], "lock_seconds": 60},
    )
    assert [t["element_id"] for t in locked.json()] == ["notify"]
    replay = api.post("/messages", "portal", json=message)
    assert replay.json()["replayed"] is True
    assert len([e for e in history(api, instance_id) if e["type"] == "message_received"]) == 1


@pytest.mark.usefixtures("clock")
def test_message_errors(api: Api) -> None:
    unknown = api.post(
        "/messages", "portal", json={"message_name": "docs_supplemented", "business_key": "NOPE"}
    )
    assert unknown.status_code == 404
    assert api.post("/messages", "portal", json={"message_name": ""}).status_code == 422
    api.start("sla_demo", "SLA-4", {"category": "RES"})
    api.start("sla_demo", "SLA-5", {"category": "RES"})
    for key in ("SLA-4", "SLA-5"):
        instance = api.get("/process-instances", params={"business_key": key}).json()["items"][0]
        [reply] = api.open_tasks(instance["id"])
        api.claim(reply["id"], "clerk")
        api.complete(reply["id"], "clerk", {"replied": True})
    ambiguous = api.post("/messages", "portal", json={"message_name": "docs_supplemented"})
    assert ambiguous.status_code == 409
    assert len(ambiguous.json()["details"]["instance_ids"]) == 2


def test_external_task_retries_incident_and_lock_expiry(api: Api, clock: Clock) -> None:
    started = api.start("sla_demo", "SLA-6", {"category": "RES"})
    instance_id = started.json()["id"]
    [reply] = started.json()["tasks"]
    api.claim(reply["id"], "clerk")
    api.complete(reply["id"], "clerk", {"replied": True})
    api.post(
        "/messages", "portal", json={"message_name": "docs_supplemented", "business_key": "SLA-6"}
    )
    fetch = {"worker_id": "w1", "topics": ["sms"], "lock_seconds": 60}
    assert api.post("/external-tasks/fetch-and-lock", "clerk", json=fetch).status_code == 403
    [task] = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()
    assert (
        api.post(
            "/external-tasks/fetch-and-lock", "worker", json={**fetch, "worker_id": "w2"}
        ).json()
        == []
    )
    # A crashed worker's lock expires and another worker gets the task.
    clock.now += timedelta(seconds=61)
    [again] = api.post(
        "/external-tasks/fetch-and-lock", "worker", json={**fetch, "worker_id": "w2"}
    ).json()
    assert again["id"] == task["id"]
    late = api.post(f"/external-tasks/{task['id']}/complete", "worker", json={"worker_id": "w1"})
    assert late.status_code == 409
    failed = api.post(
        f"/external-tasks/{task['id']}/failure",
        "worker",
        json={
            "worker_id": "w2",
            "error_message": "SMS gateway down",
            "retries": 1,
            "retry_seconds": 300,
        },
    )
    assert failed.status_code == 200 and failed.json()["retries"] == 1
    assert api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json() == []
    clock.now += timedelta(seconds=301)
    [retry] = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()
    api.post(
        f"/external-tasks/{retry['id']}/failure",
        "worker",
        json={"worker_id": "w1", "error_message": "SMS gateway down", "retries": 0},
    )
    [incident] = api.get("/incidents", "admin").json()["items"]
    assert incident["id"] == task["id"] and incident["message"] == "SMS gateway down"
    # One version of the process: nothing to migrate the case to, so no migration is offered.
    assert incident["actions"] == ["retry", "set_variables", "modification"]
    # Where the case waits names the same incident at the step.
    waiting = api.get(f"/process-instances/{instance_id}/activities", "admin").json()
    [step] = [a for a in waiting["activities"] if a["kind"] == "external_task"]
    assert step["incident_id"] == task["id"] and step["error"] == "SMS gateway down"
    assert step["retries"] == 0
    clock.now += timedelta(days=1)
    assert api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json() == []
    assert (
        api.post(f"/external-tasks/{task['id']}/retries", "worker", json={"retries": 2}).status_code
        == 403
    )
    assert (
        api.post(f"/external-tasks/{task['id']}/retries", "admin", json={"retries": 2}).status_code
        == 200
    )
    assert api.get("/incidents", "admin").json()["total"] == 0
    [final] = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()
    done = api.post(
        f"/external-tasks/{final['id']}/complete",
        "worker",
        json={"worker_id": "w1", "variables": {"smsId": "SMS-42"}},
    )
    assert done.status_code == 204
    body = api.get(f"/process-instances/{instance_id}").json()
    assert body["variables"]["smsId"] == "SMS-42"
    types = [e["type"] for e in body["history"]]
    assert "incident_created" in types and "incident_resolved" in types
